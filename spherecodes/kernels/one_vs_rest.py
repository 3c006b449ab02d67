r"""Distance of a point to the convex hull of the others (one-vs-rest), float64 numba kernels.

For rows :math:`w_1, \dots, w_K` of a (K, d) array the one-vs-rest distance of row k is

.. math::
    \rho_k = \operatorname{dist}\bigl(w_k, \operatorname{conv}\{w_j : j \ne k\}\bigr)
           = \min_{x \in \operatorname{conv} P_k} |x|, \qquad P_k = \{p_j = w_j - w_k : j \ne k\}.

**Wolfe's algorithm** (P. Wolfe, "Finding the nearest point in a polytope", Math. Programming 11
(1976) 128-149) finds the minimum-norm point of :math:`\operatorname{conv} P_k`: an exact active-set
method on the Gram matrix with a Cholesky factor of the active set, stopped when the Frank-Wolfe gap

.. math:: |x|^2 - \min_j \langle x, p_j\rangle \le \text{gap\_tol} \cdot \max(1, \max_j |p_j|^2)

(:func:`_wolfe_one`, :func:`_wolfe_many` on a full (K, K) Gram matrix).

**Without a K x K Gram** (:func:`hull_distances_blocked`) the same algorithm runs on a candidate set
:math:`C \subset \{j \ne k\}` (first the m nearest rows by inner product) with a |C| x |C| Gram
matrix, and its answer is checked against every row by blocks. This is exact, by the optimality
condition of the minimum-norm point:

*Claim.* Let :math:`x \in \operatorname{conv}(P_C) \subseteq \operatorname{conv}(P_k)` and
:math:`\epsilon \ge 0` with :math:`\langle x, p_j\rangle \ge |x|^2 - \epsilon` for **all** j != k. Then
:math:`|x| - \epsilon / |x| \le \rho_k \le |x|`.

*Proof.* :math:`\rho_k \le |x|` because x is a point of the hull. Any :math:`y = \sum_j \mu_j p_j` of
the hull (:math:`\mu \ge 0, \sum \mu_j = 1`) has :math:`\langle x, y\rangle = \sum_j \mu_j \langle x,
p_j\rangle \ge |x|^2 - \epsilon`, so by Cauchy-Schwarz :math:`|y| \ge (|x|^2 - \epsilon)/|x|`. QED.

So the rows outside C never need to enter the Gram matrix when they satisfy the check; with
:math:`\epsilon` the dense stopping tolerance, the candidate-set answer carries exactly the
certificate of the dense one (both are within :math:`\epsilon/|x|` of :math:`\rho_k`). A row that
violates it (:math:`\langle x, p_j\rangle < |x|^2 - \epsilon`: moving towards :math:`p_j` shortens x)
is added to C and the local solve repeated; C only grows, so this ends after at most K - 1 additions.
Since the distance to the hull of a subset is never smaller than to the hull of all, every
intermediate value is an upper bound on :math:`\rho_k`. For unit rows the nearest rows by inner
product are the natural first candidates: the point of the hull nearest to :math:`w_k` is a
combination of at most d + 1 rows (Carathéodory), usually among its near neighbours.

Two passes over all pairs dominate the cost, and both run as float32 matrix products, with float64
wherever a decision needs it:

1. *candidates*: one float32 Gram block of B rows against all K rows gives every row's m largest
   inner products (any m rows would be correct, so float32 is enough) and its max cosine
   :math:`c_k`; the lower bound :math:`\rho_k \ge (|w_k|^2 - c_k)/|w_k|` (the hyperplane through the
   nearest row separates :math:`w_k` from the hull) is lowered by the float32 rounding bound
   so that it stays valid, and lets :func:`min_hull_distance` skip rows that cannot be the minimum;
2. *check*: :math:`\langle x, w_j\rangle` for all j from one float32 product; a row whose float32
   value clears the threshold by more than the float32 rounding bound
   :math:`2 (d + 4) u_{32} |x| |w_j|` (Higham's inner-product bound plus the two roundings to float32)
   satisfies the check; every other row is recomputed in float64 from the coordinates and decided
   exactly as the dense solver decides.

The local solves are the dense kernel :func:`_wolfe_one` on the float64 rows of the candidate set.
Memory: O(K d) for the rows (and their float32 copy), O(K m) int32 candidate lists, O(B K) for one
block of B points, O(B m (m + d)) for the local problems.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .neighbours import float32_dot_error

__all__ = ["WOLFE_GAP_TOL", "wolfe_lazy", "hull_distances_blocked", "min_hull_distance", "default_candidates",
           "hull_distances_memory_bytes", "float32_dot_error"]

#: Wolfe stopping rule: |x|^2 - min_j <x, p_j> <= WOLFE_GAP_TOL * max(1, max_j |p_j|^2) (a certified bound:
#: the true distance is >= min_j <x, p_j> / |x|, so the reported distance is within gap / |x| of it)
WOLFE_GAP_TOL = 1e-14

#: bytes of one (B, K) float32 block of products (caps the number B of points handled at once)
_CHECK_BLOCK_BYTES = 64 * 2**20

#: candidate rounds per point before giving up with an error (each adds at least one row)
_MAX_ROUNDS = 200


@numba.njit(cache=True)
def _chol_rebuild(G, k, S, s, L):
    """Cholesky factor of M = Q_S + 1 1^T, Q_ab = <p_a, p_b>; returns False when not positive definite."""
    gkk = G[k, k]
    for a in range(s):
        ia = S[a]
        for b in range(a + 1):
            ib = S[b]
            v = G[ia, ib] - G[ia, k] - G[ib, k] + gkk + 1.0
            for c in range(b):
                v -= L[a, c] * L[b, c]
            if a == b:
                if v <= 0.0:
                    return False
                L[a, a] = math.sqrt(v)
            else:
                L[a, b] = v / L[b, b]
    return True


@numba.njit(cache=True)
def _affine_minimiser(L, s, alpha, tmp):
    """alpha = M^{-1} 1 / (1^T M^{-1} 1): the min-norm point of the affine hull of the active set."""
    for a in range(s):
        v = 1.0
        for c in range(a):
            v -= L[a, c] * tmp[c]
        tmp[a] = v / L[a, a]
    for a in range(s - 1, -1, -1):
        v = tmp[a]
        for c in range(a + 1, s):
            v -= L[c, a] * alpha[c]
        alpha[a] = v / L[a, a]
    total = 0.0
    for a in range(s):
        total += alpha[a]
    for a in range(s):
        alpha[a] /= total


@numba.njit(cache=True)
def _drop_is_new(alpha, lam, s):
    """True when the only blocking weight is the one of the point just added (index s-1, weight 0)."""
    for a in range(s - 1):
        if alpha[a] <= 1e-15 and lam[a] - alpha[a] > 0.0 and lam[a] == 0.0:
            return False
    return alpha[s - 1] <= 1e-15 and lam[s - 1] == 0.0


@numba.njit(cache=True)
def _fill_row(X, G, filled, r):
    """Row and column r of the Gram matrix G of the rows of X, computed once (lazy Gram matrix)."""
    if filled[r]:
        return
    K, d = X.shape
    for j in range(K):
        s = 0.0
        for c in range(d):
            s += X[r, c] * X[j, c]
        G[r, j] = s
        G[j, r] = s
    filled[r] = True


@numba.njit(cache=True)
def _wolfe_one(X, G, k, gap_tol, lam_out, filled):
    """Wolfe's algorithm for point k; writes the weights into lam_out (K,), returns (distance, iterations).

    ``filled`` empty: G is the full Gram matrix. Otherwise G is filled lazily (``filled[r]`` says whether row
    r is there): the diagonal and row k must be given, and the rows of the points that enter the active set
    are computed when they enter -- the algorithm reads no other entries.
    """
    K = X.shape[0]
    d = X.shape[1]
    lazy = filled.size > 0
    gkk = G[k, k]
    # start at the nearest other point
    j0 = -1
    best = np.inf
    pmax = 0.0
    for j in range(K):
        if j == k:
            continue
        q = G[j, j] - 2.0 * G[j, k] + gkk
        if q > pmax:
            pmax = q
        if q < best:
            best = q
            j0 = j
    tol = gap_tol * max(1.0, pmax)
    cap = min(K - 1, d + 1) + 1
    S = np.empty(cap, dtype=np.int64)
    lam = np.zeros(cap)
    alpha = np.zeros(cap)
    tmp = np.zeros(cap)
    L = np.zeros((cap, cap))
    S[0] = j0
    lam[0] = 1.0
    s = 1
    if lazy:
        _fill_row(X, G, filled, j0)
    _chol_rebuild(G, k, S, s, L)
    v = np.empty(K)
    iters = 0
    max_major = 50 * (K + d) + 100
    for _major in range(max_major):
        iters += 1
        # v_j = <x, p_j> with x = sum_a lam_a p_{S_a}
        c0 = 0.0
        for a in range(s):
            c0 += lam[a] * G[S[a], k]
        for j in range(K):
            v[j] = -c0 - G[j, k] + gkk
        for a in range(s):
            la = lam[a]
            row = S[a]
            for j in range(K):
                v[j] += la * G[row, j]
        xx = 0.0
        for a in range(s):
            xx += lam[a] * v[S[a]]
        jstar = -1
        vmin = np.inf
        for j in range(K):
            if j != k and v[j] < vmin:
                vmin = v[j]
                jstar = j
        if xx - vmin <= tol or xx <= tol:
            break
        in_set = False
        for a in range(s):
            if S[a] == jstar:
                in_set = True
        if in_set or s >= cap:
            break
        # append jstar to the Cholesky factor
        S[s] = jstar
        lam[s] = 0.0
        gjj = G[jstar, jstar] - 2.0 * G[jstar, k] + gkk + 1.0
        sq = 0.0
        for a in range(s):
            ia = S[a]
            val = G[ia, jstar] - G[ia, k] - G[jstar, k] + gkk + 1.0
            for c in range(a):
                val -= L[a, c] * L[s, c]
            L[s, a] = val / L[a, a]
            sq += L[s, a] * L[s, a]
        piv = gjj - sq
        if piv <= 1e-13 * gjj:
            # affinely dependent on the active set: no further progress is possible in float64
            break
        L[s, s] = math.sqrt(piv)
        s += 1
        if lazy:
            _fill_row(X, G, filled, jstar)
        stop = False
        # minor cycles
        for _minor in range(cap + 1):
            _affine_minimiser(L, s, alpha, tmp)
            amin = np.inf
            for a in range(s):
                if alpha[a] < amin:
                    amin = alpha[a]
            if amin > 1e-15:
                for a in range(s):
                    lam[a] = alpha[a]
                break
            theta = 1.0
            for a in range(s):
                if alpha[a] <= 1e-15:
                    den = lam[a] - alpha[a]
                    if den > 0.0:
                        th = lam[a] / den
                        if th < theta:
                            theta = th
            if theta <= 0.0 and _drop_is_new(alpha, lam, s):
                # the new point does not enter: rounding level reached
                s -= 1
                stop = True
                break
            for a in range(s):
                lam[a] = lam[a] + theta * (alpha[a] - lam[a])
            # drop the points whose weight reached zero (at least one)
            drop = -1
            dmin = np.inf
            for a in range(s):
                if lam[a] < dmin:
                    dmin = lam[a]
                    drop = a
            ns = 0
            for a in range(s):
                if a == drop or lam[a] <= 1e-15:
                    continue
                S[ns] = S[a]
                lam[ns] = lam[a]
                ns += 1
            s = ns
            total = 0.0
            for a in range(s):
                total += lam[a]
            for a in range(s):
                lam[a] /= total
            if not _chol_rebuild(G, k, S, s, L):
                stop = True
                break
        if stop:
            break
    # distance from the coordinates, with the final weights
    for j in range(K):
        lam_out[j] = 0.0
    for a in range(s):
        lam_out[S[a]] = lam[a]
    dist2 = 0.0
    for c in range(d):
        y = X[k, c]
        for a in range(s):
            y -= lam[a] * X[S[a], c]
        dist2 += y * y
    return math.sqrt(dist2), iters


@numba.njit(cache=True)
def wolfe_lazy(X, gap_tol, lam_out):
    """Distance of row 0 of X (n, d) to the hull of rows 1.., by :func:`_wolfe_one` on a lazily filled Gram
    matrix (the diagonal and row 0 now, the rows of the points that enter the active set when they enter);
    the weights go to lam_out (n,)."""
    n, d = X.shape
    G = np.empty((n, n))
    filled = np.zeros(n, dtype=np.bool_)
    _fill_row(X, G, filled, 0)
    for a in range(1, n):
        s = 0.0
        for t in range(d):
            s += X[a, t] * X[a, t]
        G[a, a] = s
    dist, _ = _wolfe_one(X, G, 0, gap_tol, lam_out, filled)
    return dist


@numba.njit(cache=True, parallel=True)
def _wolfe_many(X, G, gap_tol, ks):
    """Wolfe's algorithm for the points ks (n,): distances (n,), weights (n, K), major iterations (n,)."""
    K = X.shape[0]
    n = ks.shape[0]
    dist = np.empty(n)
    iters = np.zeros(n, dtype=np.int64)
    lam = np.zeros((n, K))
    for i in numba.prange(n):
        row = np.zeros(K)
        dist[i], iters[i] = _wolfe_one(X, G, ks[i], gap_tol, row, np.zeros(0, dtype=np.bool_))
        for j in range(K):
            lam[i, j] = row[j]
    return dist, lam, iters




