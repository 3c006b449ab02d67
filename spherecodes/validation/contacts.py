r"""Contact graphs, rattlers and first-order optimality of max-min-distance (Tammes) codes.

All in float64 with numpy/scipy. Conventions: points are the rows of a (K, d) array of unit vectors;
the tangent projection at x is :math:`P_x = I - x x^\top`.

Contacts
    pairs (i, j), i < j, with :math:`|x_i - x_j| \le \delta (1 + \mathrm{tol})`, where
    :math:`\delta = \min_{i<j} |x_i - x_j|` (a relative tolerance on the distance).
Rattler
    a point that can be moved so that its distance to *every* one of its contacts increases at first
    order: there is a tangent v at x_i with :math:`\langle v, P_i(x_i - x_j)\rangle > 0` for every contact
    j (since :math:`\tfrac{d}{d\epsilon}|x_i + \epsilon v - x_j|^2 = 2\langle v, x_i - x_j\rangle` and
    :math:`\langle v, x_i \rangle = 0`). By Gordan's theorem this is the case exactly when 0 is not in
    the convex hull of the directions :math:`u_{ij} = P_i(x_i - x_j) / |P_i(x_i - x_j)|`, which is
    decided by a small LP. A point without contacts is a rattler. A contact at the antipode
    (:math:`P_i(x_i - x_j) = 0`, only when the minimal distance is 2) cannot be increased, so such a
    point is not a rattler.
KKT residual
    the max-min-distance problem :math:`\max_X \min_{i<j} |x_i - x_j|^2` on the product of spheres is at
    a first-order (Fritz John) point when there are contact forces :math:`\lambda_{ij} \ge 0` on the
    contact pairs, :math:`\sum \lambda_{ij} = 1`, that balance at every point in its tangent space:
    :math:`\sum_j \lambda_{ij} P_i(x_i - x_j) = 0` for all i. The residual is the least possible
    Euclidean norm of the stacked imbalances. At a rattler the balance forces :math:`\lambda_{ij} = 0` on
    its contacts (0 is not in the hull of its directions), so balancing at every point is the same as
    removing rattlers and balancing at the other points -- and a configuration whose contacts all touch
    rattlers gets a positive residual, as it should (moving every rattler at once increases every
    contact distance).
"""

from __future__ import annotations

import logging
import math

import numba
import numpy as np
from scipy.optimize import linprog, nnls

from ..code import as_points
from ..errors import InvalidParameterError, SolverError
from ..kernels import min_distance_max_cosine
from ..kernels.blocked import gram_error_bound
from ..kernels.neighbours import near_pairs
from ..kernels.one_vs_rest import WOLFE_GAP_TOL, wolfe_lazy

__all__ = [
    "contact_graph",
    "rattlers",
    "rattlers_from_contacts",
    "tammes_kkt_residual",
    "kkt_residual_from_contacts",
    "kkt_memory_bytes",
    "check_tammes_kkt",
    "assert_tammes_kkt",
    "DEFAULT_CONTACT_TOL",
    "DEFAULT_HULL_TOL",
    "DEFAULT_KKT_TOL",
]

logger = logging.getLogger(__name__)

DEFAULT_CONTACT_TOL = 1e-6
"""Relative distance tolerance for a contact: |x_i - x_j| <= min distance * (1 + tol)."""
DEFAULT_HULL_TOL = 1e-9
"""A unit-direction hull closer than this (L-infinity) to 0 counts as containing 0 (not a rattler)."""
DEFAULT_KKT_TOL = 1e-8
"""KKT residual (relative to the minimal distance) below which :func:`check_tammes_kkt` accepts a code."""


def _points(points) -> np.ndarray:
    X = as_points(points)
    if X.shape[0] < 2:
        raise InvalidParameterError("points", f"{X.shape[0]} point", "pass at least 2 points")
    return X


def _check_tol(name: str, tol) -> float:
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, tol, "pass a finite tolerance >= 0") from None
    if not math.isfinite(t) or t < 0:
        raise InvalidParameterError(name, tol, "pass a finite tolerance >= 0")
    return t


