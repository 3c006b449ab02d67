"""float64 metrics of a code, independent of the torch solvers that produced it.

Every function takes points as a (K, d) array of unit rows (d the ambient dimension,
K the number of points) and uses numpy / numba / scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.linalg

from ..code import as_points
from ..kernels import min_distance_max_cosine, riesz_energy, riesz_gradient
from ..objectives import mgd as _mgd
from ..tolerances import eps as machine_eps
from ..tolerances import unit_norm_tolerance

__all__ = [
    "check_unit_norm",
    "check_finite",
    "check_distinct",
    "close_pairs",
    "duplicate_tolerance",
    "energy",
    "separation",
    "riesz_stationarity",
    "mgd_logdet",
    "mgd_stationarity",
    "pairwise_angles_deg",
]


def check_finite(points: Any) -> tuple[bool, str]:
    """(ok, reason): every coordinate is finite."""
    X = np.asarray(points, dtype=np.float64)
    bad = int(np.size(X) - np.count_nonzero(np.isfinite(X)))
    return (bad == 0, "all coordinates finite" if bad == 0 else f"{bad} coordinates are NaN or inf")


def check_unit_norm(points: Any, tol: float | None = None) -> tuple[bool, str]:
    """(ok, reason): every row has norm 1 within ``tol`` (default: the float64 unit-norm tolerance)."""
    tol = unit_norm_tolerance(np.float64) if tol is None else float(tol)
    X = np.asarray(points, dtype=np.float64)
    worst = float(np.max(np.abs(np.linalg.norm(X, axis=1) - 1.0)))
    ok = worst <= tol
    return ok, f"max | |x_i| - 1 | = {worst:.3g} {'<=' if ok else '>'} tol {tol:.1e}"


def duplicate_tolerance(dtype=np.float64) -> float:
    """Chord distance at or below which two points count as the same point: sqrt(eps) (1.5e-8 in float64).

    Two unit vectors at distance r have inner product 1 - r^2/2, which rounds to 1 in floating point once
    r^2/2 < eps/2, i.e. r < sqrt(eps): below that the pair cannot be told apart by its inner product, and
    every kernel of the distance (r^-s, log 1/r, the Gaussian Gram matrix) is singular or ill-conditioned.
    """
    return math.sqrt(machine_eps(dtype))


def close_pairs(points: Any, tol: float | None = None, *, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Pairs i < j with chord distance ``|x_i - x_j| <= tol`` (default :func:`duplicate_tolerance`).

    Candidates come from the Gram matrix in row blocks of ``chunk`` (memory O(chunk K)); their distances are
    then recomputed from coordinate differences, which are accurate near 0 where 2 - 2<x_i, x_j> is not.

    Returns
    -------
    pairs : numpy.ndarray of int, shape (m, 2)
        Sorted by distance, then by (i, j).
    distances : numpy.ndarray, shape (m,)
    """
    X = as_points(points)
    tol = duplicate_tolerance() if tol is None else float(tol)
    K = X.shape[0]
    # generous candidate threshold: the Gram entries carry ~d eps of rounding error
    coarse = (2.0 * tol) ** 2 + 64.0 * X.shape[1] * machine_eps(np.float64)
    found_i, found_j = [], []
    for start in range(0, K, chunk):
        block = X[start:start + chunk]
        sq = 2.0 - 2.0 * (block @ X.T)
        ii, jj = np.nonzero(sq <= coarse)
        ii = ii + start
        keep = jj > ii
        found_i.append(ii[keep])
        found_j.append(jj[keep])
    i = np.concatenate(found_i) if found_i else np.zeros(0, dtype=np.intp)
    j = np.concatenate(found_j) if found_j else np.zeros(0, dtype=np.intp)
    dist = np.linalg.norm(X[i] - X[j], axis=1) if i.size else np.zeros(0)
    keep = dist <= tol
    i, j, dist = i[keep], j[keep], dist[keep]
    order = np.lexsort((j, i, dist))
    return np.column_stack([i[order], j[order]]).astype(np.intp), dist[order]


def check_distinct(points: Any, tol: float | None = None) -> tuple[bool, str]:
    """(ok, reason): no two points are closer than ``tol`` in chord distance (default :func:`duplicate_tolerance`).

    The reason names the closest offending pair (0-based row indices), its distance, the tolerance and the
    number of offending pairs.
    """
    tol = duplicate_tolerance() if tol is None else float(tol)
    X = as_points(points)
    if X.shape[0] < 2:
        return True, "fewer than two points"
    r, _ = min_distance_max_cosine(X)
    if r > tol:
        return True, f"all points distinct: min distance {r:.3g} > tol {tol:.1e}"
    pairs, dist = close_pairs(X, tol)
    if pairs.shape[0] == 0:  # the min-distance kernel and the exact recomputation disagree at the threshold
        return True, f"all points distinct: min distance {r:.3g} ~ tol {tol:.1e} (recomputed above it)"
    i, j = (int(v) for v in pairs[0])
    more = f"; {pairs.shape[0]} such pairs in all" if pairs.shape[0] > 1 else ""
    return False, (f"duplicate points: rows {i} and {j} are at distance {dist[0]:.3g} <= tol {tol:.1e}"
                   f"{more}")


