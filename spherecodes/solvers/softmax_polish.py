r"""The lifted SLP polish of softmax codes: the exact minimum one-vs-rest distance of a code.

The problem and the lifting are explained in :mod:`spherecodes.objectives.softmax_code`: rows
:math:`\langle u_k, w_k - w_j\rangle \ge t` are linearised in tangent displacements of both the points
:math:`w` and the directions :math:`u`, :math:`u_k` is re-set to the exact optimal direction
:math:`(w_k - P_k)/\rho_k` (:math:`P_k` the nearest hull point) at every step, and the trust-region SLP
(:func:`spherecodes.solvers.maxmin.trust_region_slp`) accepts a step on the exact
:math:`\rho_{\text{one-vs-rest}}`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..validation import one_vs_rest as _one_vs_rest
from . import maxmin as _maxmin
from . import sphere as _sphere
from .steps import StepResult

__all__ = ["polish_one_vs_rest", "polish_softmax_code"]


def _lifted_model(W: np.ndarray, f: float, r: float, *, max_nonzeros: int | None = None) -> _maxmin.LinearModel | None:
    """Linearised rows -<u_k, w_k - w_j> (to minimise) near the max ``f`` = -rho, for radius ``r``.

    Variables: tangent displacements z_p of the points (bases B_p) and v_k of the directions u_k
    (bases D_k). Row (k, j): value -<u_k, w_k - w_j>; gradient -B_k^T u_k (z_k), +B_j^T u_k (z_j),
    -D_k^T (w_k - w_j) (v_k).
    """
    if max_nonzeros is None:
        max_nonzeros = _maxmin.MAX_LP_NONZEROS
    K, d = W.shape
    dist, lam = _one_vs_rest.one_vs_rest_projection(W)
    rho = -f
    nmax = d - 1
    # with |block|_1 <= r: |d row| <= r (|D_k^T (w_k - w_j)|_inf + |B_k^T u_k|_inf + |B_j^T u_k|_inf) + O(r^2)
    reach = 4.0 * r + 6.0 * r * r
    ks = np.flatnonzero(dist <= rho + 2.0 * reach + 1e-13)
    ks = ks[dist[ks] > 0]
    if ks.size == 0:
        return None
    U = (W[ks] - lam[ks] @ W) / dist[ks, None]
    # rows (k, j) with <u_k, w_k - w_j> within reach of rho
    S = np.einsum("kd,kd->k", U, W[ks])[:, None] - U @ W.T  # <u_k, w_k - w_j>, (|ks|, K)
    S[np.arange(ks.size), ks] = np.inf
    a, J = np.nonzero(S <= rho + 2.0 * reach + 1e-13)
    if a.size == 0:
        return None
    Kk = ks[a]
    if a.size * 3 * nmax > 4 * max_nonzeros and a.size * 6 > max_nonzeros:
        return None
    # bases of the displacements: points that appear in rows, and the u of each row owner
    pts = np.unique(np.concatenate([Kk, J]))
    dirs_w: dict[int, list[np.ndarray]] = {int(p): [] for p in pts}
    for ai, k, j in zip(a.tolist(), Kk.tolist(), J.tolist()):
        dirs_w[k].append(U[ai])
        dirs_w[j].append(U[ai])
    col = 0
    Bw, offw = {}, {}
    for p in pts.tolist():
        V = np.unique(np.asarray(dirs_w[p]), axis=0)
        Bw[p] = _maxmin.tangent_basis(W[p], V if V.shape[0] < d - 1 else None)
        offw[p] = col
        col += Bw[p].shape[1]
    Du, offu = {}, {}
    for ai in np.unique(a).tolist():
        rows_j = J[a == ai]
        V = W[ks[ai]] - W[rows_j]
        Du[ai] = _maxmin.tangent_basis(U[ai], V if V.shape[0] < d - 1 else None)
        offu[ai] = col
        col += Du[ai].shape[1]
    n = col
    rows, cols, vals = [], [], []
    for row, (ai, k, j) in enumerate(zip(a.tolist(), Kk.tolist(), J.tolist())):
        u = U[ai]
        for block, off in ((-(Bw[k].T @ u), offw[k]), (Bw[j].T @ u, offw[j]), (-(Du[ai].T @ (W[k] - W[j])), offu[ai])):
            rows.append(np.full(block.size, row))
            cols.append(np.arange(off, off + block.size))
            vals.append(block)
    nnz = sum(v.size for v in vals)
    if nnz > max_nonzeros:
        return None
    jac = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(a.size, n))
    values = -S[a, J]

    def apply(z: np.ndarray) -> np.ndarray:
        out = W.copy()
        for p in pts.tolist():
            out[p] = W[p] + Bw[p] @ z[offw[p]:offw[p] + Bw[p].shape[1]]
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    groups = [(offw[p], offw[p] + Bw[p].shape[1]) for p in pts.tolist()]
    groups += [(offu[ai], offu[ai] + Du[ai].shape[1]) for ai in sorted(Du)]
    return _maxmin.LinearModel(values=values, jac=jac, apply=apply, groups=np.asarray(groups, dtype=np.int64))


def _neg_one_vs_rest(W: np.ndarray) -> float:
    return -_one_vs_rest.one_vs_rest(W)


def polish_one_vs_rest(W: np.ndarray, *, max_iter: int = 400, deadline: float | None = None) -> StepResult:
    """The lifted SLP on the exact one-vs-rest distance from W (K, d) (``value``: the final distance)."""
    K, d = W.shape
    spacing = _sphere.typical_spacing(d, K)
    step = _maxmin.trust_region_slp(W, value=_neg_one_vs_rest, model=_lifted_model, radius=1e-3 * spacing,
                                    max_radius=_maxmin.SLP_MAX_RADIUS * spacing, max_iter=max_iter,
                                    deadline=deadline)
    step.value = -step.value
    return step


def polish_softmax_code(W: np.ndarray, *, max_iter: int = 400, deadline: float | None = None) -> StepResult:
    """Tammes SLP polish, then the lifted SLP on the exact one-vs-rest distance, for one code (K, d)."""
    tammes = _maxmin.polish_tammes(W, max_iter=max_iter, deadline=deadline)
    step = polish_one_vs_rest(tammes.points, max_iter=max_iter, deadline=deadline)
    return StepResult(points=step.points, iterations=tammes.iterations + step.iterations,
                      evaluations=tammes.evaluations + step.evaluations, stop_reason=step.stop_reason,
                      value=step.value, details={"tammes_stop_reason": tammes.stop_reason})
