r"""Distances of each point to the convex hull of the others (the one-vs-rest distances of softmax codes).

:math:`\rho_k(W) = \operatorname{dist}(w_k, \operatorname{conv}\{w_j : j \ne k\})` for the rows of W (K, d),
float64, by Wolfe's minimum-norm-point algorithm (:mod:`spherecodes.kernels.one_vs_rest`): on the dense Gram
matrix up to :data:`DENSE_MAX_K` points, above it on each point's near neighbours with a check against every
point by blocks (no K x K matrix). These are the entry points the objectives score with; the definitions, the
closed forms used as checks and an independent cvxpy reference are in :mod:`spherecodes.validation.one_vs_rest`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameterError
from .one_vs_rest import WOLFE_GAP_TOL, _wolfe_many, hull_distances_blocked, min_hull_distance

__all__ = ["one_vs_rest_distances", "one_vs_rest_projection", "one_vs_rest", "solver_agreement_atol",
           "DENSE_MAX_K"]

#: above this many points the scores use the blocked solver (no K x K Gram matrix); up to it the dense one
#: (a (K, K) float64 Gram matrix of 32 MiB at the threshold)
DENSE_MAX_K = 2048


_METHODS = ("auto", "dense", "blocked")

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