def separation(points: Any) -> dict[str, float]:
    """``min_distance`` (chord), ``max_cosine`` and ``min_angle_deg`` over pairs i < j."""
    r, c = min_distance_max_cosine(as_points(points))
    angle = 180.0 if not math.isfinite(r) else 2.0 * math.degrees(math.asin(min(r / 2.0, 1.0)))
    return {"min_distance": r, "max_cosine": c, "min_angle_deg": angle}


def riesz_stationarity(points: Any, s: float = 1.0, metric: str = "euclidean", half_space: bool = False) -> float:
    r"""Relative first-order optimality of a Riesz configuration.

    .. math:: \max_i |P_i \nabla_i E| \;/\; \operatorname{mean}_i |\nabla_i E|

    with :math:`P_i` the projection onto the tangent space at :math:`x_i`. At a critical point
    the forces on each point are radial, so the ratio is 0; the denominator, the mean force
    magnitude, makes it scale-free. (For the geodesic metric the kernel gradient is already
    tangential, and the mean Riemannian force is used as the scale.) ``inf`` when two points coincide.
    """
    X = as_points(points)
    try:
        full = riesz_gradient(X, s, metric, half_space, riemannian=False)
    except ZeroDivisionError:  # coincident points: the force is infinite
        return math.inf
    tang = full - np.sum(full * X, axis=1, keepdims=True) * X
    scale = float(np.mean(np.linalg.norm(full, axis=1)))
    if scale == 0.0 or not math.isfinite(scale):
        return 0.0 if scale == 0.0 else math.inf
    return float(np.max(np.linalg.norm(tang, axis=1)) / scale)


def mgd_logdet(points: Any, eps: float = 1.0) -> float:
    r"""log det G with :math:`G_{ij} = \exp(-\varepsilon^2 |x_i - x_j|^2)`, by Cholesky in float64.

    The formula of the objective, :func:`spherecodes.objectives.mgd.mgd_logdet`, on checked points.
    Returns ``-inf`` when G is numerically singular (Cholesky fails: e.g. coincident points).
    """
    return _mgd.mgd_logdet(as_points(points), eps)


def mgd_stationarity(points: Any, eps: float = 1.0) -> float:
    r"""Relative Riemannian gradient of log det G.

    :math:`\nabla_i \log\det G = 4\varepsilon^2 \sum_{j\ne i} (G^{-1})_{ij} G_{ij} x_j`, projected onto
    the tangent space at :math:`x_i`; returned as max tangential norm / mean full norm (0 at a
    critical point). ``inf`` when G is singular.
    """
    X = as_points(points)
    G = _mgd.gaussian_gram(X, eps)
    try:
        A = scipy.linalg.cho_solve(scipy.linalg.cho_factor(G, lower=True), np.eye(len(X)))
    except np.linalg.LinAlgError:
        return math.inf
    W = A * G
    np.fill_diagonal(W, 0.0)
    full = 4.0 * min(float(eps) * float(eps), 1e300) * (W @ X)  # capped: eps^2 overflows for eps > 1e150
    tang = full - np.sum(full * X, axis=1, keepdims=True) * X
    scale = float(np.mean(np.linalg.norm(full, axis=1)))
    return 0.0 if scale == 0.0 else float(np.max(np.linalg.norm(tang, axis=1)) / scale)


def pairwise_angles_deg(points: Any, max_pairs: int = 2_000_000, seed: int = 0) -> np.ndarray:
    """Angles (degrees) of all pairs i < j, or of a uniform sample of ``max_pairs`` of them for large K."""
    X = as_points(points)
    K = X.shape[0]
    n_pairs = K * (K - 1) // 2
    if n_pairs <= max_pairs:
        i, j = np.triu_indices(K, 1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(0, K, size=max_pairs)
        j = rng.integers(0, K - 1, size=max_pairs)
        j = np.where(j >= i, j + 1, j)
    a, b = X[i], X[j]
    # 2 atan2(|a - b|, |a + b|): accurate at 0 and 180 degrees
    return np.degrees(2.0 * np.arctan2(np.linalg.norm(a - b, axis=1), np.linalg.norm(a + b, axis=1)))


def energy(points: Any, params: Mapping[str, Any]) -> float:
    r"""Riesz energy :math:`\sum_{i<j} f(|x_i - x_j|)` with the objective's parameters (unordered pairs).

    ``params``: s (default 1), metric (default ``"euclidean"``), half_space (default False); see
    :mod:`spherecodes.objectives.riesz` for the kernel f.
    """
    return riesz_energy(as_points(points), float(params.get("s", 1.0)), params.get("metric", "euclidean"),
                        bool(params.get("half_space", False)))
