r"""Near pairs and per-row nearest neighbours without a K x K matrix, by blocked float64 Gram products.

Points are the rows of a (K, d) float64 array (unit vectors in the library's use, any rows here);
pairs are unordered, i < j. The Gram matrix :math:`G = X X^\top` is visited by blocks of ``block``
rows against all K columns, one BLAS product each, so memory is O(K d + block K) plus the output:

* :func:`row_max_cosine` -- :math:`c_i = \max_{j \ne i} \langle x_i, x_j\rangle` and its argmax for
  every row (the nearest neighbour by angle);
* :func:`near_pairs` -- every pair with :math:`\langle x_i, x_j\rangle \ge t` (a sparse contact
  list), the candidates taken from a float32 Gram block with the float32 rounding margin of
  :func:`float32_dot_error` and each candidate's inner product then recomputed in float64 from the
  coordinates with one sequential loop, so the list does not depend on the block size, on the BLAS
  summation order or on float32;
* :func:`nearest_neighbours` -- the ``m`` rows of largest inner product with each of some rows.

A float64 Gram entry differs from the exact inner product by at most
:math:`\gamma |x_i| |x_j|` with :math:`\gamma` = :func:`~spherecodes.kernels.blocked.gram_error_bound`
(Higham's forward error bound for inner products, any summation order), which is what makes the
row maxima of :func:`row_max_cosine` accurate. For float32 blocks (rows rounded to float32, products
summed in float32) the bound is :func:`float32_dot_error`, which makes the candidate margin of
:func:`near_pairs` safe: a pair whose exact inner product is >= t has a float32 estimate >= t - that
margin and is therefore a candidate (the float64 recomputation adds at most gamma |x_i||x_j|,
covered by the caller's threshold where it matters).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .pairwise import _check_points

__all__ = ["row_max_cosine", "near_pairs", "nearest_neighbours", "NEIGHBOUR_BLOCK_ROWS", "neighbour_block_rows",
           "neighbours_memory_bytes", "float32_dot_error"]

#: unit roundoff of float32
_U32 = 2.0**-24


def float32_dot_error(d: int) -> float:
    """Bound on |fl32(<a, b>) - <a, b>| / (|a| |b|) when a, b are rounded to float32 and the length-d inner
    product is summed in float32 in any order: Higham's gamma_d plus the two roundings, doubled for safety."""
    du = (d + 4) * _U32
    return 2.0 * du / (1.0 - du)

#: default rows per Gram block: a (block, K) float64 block is 128 MiB at K = 10^5
NEIGHBOUR_BLOCK_ROWS = 160

#: cap on the bytes of one (block, K) Gram block when the block size is chosen from K
_BLOCK_BYTES = 128 * 2**20