def contact_graph(points, tol: float = DEFAULT_CONTACT_TOL, *,
                  min_distance: float | None = None) -> tuple[np.ndarray, float]:
    """Pairs of points at (nearly) the minimal distance, without a K x K matrix.

    Parameters
    ----------
    points : array_like, shape (K, d)
        Unit vectors, K >= 2.
    tol : float >= 0
        Relative tolerance: (i, j) is a contact when |x_i - x_j| <= min_distance * (1 + tol).
    min_distance : float, optional
        The code's minimal chord when already known (it must be
        :func:`spherecodes.kernels.min_distance_max_cosine`'s, e.g. the certificate's ``min_distance``
        score); computed when omitted.

    Returns
    -------
    pairs : numpy.ndarray of int64, shape (m, 2)
        Contact pairs with i < j, in lexicographic order.
    min_distance : float
        min_{i<j} |x_i - x_j| (Euclidean chord).

    Notes
    -----
    The candidates come from :func:`spherecodes.kernels.neighbours.near_pairs` (blocked Gram products,
    memory O(K d + block K + candidates)) at the inner-product level of the contact chord
    :math:`R = \\delta (1 + tol)`, :math:`\\langle x_i, x_j\\rangle \\ge \\min_k |x_k|^2 - R^2/2`, lowered by
    the float64 rounding bound; each candidate's chord is then recomputed from the coordinate
    differences (one sequential loop, as the minimum-distance kernel, so the minimal pair itself is
    always a contact) and compared with R.
    """
    X = _points(points)
    tol = _check_tol("tol", tol)
    pairs, _, dmin = _contacts(X, tol, min_distance)
    return pairs, dmin


def _contacts(X: np.ndarray, tol: float, min_distance: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(pairs (m, 2), their chords (m,), the minimal chord) of :func:`contact_graph`."""
    K, d = X.shape
    dmin = float(min_distance_max_cosine(X)[0]) if min_distance is None else float(min_distance)
    R = dmin * (1.0 + tol)
    n2 = np.einsum("ij,ij->i", X, X)
    # |x_i - x_j|^2 = n_i + n_j - 2 c_ij <= R^2 implies c_ij >= min n - R^2 / 2; the slack covers the
    # rounding of the recomputed inner products
    threshold = float(n2.min()) - 0.5 * R * R - 4.0 * gram_error_bound(d) * float(n2.max())
    cand, _ = near_pairs(X, threshold)
    chords = np.sqrt(_pair_squared_chords(X, cand[:, 0].copy(), cand[:, 1].copy()))
    keep = chords <= R
    return cand[keep], chords[keep], dmin


@numba.njit(cache=True)
def _pair_squared_chords(X, I, J):
    """|x_i - x_j|^2 for the pairs (I[p], J[p]) from the coordinate differences (sequential sum)."""
    m = I.shape[0]
    out = np.empty(m)
    for p in range(m):
        s = 0.0
        for c in range(X.shape[1]):
            t = X[I[p], c] - X[J[p], c]
            s += t * t
        out[p] = s
    return out


def _tangent_directions(X: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_i(x_i - x_j) for each pair, seen from i (first column) and from j (second column)."""
    i, j = pairs[:, 0], pairs[:, 1]
    dij = X[i] - X[j]
    from_i = dij - np.einsum("ij,ij->i", dij, X[i])[:, None] * X[i]
    from_j = -dij - np.einsum("ij,ij->i", -dij, X[j])[:, None] * X[j]
    return from_i, from_j


def _hull_distance_linf(U: np.ndarray) -> float:
    """min over the simplex of ||U^T lambda||_inf for the rows of U (an LP)."""
    m, d = U.shape
    # variables (lambda_1..lambda_m, r): minimise r s.t. -r <= (U^T lambda)_k <= r, sum lambda = 1
    c = np.zeros(m + 1)
    c[-1] = 1.0
    A_ub = np.block([[U.T, -np.ones((d, 1))], [-U.T, -np.ones((d, 1))]])
    b_ub = np.zeros(2 * d)
    A_eq = np.concatenate([np.ones(m), [0.0]])[None, :]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * (m + 1), method="highs")
    if res.status != 0:
        raise SolverError(f"rattler LP failed: {res.message}")
    return float(res.fun)


