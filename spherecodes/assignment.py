r"""Class-to-codeword assignment at large K, in memory O(K (d + k) + nnz(S)).

The problem is the one of :func:`spherecodes.export.assign_classes`: with codewords
:math:`w_1, \dots, w_K` (rows of a (K, d) array, unit norm) and a symmetric class similarity S (K, K),
find the permutation :math:`\pi` (class a gets codeword :math:`\pi(a)`) maximising

.. math::
    f(\pi) = \sum_{a,b} S_{ab} \langle w_{\pi(a)}, w_{\pi(b)}\rangle = \langle A, W_\pi\rangle,
    \qquad W_\pi = (w_{\pi(1)}, \dots, w_{\pi(K)}), \quad A = S W_\pi

(ordered pairs, diagonal included). The dense path forms the K x K Gram and solves a dense linear
assignment problem per step (O(K^3)); here nothing K x K is formed:

1. **Linearisation on a sparse candidate set.** At :math:`\pi` the gradient is :math:`2 A W^T`, a rank-d
   matrix. For each class a the ``candidates`` codewords j with the largest :math:`\langle A_a, w_j\rangle`
   are found by row blocks (memory O(block K)); together with the current codeword of every class
   (so a perfect matching exists) they form a sparse bipartite graph, on which
   :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching` solves the linear assignment
   exactly. The move is kept when f increases.
2. **Exchanges.** Classes a and b swapping codewords :math:`x_a = w_{\pi(a)}`, :math:`x_b = w_{\pi(b)}`
   changes f by (exactly, for unit codewords and symmetric S)

   .. math::
       \Delta_{ab} = 2 \bigl\langle x_b - x_a,\;
           (A_a - S_{aa} x_a - S_{ab} x_b) - (A_b - S_{ab} x_a - S_{bb} x_b) \bigr\rangle,

   evaluated for the candidate pairs (b holds one of a's candidate codewords); the best improving,
   non-overlapping exchanges are applied and A is updated from the columns of S that changed.

Steps 1 and 2 alternate until neither improves f. S may be a dense array or any scipy.sparse matrix;
a sparse S (e.g. each class's nearest classes) keeps the memory linear in K.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import InvalidParameterError
from .export import Assignment

__all__ = ["assign_classes_sparse", "assignment_value", "candidate_codewords", "exchange_gains"]

log = logging.getLogger(__name__)


def _points(points: Any) -> np.ndarray:
    P = np.array(getattr(points, "points", points), dtype=np.float64)
    if P.ndim != 2 or P.shape[0] < 1 or not np.all(np.isfinite(P)):
        raise InvalidParameterError("code_or_points", f"array of shape {P.shape}",
                                    "pass a Code or a finite (K, d) array of codewords")
    return P


def _similarity(similarity: Any, K: int) -> sp.csr_matrix | np.ndarray:
    if sp.issparse(similarity):
        S = sp.csr_matrix(similarity, dtype=np.float64)
    else:
        S = np.asarray(similarity, dtype=np.float64)
    if S.ndim != 2 or S.shape != (K, K):
        raise InvalidParameterError("similarity", f"matrix of shape {S.shape}",
                                    f"pass a ({K}, {K}) matrix, one row and column per class")
    data = S.data if sp.issparse(S) else S
    if not np.all(np.isfinite(data)):
        raise InvalidParameterError("similarity", "matrix with NaN or inf", "every entry must be finite")
    asym = abs(S - S.T)
    asym = float(asym.max()) if asym.size or sp.issparse(asym) else 0.0
    scale = max(1.0, float(np.abs(data).max()) if data.size else 0.0)
    if asym > 1e-10 * scale:
        raise InvalidParameterError("similarity", f"matrix with max |S_ab - S_ba| = {asym:.3g}",
                                    "pass a symmetric matrix, e.g. (S + S.T) / 2")
    return S


def assignment_value(similarity: Any, points: Any, permutation: Any = None) -> float:
    r""":math:`f(\pi) = \langle S W_\pi, W_\pi\rangle` (ordered pairs, diagonal included), in O(nnz(S) d)."""
    W = _points(points)
    S = _similarity(similarity, W.shape[0])
    Wp = W if permutation is None else W[np.asarray(permutation)]
    return float(np.sum(np.asarray(S @ Wp) * Wp))


def candidate_codewords(A: np.ndarray, W: np.ndarray, k: int, *, block: int = 1024) -> np.ndarray:
    r"""For each row a of A, the indices of the k codewords with the largest :math:`\langle A_a, w_j\rangle`.

    Parameters
    ----------
    A : numpy.ndarray, shape (K, d)
    W : numpy.ndarray, shape (K, d)
    k : int
    block : int
        Rows of A per tile (memory O(block K)).

    Returns
    -------
    numpy.ndarray of int64, shape (K, min(k, K)), unordered within a row.
    """
    K = W.shape[0]
    k = min(int(k), K)
    out = np.empty((A.shape[0], k), dtype=np.int64)
    for b0 in range(0, A.shape[0], block):
        M = A[b0:b0 + block] @ W.T
        out[b0:b0 + block] = np.argpartition(-M, k - 1, axis=1)[:, :k] if k < K else np.arange(K)
    return out


def _linearised_step(S, W: np.ndarray, perm: np.ndarray, k: int) -> np.ndarray:
    """Exact linear assignment of max_pi' <S W_pi, W_pi'> restricted to candidate edges plus the current ones."""
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    K = W.shape[0]
    A = np.asarray(S @ W[perm])
    cand = candidate_codewords(A, W, k)
    rows = np.concatenate((np.repeat(np.arange(K), cand.shape[1]), np.arange(K)))
    cols = np.concatenate((cand.ravel(), perm))
    edge = np.unique(rows * K + cols)  # the current codeword is usually a candidate too
    rows, cols = edge // K, edge % K
    gain = np.einsum("ij,ij->i", A[rows], W[cols])
    # weights must be positive (a stored zero is no edge): shift, and maximise
    graph = sp.csr_matrix((gain - gain.min() + 1.0, (rows, cols)), shape=(K, K))
    _, col_of_row = min_weight_full_bipartite_matching(graph, maximize=True)
    return np.asarray(col_of_row, dtype=np.int64)


def exchange_gains(S, X: np.ndarray, A: np.ndarray, a: np.ndarray, b: np.ndarray,
                   diag: np.ndarray | None = None) -> np.ndarray:
    r"""Exact change of f when classes ``a[n]`` and ``b[n]`` exchange codewords, for every n (the module's
    :math:`\Delta_{ab}`; unit codewords, symmetric S).

    Parameters
    ----------
    S : (K, K) array or scipy.sparse matrix
    X : numpy.ndarray, shape (K, d)
        Codewords in class order, ``W[perm]``.
    A : numpy.ndarray, shape (K, d)
        ``S @ X``.
    a, b : numpy.ndarray of int, shape (n,)
    diag : numpy.ndarray, shape (K,), optional
        The diagonal of S.
    """
    if diag is None:
        diag = S.diagonal() if sp.issparse(S) else np.diag(S).copy()
    Sab = np.asarray(S[a, b]).ravel()
    ra = A[a] - diag[a, None] * X[a] - Sab[:, None] * X[b]
    rb = A[b] - Sab[:, None] * X[a] - diag[b, None] * X[b]
    return 2.0 * np.einsum("ij,ij->i", X[b] - X[a], ra - rb)


def _exchanges(S, W: np.ndarray, perm: np.ndarray, k: int, tol: float) -> list[tuple[int, int]]:
    """The improving non-overlapping exchanges among candidate pairs, best first (each delta is exact alone)."""
    K = W.shape[0]
    X = W[perm]
    A = np.asarray(S @ X)
    diag = S.diagonal() if sp.issparse(S) else np.diag(S).copy()
    owner = np.empty(K, dtype=np.int64)
    owner[perm] = np.arange(K)
    cand = candidate_codewords(A, W, k)
    a = np.repeat(np.arange(K), cand.shape[1])
    b = owner[cand.ravel()]
    keep = a != b
    a, b = a[keep], b[keep]
    delta = exchange_gains(S, X, A, a, b, diag)
    order = np.argsort(-delta)
    used = np.zeros(K, dtype=bool)
    swaps = []
    for idx in order:
        if delta[idx] <= tol:
            break
        i, j = int(a[idx]), int(b[idx])
        if used[i] or used[j]:
            continue  # its delta assumed i and j keep their codewords; wait for the next round
        swaps.append((i, j))
        used[i] = used[j] = True
    return swaps


def _swapped(perm: np.ndarray, swaps: list[tuple[int, int]]) -> np.ndarray:
    out = perm.copy()
    for i, j in swaps:
        out[[i, j]] = out[[j, i]]
    return out


def assign_classes_sparse(code_or_points: Any, similarity: Any, *, candidates: int = 32, max_iter: int = 100,
                          seed: int | None = None, restarts: int = 0) -> Assignment:
    """Large-K class-to-codeword assignment (see the module docstring).

    Parameters
    ----------
    code_or_points : Code or array_like, shape (K, d)
        Unit codewords.
    similarity : array_like or scipy.sparse matrix, shape (K, K)
        Symmetric class similarity (larger: the classes should get nearby codewords).
    candidates : int
        Codewords per class in the sparse linear assignment and in the exchange search.
    max_iter : int
        Cap on improving steps per start.
    seed : int, optional
        Seed of the random starts.
    restarts : int
        Random starting permutations besides the identity; the best result is kept (never worse than
        the identity).

    Returns
    -------
    spherecodes.export.Assignment
        The same result type as :func:`spherecodes.export.assign_classes`.
    """
    W = _points(code_or_points)
    K = W.shape[0]
    S = _similarity(similarity, K)
    for name, value, lo in (("candidates", candidates, 1), ("max_iter", max_iter, 0), ("restarts", restarts, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise InvalidParameterError(name, value, f"pass an integer >= {lo}")
    identity = np.arange(K, dtype=np.int64)
    identity_value = assignment_value(S, W)
    scale = float(abs(S).sum()) if sp.issparse(S) else float(np.abs(S).sum())
    tol = 1e-12 * max(1.0, scale)
    rng = np.random.default_rng(seed)
    starts = [identity] + [rng.permutation(K) for _ in range(int(restarts))]
    best_perm, best_value, total = identity, identity_value, 0
    for perm in starts:
        value = assignment_value(S, W, perm)
        its = 0
        while its < max_iter:
            improved = False
            cand = _linearised_step(S, W, perm, candidates)
            cand_value = assignment_value(S, W, cand)
            if cand_value > value + tol:
                perm, value, improved = cand, cand_value, True
                its += 1
            swaps = _exchanges(S, W, perm, candidates, tol)
            # all at once (their deltas interact through S), else the best one alone (its delta is exact)
            for chosen in (swaps, swaps[:1]) if swaps else ():
                swapped = _swapped(perm, chosen)
                swapped_value = assignment_value(S, W, swapped)
                if swapped_value > value + tol:
                    perm, value, improved = swapped, swapped_value, True
                    its += 1
                    break
            if not improved:
                break
        total += its
        if value > best_value:
            best_perm, best_value = perm, value
    log.debug("sparse assignment K=%d: identity %.6g -> %.6g in %d steps", K, identity_value, best_value, total)
    return Assignment(permutation=np.asarray(best_perm, dtype=np.int64), objective_value=float(best_value),
                            identity_value=float(identity_value), iterations=int(total))