@numba.njit(cache=True, inline="always")
def _heap_push(vals, idx, size, v, j):
    """Push (v, j) into the min-heap (vals, idx) of the largest values seen, of capacity vals.size."""
    cap = vals.shape[0]
    if size < cap:
        pos = size
        size += 1
        while pos > 0:
            parent = (pos - 1) // 2
            if vals[parent] <= v:
                break
            vals[pos] = vals[parent]
            idx[pos] = idx[parent]
            pos = parent
        vals[pos] = v
        idx[pos] = j
        return size
    if v <= vals[0]:
        return size
    pos = 0
    while True:
        c = 2 * pos + 1
        if c >= cap:
            break
        if c + 1 < cap and vals[c + 1] < vals[c]:
            c += 1
        if vals[c] >= v:
            break
        vals[pos] = vals[c]
        idx[pos] = idx[c]
        pos = c
    vals[pos] = v
    idx[pos] = j
    return size


@numba.njit(cache=True, parallel=True)
def _top_rows(H, ks, m, cand, cmax):
    """Row b of the (n, K) block H holds <w_ks[b], w_j>: its m largest j != ks[b] into cand[b, :m]
    (int32) and the largest value into cmax[b]."""
    n, K = H.shape
    for b in numba.prange(n):
        k = ks[b]
        vals = np.empty(m, dtype=np.float32)
        idx = np.empty(m, dtype=np.int64)
        size = 0
        best = -np.inf
        for j in range(K):
            if j == k:
                continue
            v = H[b, j]
            if v > best:
                best = v
            size = _heap_push(vals, idx, size, v, j)
        for a in range(m):
            cand[b, a] = idx[a]
        cmax[b] = best