def rattlers(points, tol: float = DEFAULT_CONTACT_TOL, *, hull_tol: float = DEFAULT_HULL_TOL) -> np.ndarray:
    """Indices of the rattlers of a code (see the module docstring for the definition).

    Parameters
    ----------
    points : array_like, shape (K, d)
    tol : float
        Contact tolerance of :func:`contact_graph`.
    hull_tol : float
        0 counts as inside the convex hull of a point's unit contact directions when the hull's
        L-infinity distance to 0 is <= hull_tol.

    Returns
    -------
    numpy.ndarray of int64, shape (r,)
        Sorted indices of the rattlers.
    """
    X = _points(points)
    hull_tol = _check_tol("hull_tol", hull_tol)
    pairs, _ = contact_graph(X, tol)
    return rattlers_from_contacts(X, pairs, hull_tol=hull_tol)


def rattlers_from_contacts(points, pairs: np.ndarray, *, hull_tol: float = DEFAULT_HULL_TOL) -> np.ndarray:
    """:func:`rattlers` for a given contact list (e.g. from :func:`contact_graph`), memory O(K d + m + max degree d).

    One point at a time, its unit contact directions U (deg, d) are formed and the minimum-norm point x of
    their hull is found by Wolfe's algorithm (:mod:`spherecodes.kernels.one_vs_rest`, on the points U seen
    from the origin). Two outcomes need no LP: |x|_inf <= hull_tol (x is a feasible point of the LP, whose
    optimum is then <= hull_tol: not a rattler), and a certified L2 distance (Wolfe's gap bound
    min_j <x, u_j> / |x|) above sqrt(d) hull_tol (the L-infinity distance is at least the L2 one over
    sqrt(d): a rattler). Otherwise the L-infinity LP decides, as in :func:`rattlers`.
    """
    X = _points(points)
    hull_tol = _check_tol("hull_tol", hull_tol)
    K, d = X.shape
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    # each contact seen from both ends, grouped by point
    me = np.concatenate([pairs[:, 0], pairs[:, 1]])
    other = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.argsort(me, kind="stable")
    me, other = me[order], other[order]
    starts = np.searchsorted(me, np.arange(K + 1))
    out = []
    for k in range(K):
        nb = other[starts[k]:starts[k + 1]]
        if nb.size == 0:
            out.append(k)
            continue
        U = np.empty((nb.size + 1, d))
        verdict = _rattler_screen(X, k, nb, hull_tol, U)
        if verdict == _UNDECIDED:
            verdict = _RATTLER if _hull_distance_linf(U[1:]) > hull_tol else _HELD
        if verdict == _RATTLER:
            out.append(k)
    return np.asarray(out, dtype=np.int64)


_HELD, _RATTLER, _UNDECIDED = 0, 1, 2


@numba.njit(cache=True)
def _rattler_screen(X, k, nb, hull_tol, U):
    """Unit contact directions of point k into U[1:] (U[0] = 0); _HELD / _RATTLER when Wolfe's minimum-norm
    point decides (see :func:`rattlers_from_contacts`), else _UNDECIDED; an antipodal contact holds the point."""
    d = X.shape[1]
    n = nb.shape[0]
    U[0, :] = 0.0
    for a in range(n):
        j = nb[a]
        c = 0.0
        for t in range(d):
            c += (X[k, t] - X[j, t]) * X[k, t]
        s = 0.0
        for t in range(d):
            v = (X[k, t] - X[j, t]) - c * X[k, t]
            U[a + 1, t] = v
            s += v * v
        norm = math.sqrt(s)
        if norm <= 1e-12:
            return _HELD  # an antipodal contact cannot be moved away from
        for t in range(d):
            U[a + 1, t] /= norm
    lam = np.zeros(n + 1)
    wolfe_lazy(U, WOLFE_GAP_TOL, lam)
    x = np.zeros(d)
    for a in range(1, n + 1):
        if lam[a] != 0.0:
            for t in range(d):
                x[t] += lam[a] * U[a, t]
    linf = 0.0
    xx = 0.0
    for t in range(d):
        linf = max(linf, abs(x[t]))
        xx += x[t] * x[t]
    if linf <= hull_tol:
        return _HELD
    vmin = np.inf
    for a in range(1, n + 1):
        v = 0.0
        for t in range(d):
            v += x[t] * U[a, t]
        vmin = min(vmin, v)
    if xx > 0.0 and vmin / math.sqrt(xx) > math.sqrt(d) * hull_tol:
        return _RATTLER
    return _UNDECIDED


