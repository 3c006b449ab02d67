r"""Softmax codes: maximise the smallest one-vs-rest distance.

.. math::
    \max_{W \in (S^{d-1})^K} \rho_{\text{one-vs-rest}}(W), \qquad
    \rho_{\text{one-vs-rest}}(W) = \min_k \operatorname{dist}\bigl(w_k, \operatorname{conv}\{w_j: j \ne k\}\bigr),

Definition 2.1 / Eq. (3) of "Generalized Neural Collapse for a Large Number of Classes"
(/work/shared/papers/generalized-neural-collapse-softmax-codes.txt). The distance is the Euclidean
distance itself (not its square), as in the paper's definition
:math:`\operatorname{dist}(v, \mathcal W) = \inf_{w \in \operatorname{conv}\mathcal W}\|v - w\|`.

Primary score ``one_vs_rest`` (maximised); also ``max_cosine``, ``min_angle_deg``, ``min_distance``.

Closed forms (Theorem 3.3; the numbers are derived here from the configurations the theorem names):
d = 2, the regular K-gon, :math:`\rho = 1 - \cos(2\pi/K)` (a vertex to the chord of its two
neighbours; a distance, not a squared distance); K <= d+1, the simplex, :math:`\rho = K/(K-1)`;
d+1 < K <= 2d, :math:`\rho = 1` (part of a cross-polytope). Theorem 3.8: for d = 2 or K <= d+1
the Tammes codes and the softmax codes coincide; the paper conjectures it in general.

Why the Tammes problem is a relaxation of sorts: with a unit vector :math:`u_k` per point,

.. math::
    \rho_k = \max_{\|u_k\| = 1} \min_{j \ne k} \langle u_k, w_k - w_j\rangle \ \ (\text{when } \rho_k > 0),

and the choice :math:`u_k = w_k` gives :math:`\rho_k \ge 1 - \max_j \langle w_k, w_j\rangle`, so
:math:`\rho_{\text{one-vs-rest}} \ge 1 - \max\cos`. The solver therefore runs the Tammes search
(the surrogate stages and SLP polish of :mod:`spherecodes.objectives._maxmin`) and then an SLP
polish of the lifted max-min problem in (W, U): rows :math:`\langle u_k, w_k - w_j\rangle \ge t`
linearised in tangent displacements of both :math:`w` and :math:`u`, with :math:`u_k` re-set
to the exact optimal direction :math:`(w_k - P_k)/\rho_k` (:math:`P_k` the nearest hull point,
from Wolfe's algorithm) at every step, and the step accepted on the exact
:math:`\rho_{\text{one-vs-rest}}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._lazy import LazyModule
from .base import Objective, Stage
from .riesz import separation_scores
from .tammes import hop_best

# torch, scipy, the SLP machinery and the one-vs-rest solver load on first use (see tammes.py)
torch = LazyModule("torch")
sp = LazyModule("scipy.sparse")
_maxmin = LazyModule("spherecodes.objectives._maxmin")
_one_vs_rest = LazyModule("spherecodes.validation.one_vs_rest")
_sphere = LazyModule("spherecodes.solvers.sphere")

__all__ = ["SoftmaxCode", "softmax_code_scores", "one_vs_rest_torch", "polish_softmax_code", "polish_one_vs_rest"]

log = logging.getLogger(__name__)


def softmax_code_scores(points: np.ndarray) -> dict[str, float]:
    """one_vs_rest (primary), max_cosine, min_angle_deg, min_distance of one code (K, d), float64."""
    sep = separation_scores(points)
    return {"one_vs_rest": _one_vs_rest.one_vs_rest(points), "max_cosine": sep["max_cosine"],
            "min_angle_deg": sep["min_angle_deg"], "min_distance": sep["min_distance"]}


def one_vs_rest_torch(X: torch.Tensor) -> torch.Tensor:
    r"""Per-point one-vs-rest distances (B, K), differentiable almost everywhere.

    The nearest hull weights :math:`\lambda^{(k)}` are computed without gradient (Wolfe's algorithm, float64)
    and :math:`\rho_k = \|x_k - \sum_j \lambda^{(k)}_j x_j\|` is evaluated in torch. By Danskin's theorem
    this has the gradient of the true distance wherever the nearest point is unique (always, for a convex
    hull) and the distance is positive: the value is exact and the gradient is the true gradient.
    """
    B, K, _ = X.shape
    lam = np.stack([_one_vs_rest.one_vs_rest_projection(X[b].detach().cpu().to(torch.float64).numpy())[1]
                    for b in range(B)])
    L = torch.from_numpy(lam).to(dtype=X.dtype, device=X.device)
    Y = X - L @ X
    return torch.linalg.vector_norm(Y, dim=-1)


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


def polish_one_vs_rest(W: np.ndarray, *, max_iter: int = 400, deadline: float | None = None):
    """The lifted SLP on the exact one-vs-rest distance from W (K, d) (see the module docstring)."""
    K, d = W.shape
    spacing = _sphere.typical_spacing(d, K)
    W2, info = _maxmin.trust_region_slp(W, value=_neg_one_vs_rest, model=_lifted_model, radius=1e-3 * spacing,
                                        max_radius=_maxmin.SLP_MAX_RADIUS * spacing, max_iter=max_iter,
                                        deadline=deadline)
    info["value"] = -info["value"]
    return W2, info


def polish_softmax_code(W: np.ndarray, *, max_iter: int = 400, deadline: float | None = None):
    """Tammes SLP polish, then the lifted SLP on the exact one-vs-rest distance, for one code (K, d)."""
    W, info_t = _maxmin.polish_tammes(W, max_iter=max_iter, deadline=deadline)
    W2, info = polish_one_vs_rest(W, max_iter=max_iter, deadline=deadline)
    return W2, {"iterations": info_t["iterations"] + info["iterations"],
                "evaluations": info_t["evaluations"] + info["evaluations"],
                "status": info["status"], "tammes_status": info_t["status"], "value": info["value"]}


class SoftmaxCode(Objective):
    """Maximise the minimum one-vs-rest distance (softmax code); see the module docstring.

    ``loss`` is :math:`-\\rho_{\\text{one-vs-rest}}` (B,), exact, with Danskin gradients
    (:func:`one_vs_rest_torch`); the solver's first phase uses the Tammes surrogate stages.
    """

    name = "softmax_code"
    description = "maximise the minimum distance from a point to the convex hull of the others (softmax code)"
    params = ()
    primary = "one_vs_rest"
    maximise = True

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        return -one_vs_rest_torch(X).amin(dim=1)

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        return softmax_code_scores(points)

    def stages(self, params: Mapping[str, Any], d: int, K: int) -> list[Stage]:
        return _maxmin.surrogate_stages(d, K, prefix="tammes-lse")

    def polish(self, X, params: Mapping[str, Any], *, gtol: float, max_iter: int, max_step: float,
               deadline: float | None = None):
        # Tammes polish (and basin hopping on the best restart), then the lifted one-vs-rest SLP per restart
        out, info = _maxmin.polish_tammes_batch(X, max_iter=min(max_iter, 400), deadline=deadline)
        if "penalty_probes" not in info:
            out, hop = hop_best(out, _maxmin.polish_tammes, _maxmin.max_cosine_np, trials=_maxmin.MBH_TRIALS,
                                max_iter=min(max_iter, 400), deadline=deadline)
            info["iterations"] += hop["iterations"]
            info["evaluations"] += hop["evaluations"]
        for b in range(out.shape[0]):
            if deadline is not None and time.perf_counter() > deadline:
                break
            W, inf = polish_one_vs_rest(out[b].numpy(), max_iter=min(max_iter, 400), deadline=deadline)
            out[b] = torch.from_numpy(np.ascontiguousarray(W))
            info["iterations"] += int(inf["iterations"])
            info["evaluations"] += int(inf["evaluations"])
        return out.to(X.device), info