def neighbour_block_rows(K: int, block: int | None = None) -> int:
    """Rows per Gram block: ``block`` when given (checked), else as many as fit in 128 MiB (at least 1)."""
    if block is None:
        return max(1, min(max(K, 1), _BLOCK_BYTES // (8 * max(K, 1)), 4096))
    T = int(block)
    if T < 1:
        raise ValueError(f"block must be a positive number of rows, got {block}")
    return min(T, max(K, 1))


def neighbours_memory_bytes(K: int, d: int, *, block: int | None = None, pairs: int = 0) -> int:
    """Peak bytes of the functions of this module beyond the (K, d) input: its float32 copy, one (block, K) Gram block
    plus the same again for the temporaries of a top-m selection (an int64 index array and the values),
    the (K,) outputs, and 24 bytes per near pair (two int64 indices, one cosine), counted twice for the
    growth of the pair list."""
    T = neighbour_block_rows(K, block)
    return int(4 * K * d + T * K * (8 + 8 + 8 + 1) + 3 * 8 * K + 2 * 24 * pairs + 8 * d)


def row_max_cosine(points: np.ndarray, *, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Largest inner product of each row with another row, and which row attains it.

    Parameters
    ----------
    points : ndarray, shape (K, d)
    block : int, optional
        Rows per Gram block (default: :func:`neighbour_block_rows`).

    Returns
    -------
    cos : ndarray, shape (K,)
        :math:`c_i = \\max_{j \\ne i} \\langle x_i, x_j\\rangle` from the float64 Gram product (error at most
        ``gram_error_bound(d) |x_i| |x_j|``); ``-inf`` when K = 1.
    arg : ndarray of int64, shape (K,)
        The first j attaining it (-1 when K = 1).
    """
    X = _check_points(points)
    K = X.shape[0]
    T = neighbour_block_rows(K, block)
    cos = np.full(K, -np.inf)
    arg = np.full(K, -1, dtype=np.int64)
    if K < 2:
        return cos, arg
    G = np.empty((T, K))
    for a in range(0, K, T):
        n = min(T, K - a)
        Gv = G[:n]
        np.matmul(X[a:a + n], X.T, out=Gv)
        Gv[np.arange(n), np.arange(a, a + n)] = -np.inf
        arg[a:a + n] = np.argmax(Gv, axis=1)
        cos[a:a + n] = Gv[np.arange(n), arg[a:a + n]]
    return cos, arg


@numba.njit(cache=True)
def _exact_dots(X, I, J):
    """<x_i, x_j> for the pairs (I[p], J[p]), each by one sequential loop over the coordinates."""
    m = I.shape[0]
    out = np.empty(m)
    d = X.shape[1]
    for p in range(m):
        i = I[p]
        j = J[p]
        s = 0.0
        for c in range(d):
            s += X[i, c] * X[j, c]
        out[p] = s
    return out


def near_pairs(points: np.ndarray, threshold: float, *, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All pairs i < j with :math:`\\langle x_i, x_j\\rangle \\ge` ``threshold``, without a K x K matrix.

    Parameters
    ----------
    points : ndarray, shape (K, d)
    threshold : float
        Inner-product threshold t (for unit rows: the cosine; a chord r corresponds to t = 1 - r^2/2).
    block : int, optional
        Rows per Gram block (default: :func:`neighbour_block_rows`); the result does not depend on it.

    Returns
    -------
    pairs : ndarray of int64, shape (m, 2)
        i < j, in lexicographic order.
    cosines : ndarray, shape (m,)
        The inner products, recomputed from the coordinates (sequential sum over the d coordinates).
    """
    X = _check_points(points)
    t = float(threshold)
    if math.isnan(t):
        raise ValueError("threshold must be a number, got nan")
    K, d = X.shape
    T = neighbour_block_rows(K, block)
    # one margin for all pairs: err max_i |x_i|^2 >= err |x_i| |x_j|
    slack = float32_dot_error(d) * float(np.max(np.einsum("ij,ij->i", X, X))) if K else 0.0
    X32 = X.astype(np.float32)
    found_i, found_j = [], []
    G = np.empty((T, K), dtype=np.float32)
    for a in range(0, K, T):
        n = min(T, K - a)
        if a + 1 >= K:
            break
        # only the columns j > i are needed: those of the rows a.. start at a + 1
        Gv = G[:n, : K - a - 1]
        np.matmul(X32[a:a + n], X32[a + 1:].T, out=Gv)
        rows, cols = np.nonzero(Gv >= t - slack)
        cols = cols + a + 1
        keep = cols > rows + a
        found_i.append(rows[keep] + a)
        found_j.append(cols[keep])
    I = np.concatenate(found_i).astype(np.int64) if found_i else np.zeros(0, dtype=np.int64)
    J = np.concatenate(found_j).astype(np.int64) if found_j else np.zeros(0, dtype=np.int64)
    dots = _exact_dots(X, I, J)
    keep = dots >= t
    I, J, dots = I[keep], J[keep], dots[keep]
    order = np.lexsort((J, I))
    return np.column_stack([I[order], J[order]]), dots[order]


def nearest_neighbours(points: np.ndarray, rows: np.ndarray, m: int, *,
                       block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` other rows of largest inner product with each of ``rows``.

    Parameters
    ----------
    points : ndarray, shape (K, d)
    rows : array_like of int, shape (n,)
        Which rows to find neighbours for.
    m : int
        Neighbours per row, 1 <= m <= K - 1.
    block : int, optional
        Rows per Gram block (default: :func:`neighbour_block_rows`).

    Returns
    -------
    idx : ndarray of int64, shape (n, m)
        Neighbour indices of each row, by decreasing Gram inner product (never the row itself).
    cos : ndarray, shape (n, m)
        Their Gram inner products.
    """
    X = _check_points(points)
    K = X.shape[0]
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    m = int(m)
    if not 1 <= m <= K - 1:
        raise ValueError(f"m must be between 1 and K - 1 = {K - 1}, got {m}")
    T = neighbour_block_rows(K, block)
    idx = np.empty((rows.size, m), dtype=np.int64)
    cos = np.empty((rows.size, m))
    G = np.empty((T, K))
    for a in range(0, rows.size, T):
        r = rows[a:a + T]
        n = r.size
        Gv = G[:n]
        np.matmul(X[r], X.T, out=Gv)
        Gv[np.arange(n), r] = -np.inf
        part = np.argpartition(-Gv, m - 1, axis=1)[:, :m] if m < K - 1 else np.argsort(-Gv, axis=1)[:, :m]
        vals = np.take_along_axis(Gv, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[a:a + n] = np.take_along_axis(part, order, axis=1)
        cos[a:a + n] = np.take_along_axis(vals, order, axis=1)
    return idx, cos