#: above this many contact pairs the dense NNLS (active set, O(m^3) per pass) gives way to accelerated
#: projected gradient on the simplex with A applied matrix-free (2 d non-zeros per column): a d = 128 simplex has 1891
#: contacts at K = 62, where the NNLS takes minutes
MAX_NNLS_CONTACTS = 400
#: iteration limit of the projected-gradient path
KKT_PG_MAX_ITER = 20_000


#: a dense NNLS matrix (rows of the points with contacts x contacts, float64) above this size goes to the
#: matrix-free projected-gradient path instead
NNLS_DENSE_MAX_BYTES = 256 * 2**20


def tammes_kkt_residual(points, tol: float = DEFAULT_CONTACT_TOL, *,
                        max_nnls_contacts: int = MAX_NNLS_CONTACTS) -> tuple[float, np.ndarray]:
    """First-order optimality residual of a max-min-distance code, and the contact forces.

    Solves ``min || A lambda ||_2  s.t.  lambda >= 0, sum(lambda) = 1`` where column (i, j) of A stacks
    P_i(x_i - x_j) in the rows of point i and P_j(x_j - x_i) in those of point j (one column per contact
    pair of :func:`contact_graph` with the same ``tol``); see :func:`kkt_residual_from_contacts`.

    The residual has the units of P_i(x_i - x_j), whose norm is sin(theta_min) for every contact;
    divide by it for a scale-free figure (:func:`check_tammes_kkt` does).

    Returns
    -------
    residual : float
        ||A lambda|| of the forces returned; ~1e-15 for a balanced configuration.
    forces : numpy.ndarray, shape (m,)
        The forces lambda (sum 1), aligned with ``contact_graph(points, tol)[0]``.
    """
    X = _points(points)
    pairs, _ = contact_graph(X, tol)
    return kkt_residual_from_contacts(X, pairs, max_nnls_contacts=max_nnls_contacts)


def _uses_nnls(m: int, touched: int, d: int, max_nnls_contacts: int) -> bool:
    return m <= max_nnls_contacts and 8 * 3 * touched * d * m <= NNLS_DENSE_MAX_BYTES


def kkt_memory_bytes(K: int, d: int, m: int, touched: int | None = None, *,
                     max_nnls_contacts: int = MAX_NNLS_CONTACTS) -> int:
    """Peak bytes of :func:`kkt_residual_from_contacts` for m contacts among ``touched`` points (default K).

    Dense NNLS path: A (touched d x m), its copy with the extra row and NNLS's own copy, plus the two
    (m, d) direction arrays. Matrix-free path: five (K, d) arrays and about twelve (m,) arrays (forces,
    momentum, gradient, the sort of the simplex projection). Both: ten int64 words per contact for the
    index arrays.
    """
    touched = K if touched is None else touched
    index = 8 * 10 * m + 4096  # the pairs' copies, their sort for np.unique, small arrays
    if _uses_nnls(m, touched, d, max_nnls_contacts):
        return int(8 * (3 * touched * d * m + 2 * m * d + touched * d) + index)
    return int(8 * (5 * K * d + 12 * m) + index)


