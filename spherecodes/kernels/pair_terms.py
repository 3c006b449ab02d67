r"""The per-pair terms shared by the float64 kernels of :mod:`~spherecodes.kernels.pairwise` and
:mod:`~spherecodes.kernels.blocked`: the Riesz kernel of one pair and its derivative (numba), the chord
and angle of one pair from coordinate differences, and the input check.

The Riesz kernel of a distance x (the chord r or the angle theta) is

.. math::
    f_s(x) = x^{-s}\ (s > 0), \qquad -\log x\ (s = 0), \qquad -x^{|s|}\ (s < 0).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["METRICS", "riesz_kernel_of_inner_product", "riesz_term"]

METRICS = ("euclidean", "geodesic")
_EUCLIDEAN, _GEODESIC = 0, 1


@numba.njit(cache=True, inline="always")
def _kernel_value(r: float, theta: float, s: float, metric: int) -> float:
    """f(dist) with dist the chord r (metric 0) or the angle theta (metric 1)."""
    x = r if metric == _EUCLIDEAN else theta
    if s > 0.0:
        return x ** (-s)
    if s == 0.0:
        return -math.log(x)
    return -(x ** (-s))


@numba.njit(cache=True, inline="always")
def _kernel_derivative(r: float, theta: float, s: float, metric: int) -> float:
    """f'(dist): d/dx of the kernel in its own distance variable."""
    x = r if metric == _EUCLIDEAN else theta
    if s > 0.0:
        return -s * x ** (-s - 1.0)
    if s == 0.0:
        return -1.0 / x
    return s * x ** (-s - 1.0)


@numba.njit(cache=True, inline="always")
def _chord_and_angle(X, i, j, sign_j):
    """Chord |x_i - sign_j x_j| and angle 2 atan2(|x_i - y|, |x_i + y|) (accurate at 0 and pi)."""
    d = X.shape[1]
    diff2 = 0.0
    sum2 = 0.0
    for k in range(d):
        y = sign_j * X[j, k]
        a = X[i, k] - y
        b = X[i, k] + y
        diff2 += a * a
        sum2 += b * b
    r = math.sqrt(diff2)
    return r, 2.0 * math.atan2(r, math.sqrt(sum2))


def _check_points(points: np.ndarray) -> np.ndarray:
    X = np.ascontiguousarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"points must have shape (K, d), got {X.shape}")
    return X


def riesz_term(dist, s: float):
    """f_s(dist) elementwise for a numpy array or a torch tensor of distances (see the module docstring).

    One unordered pair per entry; at dist = 0 the value is +inf for s >= 0 (numpy: without a warning).
    """
    if isinstance(dist, np.ndarray) or np.isscalar(dist):
        with np.errstate(divide="ignore"):
            if s > 0:
                return np.asarray(dist, dtype=np.float64) ** (-s)
            if s == 0:
                return -np.log(dist)
            return -(np.asarray(dist, dtype=np.float64) ** (-s))
    if s > 0:
        return dist.pow(-s)
    if s == 0:
        return -dist.log()
    return -dist.pow(-s)


def riesz_kernel_of_inner_product(t, s: float, metric: str = "euclidean") -> np.ndarray:
    """f_s of one pair as a function of its inner product t: r = sqrt(2 - 2t) (euclidean) or arccos t (geodesic).

    t is clipped to [-1, 1]; returns a float64 array of t's shape.
    """
    t = np.clip(np.asarray(t, dtype=np.float64), -1.0, 1.0)
    r = np.sqrt(np.maximum(2.0 - 2.0 * t, 0.0)) if metric == "euclidean" else np.arccos(t)
    return riesz_term(r, s)
