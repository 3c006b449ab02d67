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

import numpy as np
from scipy.optimize import linprog, nnls

from ..code import as_points
from ..errors import InvalidParameterError, SolverError

__all__ = [
    "contact_graph",
    "rattlers",
    "tammes_kkt_residual",
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


def contact_graph(points, tol: float = DEFAULT_CONTACT_TOL) -> tuple[np.ndarray, float]:
    """Pairs of points at (nearly) the minimal distance.

    Parameters
    ----------
    points : array_like, shape (K, d)
        Unit vectors, K >= 2.
    tol : float >= 0
        Relative tolerance: (i, j) is a contact when |x_i - x_j| <= min_distance * (1 + tol).

    Returns
    -------
    pairs : numpy.ndarray of int64, shape (m, 2)
        Contact pairs with i < j, in lexicographic order.
    min_distance : float
        min_{i<j} |x_i - x_j| (Euclidean chord).
    """
    X = _points(points)
    tol = _check_tol("tol", tol)
    K = X.shape[0]
    iu, ju = np.triu_indices(K, 1)
    # chord from the difference vectors: accurate also for nearly coincident points
    diff = X[iu] - X[ju]
    dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    dmin = float(dist.min())
    mask = dist <= dmin * (1.0 + tol)
    pairs = np.column_stack([iu[mask], ju[mask]]).astype(np.int64)
    return pairs, dmin


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
    from_i, from_j = _tangent_directions(X, pairs)
    out = []
    for k in range(X.shape[0]):
        dirs = np.concatenate([from_i[pairs[:, 0] == k], from_j[pairs[:, 1] == k]])
        if dirs.shape[0] == 0:
            out.append(k)
            continue
        norms = np.linalg.norm(dirs, axis=1)
        if np.any(norms <= 1e-12):
            continue  # an antipodal contact cannot be moved away from
        if _hull_distance_linf(dirs / norms[:, None]) > hull_tol:
            out.append(k)
    return np.asarray(out, dtype=np.int64)


#: above this many contact pairs the dense NNLS (active set, O(m^3) per pass) gives way to accelerated
#: projected gradient on the simplex with a sparse A (2 d non-zeros per column): a d = 128 simplex has 1891
#: contacts at K = 62, where the NNLS takes minutes
MAX_NNLS_CONTACTS = 400
#: iteration limit of the projected-gradient path
KKT_PG_MAX_ITER = 20_000


def tammes_kkt_residual(points, tol: float = DEFAULT_CONTACT_TOL, *,
                        max_nnls_contacts: int = MAX_NNLS_CONTACTS) -> tuple[float, np.ndarray]:
    """First-order optimality residual of a max-min-distance code, and the contact forces.

    Solves ``min || A lambda ||_2  s.t.  lambda >= 0, sum(lambda) = 1`` where column (i, j) of A stacks
    P_i(x_i - x_j) in the rows of point i and P_j(x_j - x_i) in those of point j (one column per contact
    pair of :func:`contact_graph` with the same ``tol``).

    Up to ``max_nnls_contacts`` contacts it is solved exactly by NNLS on A with the extra row
    w * 1^T = w (w large): that penalised problem is minimised by a multiple of the simplex-constrained
    minimiser, so rescaling the NNLS solution to sum 1 gives it exactly. With more contacts, accelerated
    projected gradient (FISTA with restarts) on the simplex, from the uniform forces, with a sparse A; it
    stops once the residual is below 1e-13 of the column norms (a balanced code) or after
    :data:`KKT_PG_MAX_ITER` steps. The residual of that path is the one of the forces returned: an upper
    bound on the minimum, so a small value still proves stationarity, and a large one may overstate it.

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
    K, d = X.shape
    m = pairs.shape[0]
    from_i, from_j = _tangent_directions(X, pairs)
    scale = float(np.max(np.linalg.norm(from_i, axis=1))) if m else 1.0
    if m > max_nnls_contacts:
        return _kkt_projected_gradient(_sparse_contact_matrix(pairs, from_i, from_j, K, d), scale)
    A = np.zeros((K * d, m))
    cols = np.arange(m)
    for c in range(d):
        A[pairs[:, 0] * d + c, cols] = from_i[:, c]
        A[pairs[:, 1] * d + c, cols] += from_j[:, c]
    w = 1e3 * scale if scale > 0 else 1.0  # scale 0: only antipodal contacts, nothing to balance
    A_aug = np.vstack([A, np.full((1, m), w)])
    b_aug = np.zeros(K * d + 1)
    b_aug[-1] = w
    lam, _ = nnls(A_aug, b_aug, maxiter=50 * max(m, 10))
    total = float(lam.sum())
    if total <= 0:
        raise SolverError("NNLS returned zero contact forces")
    lam = lam / total
    return float(np.linalg.norm(A @ lam)), lam


def _sparse_contact_matrix(pairs: np.ndarray, from_i: np.ndarray, from_j: np.ndarray, K: int, d: int):
    """The A of :func:`tammes_kkt_residual` as a (K d, m) CSC matrix (2 d non-zeros per column)."""
    import scipy.sparse as sp

    m = pairs.shape[0]
    coords = np.arange(d)
    rows = np.concatenate([(pairs[:, 0:1] * d + coords).ravel(), (pairs[:, 1:2] * d + coords).ravel()])
    cols = np.concatenate([np.repeat(np.arange(m), d)] * 2)
    return sp.csc_matrix((np.concatenate([from_i.ravel(), from_j.ravel()]), (rows, cols)), shape=(K * d, m))


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of v (n,) onto {x >= 0, sum x = 1} (sort-based, O(n log n))."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    idx = np.arange(1, v.size + 1)
    rho = np.nonzero(u - css / idx > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1.0), 0.0)


def _kkt_projected_gradient(A, scale: float) -> tuple[float, np.ndarray]:
    """min ||A lambda|| over the simplex by FISTA with gradient restarts; returns (residual, lambda)."""
    m = A.shape[1]
    lam = np.full(m, 1.0 / m)
    if scale == 0.0:
        return 0.0, lam
    # Lipschitz constant of the gradient 2 A^T A lambda: 2 ||A||_2^2, by power iteration (+5 % margin)
    v = np.random.default_rng(0).standard_normal(m)
    for _ in range(30):
        v = A.T @ (A @ v)
        v /= np.linalg.norm(v)
    lipschitz = 2.1 * float(np.linalg.norm(A @ v)) ** 2
    target = 1e-13 * scale
    best_lam, best = lam, float(np.linalg.norm(A @ lam))
    y, t = lam.copy(), 1.0
    for _ in range(KKT_PG_MAX_ITER):
        if best <= target:
            break
        new = project_to_simplex(y - (2.0 / lipschitz) * (A.T @ (A @ y)))
        res = float(np.linalg.norm(A @ new))
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
    residual, forces = tammes_kkt_residual(X, tol)
    _, dmin = contact_graph(X, tol)
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