def kkt_residual_from_contacts(points, pairs: np.ndarray, *,
                               max_nnls_contacts: int = MAX_NNLS_CONTACTS) -> tuple[float, np.ndarray]:
    """:func:`tammes_kkt_residual` for a given contact list, memory :func:`kkt_memory_bytes` (O(K d + m)).

    Up to ``max_nnls_contacts`` contacts (and a dense A of at most :data:`NNLS_DENSE_MAX_BYTES`) it is solved
    exactly by NNLS on A, restricted to the rows of the points that have contacts (the other rows of A are
    zero), with the extra row w * 1^T = w (w large): that penalised problem is minimised by a multiple of the
    simplex-constrained minimiser, so rescaling the NNLS solution to sum 1 gives it exactly. Otherwise,
    accelerated projected gradient (FISTA with restarts) on the simplex, from the uniform forces, with A
    applied matrix-free from the coordinates (numba, O(m d) per product, no (K d, m) matrix); it stops
    once the residual is below 1e-13 of the column norms (a balanced code) or after
    :data:`KKT_PG_MAX_ITER` steps. The residual of that path is the one of the forces returned: an upper
    bound on the minimum, so a small value still proves stationarity, and a large one may overstate it.

    Parameters
    ----------
    points : array_like, shape (K, d)
    pairs : array_like of int, shape (m, 2)
        Contact pairs i < j (:func:`contact_graph`), m >= 1.
    max_nnls_contacts : int
        Largest m for the dense NNLS path.
    """
    X = _points(points)
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    K, d = X.shape
    m = pairs.shape[0]
    if m == 0:
        raise InvalidParameterError("pairs", "an empty contact list", "pass the pairs of contact_graph (never empty)")
    I, J = pairs[:, 0].copy(), pairs[:, 1].copy()
    scale = float(_max_direction_norm(X, I, J))
    touched, local = np.unique(pairs, return_inverse=True)
    local = local.reshape(-1, 2)
    if not _uses_nnls(m, touched.size, d, max_nnls_contacts):
        return _kkt_projected_gradient(_ContactOperator(X, I, J), scale)
    from_i, from_j = _tangent_directions(X, pairs)
    A = np.zeros((touched.size * d, m))
    cols = np.arange(m)
    for c in range(d):
        A[local[:, 0] * d + c, cols] = from_i[:, c]
        A[local[:, 1] * d + c, cols] += from_j[:, c]
    w = 1e3 * scale if scale > 0 else 1.0  # scale 0: only antipodal contacts, nothing to balance
    A_aug = np.vstack([A, np.full((1, m), w)])
    b_aug = np.zeros(A.shape[0] + 1)
    b_aug[-1] = w
    lam, _ = nnls(A_aug, b_aug, maxiter=50 * max(m, 10))
    total = float(lam.sum())
    if total <= 0:
        raise SolverError("NNLS returned zero contact forces")
    lam = lam / total
    return float(np.linalg.norm(A @ lam)), lam


@numba.njit(cache=True)
def _max_direction_norm(X, I, J):
    """max over pairs of |P_i(x_i - x_j)| (the column norms of A seen from i)."""
    best = 0.0
    d = X.shape[1]
    for p in range(I.shape[0]):
        i, j = I[p], J[p]
        ci = 0.0
        for c in range(d):
            ci += (X[i, c] - X[j, c]) * X[i, c]
        s = 0.0
        for c in range(d):
            t = (X[i, c] - X[j, c]) - ci * X[i, c]
            s += t * t
        best = max(best, math.sqrt(s))
    return best


@numba.njit(cache=True, inline="always")
def _radial_parts(X, i, j):
    """(<x_i - x_j, x_i>, <x_j - x_i, x_j>): P_i(x_i - x_j) = (x_i - x_j) - ci x_i, and the same from j."""
    ci = 0.0
    cj = 0.0
    for c in range(X.shape[1]):
        t = X[i, c] - X[j, c]
        ci += t * X[i, c]
        cj -= t * X[j, c]
    return ci, cj


@numba.njit(cache=True)
def _contact_apply(X, I, J, lam, out):
    """out (K, d) = A lam: each contact's force lam_p along P_i(x_i - x_j) at i and P_j(x_j - x_i) at j."""
    out[:] = 0.0
    d = X.shape[1]
    for p in range(I.shape[0]):
        i, j = I[p], J[p]
        ci, cj = _radial_parts(X, i, j)
        for c in range(d):
            t = X[i, c] - X[j, c]
            out[i, c] += lam[p] * (t - ci * X[i, c])
            out[j, c] += lam[p] * (-t - cj * X[j, c])


@numba.njit(cache=True, parallel=True)
def _contact_apply_t(X, I, J, R, out):
    """out (m,) = A^T R for R (K, d): <P_i(x_i - x_j), R_i> + <P_j(x_j - x_i), R_j> per contact."""
    d = X.shape[1]
    for p in numba.prange(I.shape[0]):
        i, j = I[p], J[p]
        ci, cj = _radial_parts(X, i, j)
        s = 0.0
        for c in range(d):
            t = X[i, c] - X[j, c]
            s += (t - ci * X[i, c]) * R[i, c] + (-t - cj * X[j, c]) * R[j, c]
        out[p] = s


