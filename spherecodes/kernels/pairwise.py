"""Pairwise sums and extrema over K points in float64, memory O(K d).

The numba kernels loop over pairs directly (no K x K matrix is formed), one row
of pairs per parallel task, each with Neumaier-compensated summation; the row sums
are then added with compensation too. Distances are computed from coordinate
differences, ``|x_i - x_j|``, which keeps full relative accuracy for close points
(unlike ``sqrt(2 - 2 <x_i, x_j>)``).

Conventions: points are rows of a (K, d) array on S^{d-1}; energies sum over
unordered pairs i < j.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np

from .blocked import _energy_threshold, min_distance_max_cosine_blocked, riesz_energy_blocked
from .pair_terms import _EUCLIDEAN, METRICS, _check_points, _chord_and_angle, _kernel_derivative, _kernel_value

# numba's OpenMP threading layer leaves its threads spin-waiting after each parallel region;
# on a machine with few cores that slows torch's own OpenMP work by 50x (measured: 9 ms vs
# 0.17 ms for one batched loss). The work-queue layer does not spin. A user's explicit
# NUMBA_THREADING_LAYER is respected.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

#: below this many points the serial kernels are used (thread start-up costs more than it saves)
PARALLEL_MIN_K = 256

#: from this many points :func:`riesz_energy` uses the blocked-BLAS kernel of
#: :mod:`spherecodes.kernels.blocked` (when its exact-recomputation threshold is below a squared
#: chord of 1, i.e. few pairs need recomputing). Measured, one thread: K = 512, d = 8: 23 ms numba vs
#: 8 ms blocked; K = 5000, d = 128: 5.3 s vs 0.42 s; K = 20000, d = 3: 29.9 s vs 4.1 s.
BLOCKED_ENERGY_MIN_K = 512

#: from this many points and dimensions :func:`min_distance_max_cosine` uses the blocked kernel
#: (same result, bit for bit). Measured, one thread: K = 2000, d = 16: 60 ms numba vs 48 ms blocked;
#: d = 128: 675 ms vs 92 ms; but d = 4: 10 ms vs 35 ms (the numba loop is cheap in low dimension).
BLOCKED_SEPARATION_MIN_K = 1024
BLOCKED_SEPARATION_MIN_D = 16

__all__ = ["riesz_energy", "riesz_gradient", "min_distance_max_cosine", "METRICS"]

def _riesz_energy_kernel_py(X, s, metric, half_space):
    K = X.shape[0]
    row_sum = np.zeros(K)
    row_comp = np.zeros(K)
    row_inf = np.zeros(K, dtype=np.bool_)
    for i in numba.prange(K):
        total = 0.0
        comp = 0.0
        for j in range(i + 1, K):
            for sign in (1.0, -1.0):
                if sign < 0.0 and not half_space:
                    continue
                r, theta = _chord_and_angle(X, i, j, sign)
                v = _kernel_value(r, theta, s, metric)
                if not math.isfinite(v):
                    # coincident points (s >= 0: +inf) or an overflowing r^|s| (s < 0: -inf); the
                    # compensation would turn an infinite term into nan
                    row_inf[i] = True
                    continue
                t = total + v
                if abs(total) >= abs(v):
                    comp += (total - t) + v
                else:
                    comp += (v - t) + total
                total = t
        row_sum[i] = total
        row_comp[i] = comp
    if row_inf.any():
        return np.inf if s >= 0.0 else -np.inf
    total = 0.0
    comp = 0.0
    for i in range(K):
        for v in (row_sum[i], row_comp[i]):
            t = total + v
            if abs(total) >= abs(v):
                comp += (total - t) + v
            else:
                comp += (v - t) + total
            total = t
    return total + comp


def _riesz_gradient_kernel_py(X, s, metric, half_space):
    """Euclidean gradient (K, d) of the energy with respect to the coordinates."""
    K, d = X.shape
    G = np.zeros((K, d))
    for i in numba.prange(K):
        for j in range(K):
            if j == i:
                continue
            for sign in (1.0, -1.0):
                if sign < 0.0 and not half_space:
                    continue
                r, theta = _chord_and_angle(X, i, j, sign)
                fp = _kernel_derivative(r, theta, s, metric)
                if metric == _EUCLIDEAN:
                    # d r / d x_i = (x_i - y) / r
                    for k in range(d):
                        G[i, k] += fp * (X[i, k] - sign * X[j, k]) / r
                else:
                    # d theta / d x_i = -(y - c x_i) / sin(theta), c = <x_i, y>, on the sphere
                    c = 0.0
                    for k in range(d):
                        c += X[i, k] * sign * X[j, k]
                    st = math.sin(theta)
                    for k in range(d):
                        G[i, k] += -fp * (sign * X[j, k] - c * X[i, k]) / st
    if half_space:
        # the pair (x_i, -x_i) sits at constant distance 2 (angle pi): no force.
        # Each unordered pair {x_i, -x_j} appears once for x_i and once, mirrored, for x_j;
        # the loops above visit (i, j, sign) for all j != i, which differentiates the sum
        # over unordered pairs among the 2K points exactly (mirror pairs coincide in value).
        for i in range(K):
            for k in range(d):
                G[i, k] *= 2.0
    return G


def _min_distance_max_cosine_kernel_py(X):
    K, d = X.shape
    row_min = np.full(K, np.inf)
    row_max_cos = np.full(K, -np.inf)
    for i in numba.prange(K):
        best_r = np.inf
        best_c = -np.inf
        for j in range(i + 1, K):
            diff2 = 0.0
            dot = 0.0
            for k in range(d):
                a = X[i, k] - X[j, k]
                diff2 += a * a
                dot += X[i, k] * X[j, k]
            if diff2 < best_r:
                best_r = diff2
            if dot > best_c:
                best_c = dot
        row_min[i] = best_r
        row_max_cos[i] = best_c
    return math.sqrt(row_min.min()), row_max_cos.max()


def _jit_pair(func):
    """A serial and a parallel compilation of the same kernel (prange is range when serial)."""
    return numba.njit(cache=True)(func), numba.njit(cache=True, parallel=True)(func)


_ENERGY = _jit_pair(_riesz_energy_kernel_py)
_GRADIENT = _jit_pair(_riesz_gradient_kernel_py)
_SEPARATION = _jit_pair(_min_distance_max_cosine_kernel_py)


def _pick(pair, K: int):
    return pair[1] if K >= PARALLEL_MIN_K else pair[0]


def riesz_energy(points: np.ndarray, s: float = 1.0, metric: str = "euclidean", half_space: bool = False) -> float:
    r"""Riesz s-energy of K points, summed over unordered pairs, in float64.

    .. math::
        E_s(X) = \sum_{i<j} f_s(\rho(x_i, x_j)), \qquad
        f_s(\rho) = \rho^{-s}\ (s>0),\quad \log(1/\rho)\ (s=0),\quad -\rho^{-s} = -\rho^{|s|}\ (s<0),

    with :math:`\rho` the chord :math:`|x_i - x_j|` (``metric="euclidean"``) or the angle
    :math:`\arccos\langle x_i, x_j\rangle` (``metric="geodesic"``). With ``half_space=True``
    the sum runs over the 2K points :math:`\{x_k, -x_k\}` (each point and its antipode,
    thesis section 5.3.4), again over unordered pairs, including the K pairs
    :math:`(x_k, -x_k)` at distance 2 (angle pi).

    Parameters
    ----------
    points : ndarray, shape (K, d)
        Unit vectors (rows).
    s : float
    metric : {"euclidean", "geodesic"}
    half_space : bool

    Returns
    -------
    float
        ``inf`` when two points coincide and s >= 0.

    Notes
    -----
    From :data:`BLOCKED_ENERGY_MIN_K` points on, the sum is computed by
    :func:`spherecodes.kernels.blocked.riesz_energy_blocked` (blocked float64 Gram products, close
    pairs from coordinates; same value to about 1e-13 relative) when that is faster.
    """
    X = _check_points(points)
    m = METRICS.index(metric)
    if X.shape[0] < 2 and not half_space:
        return 0.0
    if X.shape[0] >= BLOCKED_ENERGY_MIN_K:
        if _energy_threshold(X.shape[1], float(s), m) <= 1.0:
            return riesz_energy_blocked(X, s, metric, half_space)
    with np.errstate(divide="ignore"):
        total = float(_pick(_ENERGY, X.shape[0])(X, float(s), m, bool(half_space)))
    if half_space:
        # the kernel sums f(x_i, x_j) + f(x_i, -x_j) over i < j; the mirrored pairs
        # (-x_i, -x_j) and (-x_i, x_j) have the same values, hence the factor 2
        total *= 2.0
        # the K self-antipode pairs, at chord 2 / angle pi
        x = 2.0 if m == _EUCLIDEAN else math.pi
        f = x ** (-s) if s > 0 else (-math.log(x) if s == 0 else -(x ** (-s)))
        total += X.shape[0] * f
    return total


def riesz_gradient(points: np.ndarray, s: float = 1.0, metric: str = "euclidean", half_space: bool = False,
                   riemannian: bool = True) -> np.ndarray:
    """Gradient of :func:`riesz_energy` with respect to the points, shape (K, d), float64.

    With ``riemannian=True`` each row is projected onto the tangent space at its point,
    :math:`g_i - \\langle g_i, x_i\\rangle x_i`, which is the gradient on the product of spheres.
    For the geodesic metric the kernel already returns the tangential part.
    """
    X = _check_points(points)
    G = _pick(_GRADIENT, X.shape[0])(X, float(s), METRICS.index(metric), bool(half_space))
    if riemannian:
        G = G - np.sum(G * X, axis=1, keepdims=True) * X
    return G


def min_distance_max_cosine(points: np.ndarray) -> tuple[float, float]:
    """Minimum chord distance and maximum inner product over pairs i < j, float64.

    Returns ``(min_distance, max_cosine)``; for K < 2 returns ``(inf, -inf)``. From
    :data:`BLOCKED_SEPARATION_MIN_K` points in :data:`BLOCKED_SEPARATION_MIN_D` or more dimensions
    the blocked kernel of :mod:`spherecodes.kernels.blocked` is used (exactly the same result).
    """
    X = _check_points(points)
    if X.shape[0] < 2:
        return math.inf, -math.inf
    if X.shape[0] >= BLOCKED_SEPARATION_MIN_K and X.shape[1] >= BLOCKED_SEPARATION_MIN_D:
        return min_distance_max_cosine_blocked(X)
    r, c = _pick(_SEPARATION, X.shape[0])(X)
    return float(r), float(c)
