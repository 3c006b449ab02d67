r"""Exact float64 pair statistics for large K by blocked BLAS Gram products, memory O(K d + T^2).

The numba kernels of :mod:`spherecodes.kernels.pairwise` compute every pair from coordinate
differences, :math:`|x_i - x_j|`, one scalar at a time. Here the pairs are visited by square
blocks (rows [a, a+T) x columns [b, b+T), b >= a) whose Gram products
:math:`\tilde c_{ij} = \langle x_i, x_j\rangle` come from one float64 matrix product each (BLAS,
tens of GFLOP/s), and the squared chord is :math:`\tilde r^2_{ij} = n_i + n_j - 2\tilde c_{ij}`
with :math:`n_i = |x_i|^2`. Forward error analysis of inner products (Higham, *Accuracy and
Stability of Numerical Algorithms*, 2nd ed., section 3.1: :math:`|\tilde c - c| \le \gamma_d
\sum_k |x_{ik} x_{jk}|`, :math:`\gamma_d = d u / (1 - d u)`) bounds the error of every Gram entry
by about :math:`(d + 2) u |x_i| |x_j|`, u = 2^-53, whatever order the BLAS sums in. Hence:

* **min distance / max cosine** — exact: a pair is recomputed from its coordinates, with the very
  loop of the numba kernel (so with bit-identical results), whenever its Gram estimate is within
  the error bound of the best value found so far for its row. A pair that is not recomputed
  provably cannot be the extremum. The result equals
  :func:`spherecodes.kernels.pairwise.min_distance_max_cosine` exactly.
* **Riesz energy** — each term from the Gram chord when :math:`\tilde r^2 \ge \tau` (then its
  relative error is at most about :math:`|s| (d + 4) u / \tau`, and :math:`\tau` is set so that
  this is below 1e-13), from the coordinates (as the numba kernel) otherwise, so that close pairs
  keep full relative accuracy; the terms of a row are added in column order with Neumaier
  compensation, the rows with compensation too. The result agrees with
  :func:`spherecodes.kernels.pairwise.riesz_energy` to about 1e-13 relative.

Conventions as in :mod:`spherecodes.kernels.pairwise`: unordered pairs i < j; points are rows
of a (K, d) float64 array.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .pair_terms import _EUCLIDEAN, METRICS, _check_points, _chord_and_angle, _kernel_value

__all__ = ["riesz_energy_blocked", "min_distance_max_cosine_blocked", "max_cosine_blocked", "BLOCK_ROWS",
           "gram_error_bound", "pair_statistics_blocked"]

#: rows (and columns) of one block: a (T, T) float64 Gram block is 32 MiB at T = 2048
BLOCK_ROWS = 2048

#: target relative error of one energy term computed from the Gram chord
_TERM_RTOL = 1e-13

_U = 2.0**-53


def gram_error_bound(d: int) -> float:
    """Bound on |c~_ij - c_ij| / (|x_i| |x_j|) for a float64 Gram entry of length-d vectors (any summation order).

    Higham's gamma_d = d u / (1 - d u), plus two units for the norms' own rounding, doubled for safety.
    """
    du = (d + 2) * _U
    return 2.0 * du / (1.0 - du)


@numba.njit(cache=True, inline="always")
def _neumaier(total, comp, v):
    t = total + v
    if abs(total) >= abs(v):
        comp += (total - t) + v
    else:
        comp += (v - t) + total
    return t, comp


def _separation_block_py(G, X, nrm, a, b, diagonal, gamma, row_r2, row_c):
    """Update the per-row exact minima of |x_i - x_j|^2 and maxima of <x_i, x_j> with one block.

    G: (Ta, Tb) Gram block of rows a.. and columns b..; row_r2 / row_c: (K,) running exact values.
    """
    Ta, Tb = G.shape
    d = X.shape[1]
    for ii in numba.prange(Ta):
        i = a + ii
        best_r2 = row_r2[i]
        best_c = row_c[i]
        ni = nrm[i]
        start = ii + 1 if diagonal else 0
        for jj in range(start, Tb):
            j = b + jj
            g = G[ii, jj]
            nj = nrm[j]
            scale = math.sqrt(ni * nj)
            margin_c = 2.0 * gamma * scale
            r2 = ni + nj - 2.0 * g
            margin_r = 4.0 * gamma * (ni + nj + 2.0 * abs(g))
            if g >= best_c - margin_c or r2 <= best_r2 + margin_r:
                # the same loop as the numba kernel: identical roundings, identical result
                diff2 = 0.0
                dot = 0.0
                for k in range(d):
                    t = X[i, k] - X[j, k]
                    diff2 += t * t
                    dot += X[i, k] * X[j, k]
                if diff2 < best_r2:
                    best_r2 = diff2
                if dot > best_c:
                    best_c = dot
        row_r2[i] = best_r2
        row_c[i] = best_c


@numba.njit(cache=True, inline="always")
def _chord_value(r2: float, s: float) -> float:
    """f_s of the chord r = sqrt(r2) without the square root where s allows (s = 1, 2, -1, 0)."""
    if s == 1.0:
        return 1.0 / math.sqrt(r2)
    if s == 2.0:
        return 1.0 / r2
    if s == -1.0:
        return -math.sqrt(r2)
    if s == 0.0:
        return -0.5 * math.log(r2)
    if s > 0.0:
        return r2 ** (-0.5 * s)
    return -(r2 ** (-0.5 * s))


@numba.njit(cache=True, inline="always")
def _gram_value(r2m: float, r2p: float, s: float, metric: int) -> float:
    """f_s of the pair whose squared chords to y and to -y are r2m and r2p (from the Gram product)."""
    if metric == _EUCLIDEAN:
        return _chord_value(r2m, s)
    r = math.sqrt(r2m)
    return _kernel_value(r, 2.0 * math.atan2(r, math.sqrt(r2p)), s, metric)


def _energy_block_py(G, X, nrm, a, b, diagonal, s, metric, half_space, tau, row_sum, row_comp, row_inf):
    """Add one block's pair terms to the per-row compensated sums (columns in increasing order)."""
    Ta, Tb = G.shape
    # the angle needs both chords accurate; the chord metric only the one(s) it uses
    need_p = half_space or metric != _EUCLIDEAN
    for ii in numba.prange(Ta):
        i = a + ii
        total = row_sum[i]
        comp = row_comp[i]
        ni = nrm[i]
        start = ii + 1 if diagonal else 0
        for jj in range(start, Tb):
            j = b + jj
            g = G[ii, jj]
            nj = nrm[j]
            r2m = ni + nj - 2.0 * g  # |x_i - x_j|^2
            r2p = ni + nj + 2.0 * g  # |x_i + x_j|^2
            if r2m < tau or (need_p and r2p < tau):
                r, theta = _chord_and_angle(X, i, j, 1.0)
                v = _kernel_value(r, theta, s, metric)
            else:
                v = _gram_value(r2m, r2p, s, metric)
            if math.isfinite(v):
                total, comp = _neumaier(total, comp, v)
            else:
                row_inf[i] = True
            if half_space:
                if r2m < tau or r2p < tau:
                    r, theta = _chord_and_angle(X, i, j, -1.0)
                    v = _kernel_value(r, theta, s, metric)
                else:
                    v = _gram_value(r2p, r2m, s, metric)
                if math.isfinite(v):
                    total, comp = _neumaier(total, comp, v)
                else:
                    row_inf[i] = True
        row_sum[i] = total
        row_comp[i] = comp