class _ContactOperator:
    """The A of :func:`kkt_residual_from_contacts` as products only: ``dot(lam)`` -> (K d,), ``tdot(r)`` -> (m,)."""

    def __init__(self, X: np.ndarray, I: np.ndarray, J: np.ndarray):
        self.X, self.I, self.J = X, I, J
        self.shape = (X.shape[0] * X.shape[1], I.shape[0])

    def dot(self, lam: np.ndarray) -> np.ndarray:
        out = np.empty_like(self.X)
        _contact_apply(self.X, self.I, self.J, np.ascontiguousarray(lam, dtype=np.float64), out)
        return out.reshape(-1)

    def tdot(self, r: np.ndarray) -> np.ndarray:
        out = np.empty(self.shape[1])
        _contact_apply_t(self.X, self.I, self.J, np.ascontiguousarray(r).reshape(self.X.shape), out)
        return out


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of v (n,) onto {x >= 0, sum x = 1} (sort-based, O(n log n))."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    idx = np.arange(1, v.size + 1)
    rho = np.nonzero(u - css / idx > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1.0), 0.0)


def _kkt_projected_gradient(A: _ContactOperator, scale: float) -> tuple[float, np.ndarray]:
    """min ||A lambda|| over the simplex by FISTA with gradient restarts; returns (residual, lambda)."""
    m = A.shape[1]
    lam = np.full(m, 1.0 / m)
    if scale == 0.0:
        return 0.0, lam
    # Lipschitz constant of the gradient 2 A^T A lambda: 2 ||A||_2^2, by power iteration (+5 % margin)
    v = np.random.default_rng(0).standard_normal(m)
    for _ in range(30):
        v = A.tdot(A.dot(v))
        v /= np.linalg.norm(v)
    lipschitz = 2.1 * float(np.linalg.norm(A.dot(v))) ** 2
    target = 1e-13 * scale
    best_lam, best = lam, float(np.linalg.norm(A.dot(lam)))
    y, t = lam.copy(), 1.0
    for _ in range(KKT_PG_MAX_ITER):
        if best <= target:
            break
        new = project_to_simplex(y - (2.0 / lipschitz) * A.tdot(A.dot(y)))
        res = float(np.linalg.norm(A.dot(new)))
        if res < best:
            best_lam, best = new, res
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        momentum = (t - 1.0) / t_new
        if np.dot(y - new, new - lam) > 0:  # restart the momentum when it points uphill (O'Donoghue-Candes)
            t_new, momentum = 1.0, 0.0
        y = new + momentum * (new - lam)
        lam, t = new, t_new
    return best, best_lam


def check_tammes_kkt(points, tol: float = DEFAULT_CONTACT_TOL, *, kkt_tol: float = DEFAULT_KKT_TOL) -> tuple[bool, str]:
    """Is the code a first-order point of the max-min-distance problem?

    Accepts when ``residual / sin(theta_min) <= kkt_tol`` (residual of :func:`tammes_kkt_residual`,
    theta_min the minimal angle, so the figure does not shrink with the minimal distance).

    Returns
    -------
    (ok, reason)
    """
    kkt_tol = _check_tol("kkt_tol", kkt_tol)
    X = _points(points)
    pairs, dmin = contact_graph(X, tol)
    residual, forces = kkt_residual_from_contacts(X, pairs)
    sin_theta = dmin * math.sqrt(max(0.0, 1.0 - dmin * dmin / 4.0))  # sin(theta) = r sqrt(1 - r^2/4)
    rel = 0.0 if residual == 0.0 else (residual / sin_theta if sin_theta > 0 else math.inf)
    ok = rel <= kkt_tol
    return ok, (f"KKT residual / sin(theta_min) = {rel:.3g} {'<=' if ok else '>'} kkt_tol={kkt_tol:g} "
                f"({forces.size} contacts within relative tol={tol:g} of the minimal distance {dmin:.17g})")


def assert_tammes_kkt(points, tol: float = DEFAULT_CONTACT_TOL, *, kkt_tol: float = DEFAULT_KKT_TOL) -> None:
    """Raise AssertionError with the reason of :func:`check_tammes_kkt` when the code is not a KKT point."""
    ok, reason = check_tammes_kkt(points, tol, kkt_tol=kkt_tol)
    if not ok:
        raise AssertionError(reason)
