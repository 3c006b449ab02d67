r"""One-vs-rest distances: how far each point is from the convex hull of the others.

For a code :math:`W = (w_1, \dots, w_K)` on :math:`S^{d-1}` the one-vs-rest distance of point k is

.. math::
    \rho_k(W) = \operatorname{dist}\bigl(w_k, \operatorname{conv}\{w_j : j \ne k\}\bigr)
              = \min_{\lambda \in \Delta_{K-1}} \Bigl\| w_k - \sum_{j \ne k} \lambda_j w_j \Bigr\|_2,

the Euclidean distance (not its square) to the nearest point of the hull, and
:math:`\rho_{\text{one-vs-rest}}(W) = \min_k \rho_k(W)` is the figure a softmax code maximises
(Definition 2.1 and Eq. (3) of "Generalized Neural Collapse for a Large Number of Classes",
/work/shared/papers/generalized-neural-collapse-softmax-codes.txt).

Closed forms used as checks (Theorem 3.3 there; the values for d = 2 and K <= d+1 are derived
here, the paper states the configurations): the regular simplex (K <= d+1) has
:math:`\rho_k = K/(K-1)` (the hull of the others is nearest at their centroid
:math:`-w_k/(K-1)`), a subset of the cross-polytope (d+1 < K <= 2d) has :math:`\rho = 1`,
and the regular K-gon has :math:`\rho_k = 1 - \cos(2\pi/K)` (the distance from a vertex to
the chord through its two neighbours).

Because every point is on the unit sphere, :math:`w_k` lies in the hull of the others only when it
coincides with one of them; then its distance is exactly 0.

Two solvers:

* :func:`one_vs_rest_distances` -- Wolfe's minimum-norm-point algorithm (P. Wolfe, "Finding the
  nearest point in a polytope", Math. Programming 11 (1976) 128-149) for every k, on the points
  :math:`p_j = w_j - w_k`, in numba (:mod:`spherecodes.kernels.one_vs_rest`). It is an exact
  active-set method (finite termination); it works on the Gram matrix, keeps a Cholesky factor of
  the active set, and stops when the Frank-Wolfe gap certifies the distance to ~1e-14. The
  reported distance is recomputed from the coordinates, :math:`\|w_k - \sum_j \lambda_j w_j\|`,
  with the final weights. Above :data:`DENSE_MAX_K` points the same algorithm runs on each point's
  near neighbours and its answer is checked against every other point by blocks, without a K x K
  Gram matrix; the kernel's docstring proves that the check certifies the same bound.
* :func:`one_vs_rest_distances_exact` -- an independent reference: one second-order cone
  program per point with cvxpy and CLARABEL, in float64. A failed solve raises
  :class:`spherecodes.errors.SolverError` carrying the solver status.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from ..errors import InvalidParameterError, SolverError
from ..kernels.one_vs_rest import WOLFE_GAP_TOL, _wolfe_many, hull_distances_blocked, min_hull_distance

__all__ = [
    "one_vs_rest_distances",
    "one_vs_rest_projection",
    "one_vs_rest",
    "one_vs_rest_distances_exact",
    "check_one_vs_rest",
    "assert_one_vs_rest",
    "WOLFE_GAP_TOL",
    "DENSE_MAX_K",
    "solver_agreement_atol",
]

log = logging.getLogger(__name__)

#: above this many points the scores use the blocked solver (no K x K Gram matrix); up to it the dense one
#: (a (K, K) float64 Gram matrix of 32 MiB at the threshold)
DENSE_MAX_K = 2048


_METHODS = ("auto", "dense", "blocked")

#: CLARABEL tolerances tried in turn by the reference solver; the first solve with status "optimal" is used
_TOLERANCE_LADDER = (1e-11, 1e-10, 1e-9)


def _as_array(points) -> np.ndarray:
    X = np.ascontiguousarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise InvalidParameterError("points", f"array of shape {X.shape}", "pass a (K, d) array, one point per row")
    if not np.all(np.isfinite(X)):
        raise InvalidParameterError("points", "array with NaN or inf", "every coordinate must be finite")
    return X


def _coincident(X: np.ndarray) -> np.ndarray:
    """Boolean (K,): point k equals another row exactly (its one-vs-rest distance is 0)."""
    _, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    return counts[np.asarray(inverse).reshape(-1)] > 1


def _fix_coincident(X: np.ndarray, want: np.ndarray, dist: np.ndarray, lam: np.ndarray) -> None:
    """Exact 0 (and a unit weight on the twin) for the wanted points that equal another row."""
    dup = _coincident(X) & want
    for k in np.flatnonzero(dup):
        same = np.flatnonzero(np.all(X == X[k], axis=1))
        lam[k] = 0.0
        lam[k, same[same != k][0]] = 1.0
        dist[k] = 0.0


def one_vs_rest_projection(points, *, which=None) -> tuple[np.ndarray, np.ndarray]:
    """Distances and the weights of the nearest hull points, by Wolfe's algorithm.

    Parameters
    ----------
    points : array_like, shape (K, d)
        Rows on the unit sphere (the method is valid for any rows; the Gram matrix is formed).
    which : array_like of bool, shape (K,), optional
        Compute only these points (the others get distance ``inf`` and zero weights).

    Returns
    -------
    distances : ndarray, shape (K,)
        :math:`\\rho_k`, float64; 0 for a point that coincides with another one; ``inf`` when K = 1.
    weights : ndarray, shape (K, K)
        Row k holds :math:`\\lambda^{(k)}` (non-negative, summing to 1, zero at k): the nearest point of
        the hull of the others is ``weights[k] @ points``.
    """
    X = _as_array(points)
    K = X.shape[0]
    if K < 2:
        return np.full(K, np.inf), np.zeros((K, K))
    want = np.ones(K, dtype=bool) if which is None else np.asarray(which, dtype=bool).reshape(K)
    ks = np.flatnonzero(want)
    dist = np.full(K, np.inf)
    lam = np.zeros((K, K))
    if ks.size:
        G = X @ X.T
        dist[ks], lam[ks], _ = _wolfe_many(X, G, WOLFE_GAP_TOL, ks.astype(np.int64))
    _fix_coincident(X, want, dist, lam)
    return dist, lam


def solver_agreement_atol(distances) -> np.ndarray:
    """How far the dense and the blocked solver may differ, per point: ``8 WOLFE_GAP_TOL / rho + 64 eps``.

    Both stop at Wolfe's certified gap: for unit rows the gap is at most ``4 WOLFE_GAP_TOL`` and bounds each
    distance's error by gap / rho (:mod:`spherecodes.kernels.one_vs_rest`), so the two answers are within
    twice that of each other; 64 eps covers the rounding of the distance recomputed from the coordinates.
    """
    rho = np.asarray(distances, dtype=np.float64)
    eps = float(np.finfo(np.float64).eps)
    with np.errstate(divide="ignore"):
        return 8.0 * WOLFE_GAP_TOL / rho + 64.0 * eps


def _method(method: str, K: int) -> str:
    if method not in _METHODS:
        raise InvalidParameterError("method", method, f"use one of {', '.join(_METHODS)}")
    if method == "auto":
        return "dense" if K <= DENSE_MAX_K else "blocked"
    return method


def one_vs_rest_distances(points, *, method: str = "auto") -> np.ndarray:
    """One-vs-rest distance of every point, shape (K,), float64 (fast exact solver).

    :math:`\\rho_k = \\operatorname{dist}(w_k, \\operatorname{conv}\\{w_j: j \\ne k\\})`, the Euclidean distance
    (not squared), by Wolfe's minimum-norm-point algorithm; agrees with
    :func:`one_vs_rest_distances_exact` to ~1e-12. Coincident points get 0, never NaN.

    Parameters
    ----------
    points : array_like, shape (K, d)
    method : {"auto", "dense", "blocked"}
        ``dense``: one (K, K) Gram matrix; ``blocked``: candidate sets checked against every point by
        blocks (:func:`spherecodes.kernels.one_vs_rest.hull_distances_blocked`, memory O(K d + B K));
        ``auto``: dense up to :data:`DENSE_MAX_K` points. The two agree to :func:`solver_agreement_atol`.
    """
    X = _as_array(points)
    K = X.shape[0]
    if _method(method, K) == "dense" or K < 2:
        return one_vs_rest_projection(X)[0]
    dist, _ = hull_distances_blocked(X, np.arange(K))
    dist[_coincident(X)] = 0.0
    return dist


def one_vs_rest(points, *, chunk: int = 16, method: str = "auto") -> float:
    """:math:`\\rho_{\\text{one-vs-rest}} = \\min_k \\rho_k`, the softmax-code figure of merit (Eq. (3) of the paper).

    Exact, and usually much cheaper than all K distances: the hyperplane :math:`\\langle w_k, y\\rangle = c_k`,
    :math:`c_k = \\max_{j \\ne k} \\langle w_k, w_j\\rangle`, separates :math:`w_k` from the other points, so
    :math:`\\rho_k \\ge 1 - c_k` (for unit rows). Points are solved in order of this lower bound, ``chunk``
    at a time, until the next bound is no smaller than the best distance found.

    ``method`` as in :func:`one_vs_rest_distances`; ``blocked`` is
    :func:`spherecodes.kernels.one_vs_rest.min_hull_distance` (the same ordering from float32 Gram blocks
    with rigorous rounding margins, candidate sets checked against every point; memory O(K d + B K)).
    """
    X = _as_array(points)
    K = X.shape[0]
    if K < 2:
        return math.inf
    method = _method(method, K)
    dup = _coincident(X)
    if dup.any():
        return 0.0
    if method == "blocked":
        return min_hull_distance(X)
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    norms2 = np.einsum("ij,ij->i", X, X)
    # rho_k >= (|w_k|^2 - c_k) / |w_k| holds for any rows (the hyperplane through the nearest level)
    lower = (norms2 - G.max(axis=1)) / np.sqrt(norms2)
    np.fill_diagonal(G, norms2)
    order = np.argsort(lower, kind="stable")
    best = math.inf
    for start in range(0, K, chunk):
        ks = order[start:start + chunk]
        if lower[ks[0]] >= best:
            break
        dist, _, _ = _wolfe_many(X, G, WOLFE_GAP_TOL, ks.astype(np.int64))
        best = min(best, float(dist.min()))
    return best


def one_vs_rest_distances_exact(points, *, solver: str = "CLARABEL") -> np.ndarray:
    """Reference one-vs-rest distances: one cvxpy second-order cone program per point.

    Solves the QP :math:`\\min \\|w_k - W_{-k}^T \\lambda\\|_2^2` over :math:`\\lambda \\ge 0, \\sum \\lambda = 1`
    with CLARABEL in float64 at tolerance 1e-11 (then 1e-10, 1e-9 if a solve is only "optimal_inaccurate"),
    and reports the norm (not its square) at the returned weights clipped to the simplex: a feasible point,
    so an upper bound, within ~1e-10 of the distance for well separated points. A point that equals another
    row exactly gets 0 without a solve. Slow (K solves): for tests and validation only.

    Raises
    ------
    SolverError
        When a solve does not end with status ``optimal``; the message carries the status.
    """
    import cvxpy as cp

    X = _as_array(points)
    K = X.shape[0]
    out = np.full(K, np.inf)
    if K < 2:
        return out
    dup = _coincident(X)
    ladder = _TOLERANCE_LADDER if solver == "CLARABEL" else (None,)
    for k in range(K):
        if dup[k]:
            out[k] = 0.0
            continue
        others = np.delete(X, k, axis=0)
        lam = cp.Variable(K - 1)
        prob = cp.Problem(cp.Minimize(cp.sum_squares(X[k] - others.T @ lam)), [lam >= 0, cp.sum(lam) == 1])
        statuses = []
        for tol in ladder:
            opts = {} if tol is None else {"tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol,
                                           "tol_ktratio": 1e-8, "max_iter": 500}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # an inaccurate solve is reported below, not warned
                    prob.solve(solver=solver, **opts)
            except cp.error.SolverError as exc:
                raise SolverError(f"one-vs-rest QP for point {k} failed in {solver}: {exc}") from None
            statuses.append(f"{prob.status} (tol {tol})" if tol is not None else str(prob.status))
            if prob.status == cp.OPTIMAL and lam.value is not None:
                break
        else:
            raise SolverError(f"one-vs-rest QP for point {k}: {solver} returned status {', then '.join(statuses)}")
        w = np.clip(np.asarray(lam.value, dtype=np.float64), 0.0, None)
        w /= w.sum()
        out[k] = float(np.linalg.norm(X[k] - w @ others))
    return out


def check_one_vs_rest(points, *, atol: float = 1e-9) -> tuple[bool, str]:
    """Compare the fast and the reference solver on ``points``: (ok, reason naming the tolerance)."""
    fast = one_vs_rest_distances(points)
    ref = one_vs_rest_distances_exact(points)
    err = float(np.max(np.abs(fast - ref))) if fast.size else 0.0
    if err <= atol:
        return True, f"fast and cvxpy/CLARABEL one-vs-rest distances agree within atol={atol:g} (max diff {err:.2e})"
    k = int(np.argmax(np.abs(fast - ref)))
    return False, (f"one-vs-rest distance of point {k}: fast {fast[k]!r} vs reference {ref[k]!r} "
                   f"(diff {err:.2e} > atol={atol:g})")


def assert_one_vs_rest(points, *, atol: float = 1e-9) -> None:
    """Raise AssertionError when :func:`check_one_vs_rest` fails."""
    ok, reason = check_one_vs_rest(points, atol=atol)
    if not ok:
        raise AssertionError(reason)