@numba.njit(cache=True, parallel=True)
def _solve_local(X, ks, cand, counts, gap_tol, xs, dist, lam_out):
    """Wolfe on the candidate set of each k = ks[i]: rows [k, cand[i, :counts[i]]] with their own Gram
    matrix; the min-norm point x = sum lam (w_j - w_k) into xs[i], the distance into dist[i] and the
    weights (aligned with cand[i]) into lam_out[i]."""
    n = ks.shape[0]
    d = X.shape[1]
    for i in numba.prange(n):
        k = ks[i]
        c = counts[i]
        Xl = np.empty((c + 1, d))
        Xl[0] = X[k]
        for a in range(c):
            Xl[a + 1] = X[cand[i, a]]
        lam = np.zeros(c + 1)
        dist[i] = wolfe_lazy(Xl, gap_tol, lam)
        for t in range(d):
            y = -X[k, t]
            for a in range(c):
                y += lam[a + 1] * Xl[a + 1, t]
            xs[i, t] = y
        for a in range(c):
            lam_out[i, a] = lam[a + 1]


@numba.njit(cache=True, parallel=True)
def _violators(V, X, xs, ks, cand, counts, tol, margin, m_add, new, n_new):
    """Rows j that fail the optimality check of point i: <x, w_j - w_k> < |x|^2 - tol[i] (float64).

    V (n, K) float32 holds <x_i, w_j>; a row whose float32 value clears the threshold by margin[i]
    passes, every other one is recomputed from the coordinates. The m_add most violating rows not
    yet in the candidate set go to new[i, :n_new[i]]."""
    n, K = V.shape
    d = X.shape[1]
    for i in numba.prange(n):
        k = ks[i]
        xk = 0.0
        xx = 0.0
        for t in range(d):
            xk += xs[i, t] * X[k, t]
            xx += xs[i, t] * xs[i, t]
        n_new[i] = 0
        if xx <= tol[i]:
            continue
        thr = xx - tol[i] + xk
        in_set = np.zeros(0, dtype=np.int64)
        vals = np.empty(m_add)
        idx = np.empty(m_add, dtype=np.int64)
        size = 0
        for j in range(K):
            if j == k or V[i, j] >= thr + margin[i]:
                continue
            vj = 0.0
            for t in range(d):
                vj += xs[i, t] * X[j, t]
            if vj >= thr:
                continue
            if in_set.size == 0:
                in_set = np.sort(cand[i, :counts[i]].astype(np.int64))
            pos = np.searchsorted(in_set, j)
            if pos < in_set.size and in_set[pos] == j:
                continue  # the local solve stopped at its rounding level on this row
            size = _heap_push(vals, idx, size, -vj, j)  # the most negative margins are kept
        for a in range(size):
            new[i, a] = idx[a]
        n_new[i] = size