def _jit_pair(func):
    return numba.njit(cache=True)(func), numba.njit(cache=True, parallel=True)(func)


_SEP_BLOCK = _jit_pair(_separation_block_py)
_ENERGY_BLOCK = _jit_pair(_energy_block_py)


@numba.njit(cache=True)
def _compensated_total(row_sum, row_comp):
    total = 0.0
    comp = 0.0
    for i in range(row_sum.shape[0]):
        total, comp = _neumaier(total, comp, row_sum[i])
        total, comp = _neumaier(total, comp, row_comp[i])
    return total + comp


def _energy_threshold(d: int, s: float, metric: int) -> float:
    """tau: below this squared chord a term is recomputed from coordinates.

    The Gram chord r~^2 has absolute error <= 4 gamma (gamma = :func:`gram_error_bound`: two norms
    and 2 c~, each |.| <= 1 + O(u)), so a term r^-s (or log r, r^|s|) from it has relative error
    <= max(|s|, 1) / 2 * 4 gamma / r^2, and twice that for the angle; tau makes it at most _TERM_RTOL.
    """
    factor = 2.0 if metric == _EUCLIDEAN else 4.0
    return factor * max(abs(s), 1.0) * gram_error_bound(d) / _TERM_RTOL


def _block_rows(K: int, block: int | None) -> int:
    T = BLOCK_ROWS if block is None else int(block)
    if T < 1:
        raise ValueError(f"block must be a positive number of rows, got {block}")
    return min(T, max(K, 1))


def _pick(pair, T: int):
    # threads pay off once a block has a few hundred rows
    return pair[1] if T >= 256 else pair[0]