def default_candidates(K: int, d: int) -> int:
    """First candidate-set size: the d + 1 nearest rows (an active set has at most d + 1 rows, and rows
    found missing are added by the check), at least 32, at most K - 1."""
    return max(1, min(K - 1, max(32, d + 1)))


def _points_per_block(K: int, block: int | None) -> int:
    if block is not None:
        if int(block) < 1:
            raise ValueError(f"block must be a positive number of points, got {block}")
        return int(block)
    return max(1, min(512, _CHECK_BLOCK_BYTES // (4 * max(K, 1))))


def hull_distances_memory_bytes(K: int, d: int, *, candidates: int | None = None, block: int | None = None) -> int:
    """Peak bytes of :func:`hull_distances_blocked` / :func:`min_hull_distance` beyond the (K, d) float64
    input: its float32 copy, the int32 first candidate lists of all K rows and a few (K,) arrays; per point
    of a block of B, one float32 row of products against all K rows and its candidate list, weights and
    min-norm point (candidate sets up to 4 times their first size); per numba thread one local problem
    (rows, Gram matrix, Wolfe work arrays)."""
    B = min(_points_per_block(K, block), K)
    m0 = candidates or default_candidates(K, d)
    m = 4 * m0 + 1
    threads = numba.get_num_threads()
    per_point = 4 * K + 8 * (d + 3 * m + m0)
    local = 8 * (m * m + m * d + 8 * m)
    return int(4 * K * d + 4 * K * m0 + 8 * 6 * K + B * per_point + threads * local)


class _Candidates:
    """Growing int32 candidate lists (one row per point) with their lengths."""

    def __init__(self, first: np.ndarray):
        self.rows = first
        self.counts = np.full(first.shape[0], first.shape[1], dtype=np.int64)

    def add(self, i: int, new: np.ndarray) -> None:
        c = int(self.counts[i])
        if c + new.size > self.rows.shape[1]:
            grown = np.empty((self.rows.shape[0], max(2 * self.rows.shape[1], c + new.size)), dtype=np.int32)
            grown[:, :self.rows.shape[1]] = self.rows
            self.rows = grown
        self.rows[i, c:c + new.size] = new
        self.counts[i] = c + new.size


class _Problem:
    """The rows in float64 and float32, their squared norms, and the float32 rounding bound."""

    def __init__(self, points: np.ndarray, gap_tol: float, candidates: int | None, block: int | None):
        self.X = np.ascontiguousarray(points, dtype=np.float64)
        self.K, self.d = self.X.shape
        if self.K < 2:
            raise ValueError(f"need at least 2 rows, got {self.K}")
        self.X32 = self.X.astype(np.float32)
        self.nrm2 = np.einsum("ij,ij->i", self.X, self.X)
        self.nmax = float(np.sqrt(self.nrm2.max()))
        self.err32 = float32_dot_error(self.d)
        self.gap_tol = float(gap_tol)
        self.m0 = default_candidates(self.K, self.d) if candidates is None else max(1, min(self.K - 1, int(candidates)))
        self.B = _points_per_block(self.K, block)

    def first_candidates(self, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidates (n, m0) int32, rigorous upper bound on c_k (n,), |p_j|^2 max estimate (n,))."""
        n = ks.size
        cand = np.empty((n, self.m0), dtype=np.int32)
        cmax = np.empty(n, dtype=np.float32)
        cmin = np.empty(n)
        for a in range(0, n, self.B):
            H = self.X32[ks[a:a + self.B]] @ self.X32.T
            _top_rows(H, ks[a:a + self.B], self.m0, cand[a:a + self.B], cmax[a:a + self.B])
            cmin[a:a + self.B] = H.min(axis=1)
        nk = np.sqrt(self.nrm2[ks])
        upper_c = cmax.astype(np.float64) + self.err32 * nk * self.nmax
        pmax = self.nrm2[ks] + self.nmax**2 - 2.0 * cmin.astype(np.float64)
        return cand, upper_c, pmax

    def solve(self, ks: np.ndarray, cand: np.ndarray, pmax: np.ndarray) -> tuple[np.ndarray, list]:
        """Distances and supports of the points ks (n <= B), from their first candidate lists."""
        n = ks.size
        C = _Candidates(cand)
        tol = self.gap_tol * np.maximum(1.0, pmax)
        dist = np.empty(n)
        supports: list = [None] * n
        todo = np.arange(n)
        for _round in range(_MAX_ROUNDS):
            if todo.size == 0:
                return dist, supports
            rows = np.ascontiguousarray(C.rows[todo])
            counts = C.counts[todo]
            xs = np.empty((todo.size, self.d))
            dist_t = np.empty(todo.size)
            lam = np.zeros((todo.size, rows.shape[1]))
            _solve_local(self.X, ks[todo], rows, counts, self.gap_tol, xs, dist_t, lam)
            V = xs.astype(np.float32) @ self.X32.T
            margin = self.err32 * np.linalg.norm(xs, axis=1) * self.nmax
            new = np.empty((todo.size, self.m0), dtype=np.int64)
            n_new = np.zeros(todo.size, dtype=np.int64)
            _violators(V, self.X, xs, ks[todo], rows, counts, tol[todo], margin, self.m0, new, n_new)
            still = []
            for t, i in enumerate(todo):
                if n_new[t]:
                    C.add(i, new[t, :n_new[t]].astype(np.int32))
                    still.append(i)
                    continue
                pos = lam[t, :counts[t]] > 0.0
                dist[i] = dist_t[t]
                supports[i] = (rows[t, :counts[t]][pos].astype(np.int64), lam[t, :counts[t]][pos])
            todo = np.asarray(still, dtype=np.int64)
        raise RuntimeError(f"one-vs-rest candidate sets did not settle in {_MAX_ROUNDS} rounds "
                           f"for rows {ks[todo][:5].tolist()}")


def hull_distances_blocked(points: np.ndarray, ks, *, gap_tol: float = WOLFE_GAP_TOL, candidates: int | None = None,
                           block: int | None = None) -> tuple[np.ndarray, list]:
    """One-vs-rest distances of the rows ``ks`` without a K x K Gram matrix (see the module docstring).

    Parameters
    ----------
    points : ndarray, shape (K, d)
        float64 rows, K >= 2.
    ks : array_like of int, shape (n,)
        The rows to compute.
    gap_tol : float
        Relative Frank-Wolfe gap of the stopping rule (the dense solver's :data:`WOLFE_GAP_TOL`).
    candidates : int, optional
        First candidate-set size (default :func:`default_candidates`).
    block : int, optional
        Points handled at once (default: a (block, K) float32 product of at most 64 MiB).

    Returns
    -------
    distances : ndarray, shape (n,)
        :math:`\\rho_k`, recomputed from the coordinates with the final weights.
    supports : list of (ndarray of int64, ndarray)
        For each k: the rows with a positive weight and the weights (summing to 1): the nearest point
        of the hull of the others is ``weights @ points[rows]``.
    """
    prob = _Problem(points, gap_tol, candidates, block)
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    dist = np.empty(ks.size)
    supports: list = []
    for a in range(0, ks.size, prob.B):
        batch = ks[a:a + prob.B]
        cand, _, pmax = prob.first_candidates(batch)
        dist[a:a + batch.size], sup = prob.solve(batch, cand, pmax)
        supports.extend(sup)
    return dist, supports


def min_hull_distance(points: np.ndarray, *, gap_tol: float = WOLFE_GAP_TOL, candidates: int | None = None,
                      block: int | None = None) -> float:
    """:math:`\\min_k \\rho_k` without a K x K Gram matrix: rows in order of their lower bound
    :math:`(|w_k|^2 - c_k)/|w_k|` (rigorous, see the module docstring), stopping once the next bound is no
    smaller than the best distance found. Parameters as in :func:`hull_distances_blocked`."""
    prob = _Problem(points, gap_tol, candidates, block)
    K = prob.K
    everyone = np.arange(K, dtype=np.int64)
    cand, upper_c, pmax = prob.first_candidates(everyone)
    lower = (prob.nrm2 - upper_c) / np.sqrt(prob.nrm2)
    order = np.argsort(lower, kind="stable")
    best = math.inf
    for a in range(0, K, prob.B):
        ks = order[a:a + prob.B]
        ks = ks[lower[ks] < best]
        if ks.size == 0:
            break
        dist, _ = prob.solve(ks, cand[ks], pmax[ks])
        best = min(best, float(dist.min()))
    return best