def pair_statistics_blocked(points: np.ndarray, s: float = 1.0, metric: str = "euclidean",
                            half_space: bool = False, *, energy: bool = True, separation: bool = True,
                            block: int | None = None) -> dict[str, float]:
    """Riesz energy and/or min distance / max cosine in one pass over the blocks (one Gram product each).

    Parameters
    ----------
    points : ndarray, shape (K, d)
        Unit vectors (rows).
    s, metric, half_space
        Of the energy, as in :func:`spherecodes.kernels.pairwise.riesz_energy`.
    energy, separation : bool
        Which statistics to compute.
    block : int, optional
        Rows per block (default :data:`BLOCK_ROWS`); memory O(K d + block^2).

    Returns
    -------
    dict
        ``energy`` (when asked; ``inf`` for coincident points and s >= 0), ``min_distance`` and
        ``max_cosine`` (when asked; ``inf`` and ``-inf`` for K < 2).
    """
    X = _check_points(points)
    m = METRICS.index(metric)
    K, d = X.shape
    out: dict[str, float] = {}
    T = _block_rows(K, block)
    nrm = np.einsum("ij,ij->i", X, X)
    gamma = gram_error_bound(d)
    tau = _energy_threshold(d, float(s), m)
    row_sum = np.zeros(K)
    row_comp = np.zeros(K)
    row_inf = np.zeros(K, dtype=np.bool_)
    row_r2 = np.full(K, np.inf)
    row_c = np.full(K, -np.inf)
    energy_kernel = _pick(_ENERGY_BLOCK, T)
    sep_kernel = _pick(_SEP_BLOCK, T)
    G = np.empty((T, T))
    with np.errstate(divide="ignore"):
        for a in range(0, K, T):
            Xa = X[a:a + T]
            for b in range(a, K, T):
                Xb = X[b:b + T]
                Gv = G[: len(Xa), : len(Xb)]
                np.matmul(Xa, Xb.T, out=Gv)
                if energy:
                    energy_kernel(Gv, X, nrm, a, b, a == b, float(s), m, bool(half_space), tau, row_sum, row_comp,
                                  row_inf)
                if separation:
                    sep_kernel(Gv, X, nrm, a, b, a == b, gamma, row_r2, row_c)
    if energy:
        if row_inf.any():
            total = math.inf
        else:
            total = float(_compensated_total(row_sum, row_comp)) if K else 0.0
            if half_space:
                total *= 2.0
                x = 2.0 if m == _EUCLIDEAN else math.pi
                f = x ** (-s) if s > 0 else (-math.log(x) if s == 0 else -(x ** (-s)))
                total += K * f
        out["energy"] = total
    if separation:
        if K < 2:
            out["min_distance"], out["max_cosine"] = math.inf, -math.inf
        else:
            out["min_distance"], out["max_cosine"] = math.sqrt(float(row_r2.min())), float(row_c.max())
    return out


def riesz_energy_blocked(points: np.ndarray, s: float = 1.0, metric: str = "euclidean", half_space: bool = False,
                         *, block: int | None = None) -> float:
    """Riesz s-energy over unordered pairs by blocked float64 Gram products; same result as
    :func:`spherecodes.kernels.pairwise.riesz_energy` to about 1e-13 relative.

    Parameters
    ----------
    points : ndarray, shape (K, d)
        Unit vectors (rows).
    s : float
    metric : {"euclidean", "geodesic"}
    half_space : bool
        Energy of the 2K points {x_k, -x_k}, including the K pairs (x_k, -x_k).
    block : int, optional
        Rows per block (default :data:`BLOCK_ROWS`); memory O(K d + block^2).

    Returns
    -------
    float
        ``inf`` when two points coincide and s >= 0.
    """
    X = _check_points(points)
    if X.shape[0] < 2 and not half_space:
        return 0.0
    return pair_statistics_blocked(X, s, metric, half_space, separation=False, block=block)["energy"]


def min_distance_max_cosine_blocked(points: np.ndarray, *, block: int | None = None) -> tuple[float, float]:
    """Minimum chord distance and maximum inner product over pairs i < j, exactly as
    :func:`spherecodes.kernels.pairwise.min_distance_max_cosine`, by blocked Gram products.

    Returns ``(min_distance, max_cosine)``; ``(inf, -inf)`` for K < 2.
    """
    out = pair_statistics_blocked(points, energy=False, block=block)
    return out["min_distance"], out["max_cosine"]


def max_cosine_blocked(points: np.ndarray, *, block: int | None = None) -> float:
    """Largest inner product over pairs i < j (the cosine of the minimum angle), exact; see
    :func:`min_distance_max_cosine_blocked`."""
    return min_distance_max_cosine_blocked(points, block=block)[1]
