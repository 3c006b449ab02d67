r"""The max-min solver shared by the ``tammes`` and ``softmax_code`` strategies (:mod:`spherecodes.solvers.strategies`).

Both objectives maximise a minimum of many smooth functions of the points, so their optima are
not stationary points of a smooth loss. The search therefore runs in three steps:

1. **Surrogate stages** (batched, torch): the log of the Riesz s-energy over s,

   .. math::
       L_s(X) = \frac1s \log \sum_{i<j} \|x_i - x_j\|^{-s}
       \;\in\; \bigl[-\log \min_{i<j}\|x_i - x_j\|,\ -\log \min_{i<j}\|x_i - x_j\| + \tfrac{\log(K(K-1)/2)}{s}\bigr],

   a smooth max of :math:`-\log` of the chords, in :data:`STAGE_SHARPNESS` stages of increasing s
   (s = 2 kappa: :math:`r^{-s}` and :math:`e^{\beta\langle x_i,x_j\rangle}` weigh the nearest pairs alike when
   :math:`s = 2\beta(1-\cos)`). A soft first stage gives good basins on average (on S^2 it lands near the
   best-known code far more often than a sharp stage from random points), the sharper second one
   moves towards the max-min optimum of that basin. It is scale-free, which suits L-BFGS' stall rule.

2. **Polish** (float64, per restart): sequential linear programming with a trust region
   (:func:`trust_region_slp`). At the current points the objective is ``max_r g_r(W)`` over "rows" r
   (pair cosines for Tammes); the rows within reach of the maximum are linearised in tangent
   displacements ``z`` of the points, and the LP

   .. math::
       \min_{z, t}\ t + \mu \|z/r\|_1 \quad \text{s.t.}\quad g_r + \nabla g_r \cdot z \le t,\quad \|z\|_\infty \le r

   (HiGHS via :func:`scipy.optimize.linprog`) gives a step, which is retracted onto the spheres and
   accepted when the *true* objective decreases; the radius grows after good steps and shrinks
   after bad ones. The LP is scaled by the radius so that its tolerances are relative to the step,
   and the tiny l1 term (mu = 1e-7) keeps coordinates that do not help at zero, so that near a
   well-determined optimum the SLP converges quadratically, to ~1e-15 in the cosine (rather than to
   HiGHS' 1e-10 feasibility tolerance or to the surrogate's resolution). Rows that cannot reach the
   maximum within the radius are left out, so the LP only holds near-active rows (sparse). When the
   contact graph is dense (more than :data:`MAX_SLP_ROWS` near-active pairs, e.g. K = 100 in d = 10 or
   K = 1000), LPs get slow and degenerate: the batched penalty polish (:func:`penalty_polish`) runs first,
   lowering a target below the max cosine by L-BFGS on squared hinge violations, and the SLP then runs
   from there with a small radius where its LP has become small enough.

3. **Basin hopping inside the polish** (:func:`basin_hop`): the best restart of each polished batch gets
   :data:`MBH_TRIALS` steps of monotonic basin hopping (jitter all points by a fraction
   :data:`MBH_SCALES` of the typical spacing, or relocate one or two points; SLP again; keep if
   better). The solver's own perturbation rounds re-run the soft surrogate stage, which pulls children
   back to the same basin; hopping directly in the max-min landscape is what finds several best-known
   Tammes codes on S^2 (e.g. N = 26, 28, 54, 58, 60) that the random restarts miss. Callers can ask for
   Metropolis acceptance and a largest-empty-cap move (:func:`reinsert`), which ``tammes`` does in low d.

Displacements of point i are expressed in an orthonormal basis of the part of its tangent space
that the linearised rows can see (the full tangent space in low dimension; the span of the tangent
projections of its neighbours otherwise), so that K = 1000 points in d = 512 give small LPs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import linprog

from ..kernels.surrogate import SURROGATE_TILED_MIN_K, lse_log_chord_tiled
from ..objectives.tammes import masked_gram, max_cosine_torch
from .lbfgs import riemannian_lbfgs
from .sphere import typical_spacing
from .steps import Stage, StepResult, batch_reason

__all__ = [
    "lse_max_cosine",
    "max_cosine_torch",
    "surrogate_stages",
    "spread_exponents",
    "tangent_basis",
    "LinearModel",
    "trust_region_slp",
    "tammes_model",
    "max_cosine_np",
    "penalty_polish",
    "polish_tammes",
    "polish_tammes_batch",
    "basin_hop",
    "largest_hole",
    "contact_counts",
    "reinsert",
    "MAX_LP_NONZEROS",
]

log = logging.getLogger(__name__)

#: largest LP (non-zeros of the constraint matrix) the polish builds; a larger one shrinks the radius
MAX_LP_NONZEROS = 400_000

_TRACE: list | None = None  # debugging hook: a list collects (f, f_new, radius, predicted, ratio, |zhat|_1, rows)

#: HiGHS options: tight tolerances (the LP is scaled by the trust radius, see the module docstring)
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10, "presolve": True}


# ----------------------------------------------------------------------------- surrogate


def lse_max_cosine(X: torch.Tensor, beta: float) -> torch.Tensor:
    r"""Smooth max of the pair cosines, :math:`\frac1\beta\log\sum_{i\ne j} e^{\beta\langle x_i,x_j\rangle}`, (B,).

    Ordered pairs (each unordered pair twice: a constant ``log(2)/beta`` above the unordered sum).
    Computed with ``logsumexp``: no overflow for any beta.
    """
    B = X.shape[0]
    return torch.logsumexp(beta * masked_gram(X).reshape(B, -1), dim=1) / beta


@functools.lru_cache(maxsize=32)
def _triu(K: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    iu = torch.triu_indices(K, K, offset=1, device=device)
    return iu[0], iu[1]


def pair_cosines(X: torch.Tensor) -> torch.Tensor:
    """Cosines of the unordered pairs i < j, (B, K(K-1)/2)."""
    i, j = _triu(X.shape[1], str(X.device))
    return (X @ X.transpose(-1, -2))[:, i, j]


def lse_log_chord(X: torch.Tensor, s: "float | torch.Tensor") -> torch.Tensor:
    r"""Smooth :math:`-\log \min_{i<j} \|x_i - x_j\|`: :math:`\frac1s \log\sum_{i<j} \|x_i - x_j\|^{-s}`, (B,).

    The log of the Riesz s-energy (unordered pairs) over s, by ``logsumexp`` on :math:`-\frac s2 \log(2 - 2c_{ij})`;
    it exceeds :math:`-\log\min r` by at most :math:`\log(K(K-1)/2)/s`.
    Scale-free: its gradient is large while two points are close and decays as the code spreads, which
    suits L-BFGS' stall rule (a sharp log-sum-exp of the cosines has its largest gradient at the end).
    Coincident points are clamped to a chord of 1e-150 (finite loss, pushed apart).
    ``s`` may be a tensor (B,): one exponent per restart.
    """
    if X.shape[1] >= SURROGATE_TILED_MIN_K:
        # row blocks, never the K x K Gram nor the K(K-1)/2 pair vector (~40 K^2 bytes: 16 GB at K = 20,000)
        return lse_log_chord_tiled(X, s)
    sq = (2.0 - 2.0 * pair_cosines(X)).clamp_min(1e-300)
    if torch.is_tensor(s):
        s = s.to(dtype=sq.dtype, device=sq.device)
        return torch.logsumexp((-0.5 * s[:, None]) * torch.log(sq), dim=1) / s
    return torch.logsumexp((-0.5 * s) * torch.log(sq), dim=1) / s


#: sharpness kappa of the surrogate stages (s = 2 kappa); see the module docstring
STAGE_SHARPNESS = (16.0, 256.0)
#: iteration limit and stationarity tolerance of each surrogate stage (the SLP polish does the rest)
STAGE_MAX_ITER = 300
STAGE_GTOL = 1e-3


def spread_exponents(B: int, low: float, high: float) -> torch.Tensor:
    """Exponents (B,) log-spaced from ``low`` to ``high`` (restart b gets the b-th; ``low`` when B = 1), float64."""
    if B == 1:
        return torch.tensor([low], dtype=torch.float64)
    return torch.exp(torch.linspace(math.log(low), math.log(high), B, dtype=torch.float64))


def surrogate_stages(d: int, K: int, prefix: str = "lse",
                     first_spread: tuple[float, float] | None = None) -> list[Stage]:
    """Stages of :func:`lse_log_chord`, s = 2 kappa for kappa in :data:`STAGE_SHARPNESS` (see the module docstring).

    With ``first_spread = (low, high)`` the first stage gives each restart of a batch its own sharpness kappa,
    log-spaced from low to high (:func:`spread_exponents`; deterministic in the restart's index): softer stages
    land in the widest basins, sharper ones keep more of the start's structure, and on S^2 a batch that mixes
    them reaches the best-known Tammes codes of more N than any single kappa (bench/tammes.py).
    """
    stages = []
    for n, kappa in enumerate(STAGE_SHARPNESS):
        # exp(beta c) and r^-s weigh the nearest pairs alike when s = 2 beta (1 - c) = 2 kappa
        s = 2.0 * kappa
        if n == 0 and first_spread is not None:
            lo, hi = 2.0 * first_spread[0], 2.0 * first_spread[1]
            stages.append(Stage(f"{prefix}[s={lo:.4g}..{hi:.4g}]",
                                lambda X, lo=lo, hi=hi: lse_log_chord(X, spread_exponents(X.shape[0], lo, hi)),
                                max_iter=STAGE_MAX_ITER, gtol=STAGE_GTOL))
            continue
        stages.append(Stage(f"{prefix}[s={s:.4g}]", (lambda e: (lambda X: lse_log_chord(X, e)))(s),
                            max_iter=STAGE_MAX_ITER, gtol=STAGE_GTOL))
    return stages


# ----------------------------------------------------------------------------- tangent bases


def _householder_tangent(x: np.ndarray) -> np.ndarray:
    """Orthonormal basis (d, d-1) of x^perp (x unit): the last d-1 columns of a Householder reflection."""
    d = x.shape[0]
    e = np.zeros(d)
    i = int(np.argmax(np.abs(x)))
    e[i] = 1.0 if x[i] < 0 else -1.0
    v = x - e
    H = np.eye(d) - 2.0 * np.outer(v, v) / (v @ v)
    # H maps x to e (up to sign); its columns other than i span x^perp
    return np.delete(H, i, axis=1)


def tangent_basis(x: np.ndarray, directions: np.ndarray | None) -> np.ndarray:
    """Orthonormal basis (d, n) of the tangent space at x, or of the tangent projections of ``directions``.

    Parameters
    ----------
    x : ndarray (d,)
        Unit vector.
    directions : ndarray (m, d) or None
        Vectors whose inner products with the displacement matter; None or m >= d-1 gives the full
        tangent space (d-1 columns).
    """
    d = x.shape[0]
    if directions is None or directions.shape[0] >= d - 1:
        return _householder_tangent(x)
    P = directions - np.outer(directions @ x, x)
    # SVD (rank revealing): the left singular vectors of the non-negligible singular values span the projections
    U, S, _ = np.linalg.svd(P.T, full_matrices=False)
    keep = S > 1e-12 * max(float(S.max(initial=0.0)), 1e-300)
    return U[:, keep]


# ----------------------------------------------------------------------------- SLP driver


@dataclass
class LinearModel:
    """The linearised near-active rows at the current points.

    Attributes
    ----------
    values : ndarray (P,)
        Current row values g_r (the objective is their max).
    jac : scipy.sparse matrix (P, n)
        d g_r / d z for the n displacement coordinates.
    apply : callable
        ``apply(z) -> points`` retracts a displacement z (n,) onto the spheres.
    groups : ndarray (G, 2) of int
        Column ranges [start, stop) of the displacement blocks (one per point, or per auxiliary unit
        vector); the trust region bounds the l1 norm of each block.
    """

    values: np.ndarray
    jac: sp.spmatrix
    apply: Callable[[np.ndarray], np.ndarray]
    groups: np.ndarray


def trust_region_slp(W: np.ndarray, *, value: Callable[[np.ndarray], float],
                     model: Callable[[np.ndarray, float, float], "LinearModel | None"], radius: float,
                     max_radius: float, min_radius: float = 1e-13, max_iter: int = 500,
                     deadline: float | None = None, l1_weight: float = 1e-7,
                     stationary_tol: float = 1e-14) -> StepResult:
    """Minimise ``value(W) = max_r g_r(W)`` by sequential LP with a trust region on every block's l1 norm.

    Each block of displacement coordinates (a point's tangent step, in an orthonormal basis) is bounded
    by ``|z_block|_1 <= radius``, so a point moves by at most ``radius`` and a row whose block gradient
    has largest entry ``a`` changes by at most ``a * radius`` to first order, whatever the dimension.

    Parameters
    ----------
    W : ndarray (K, d)
        Start (unit rows).
    value : callable
        Exact objective (to minimise) of a (K, d) array.
    model : callable
        ``model(W, f, radius) -> LinearModel`` of the rows that can matter within ``radius``, or None when
        that LP would be too large at this radius.
    radius, max_radius, min_radius : float
        Initial, largest and stopping trust radius (l1 norm of each block's displacement).
    l1_weight : float
        Weight of the l1 norm of the scaled step in the LP objective (see the code comment).
    stationary_tol : float
        Stop when the LP (without the l1 term) predicts a decrease below ``stationary_tol * max(1, |f|)``.

    Returns
    -------
    StepResult
        ``points`` (K, d), ``iterations`` (LPs solved), ``evaluations``, ``value`` (the final ``value(W)``),
        ``stop_reason``, ``details["radius"]`` (the final trust radius).
    """
    f = value(W)
    r = radius
    mu = l1_weight
    info = {"iterations": 0, "evaluations": 1, "status": "iteration limit"}
    for _ in range(max_iter):
        if deadline is not None and time.perf_counter() > deadline:
            info["status"] = "time budget"
            break
        if r < min_radius:
            info["status"] = f"trust radius below {min_radius:g}"
            break
        lm = model(W, f, r)
        if lm is None:
            # too many near-active rows at this radius: try a smaller one
            r *= 0.25
            if r < min_radius:
                info["status"] = "LP too large"
                break
            continue
        n = lm.jac.shape[1]
        P = lm.values.shape[0]
        G = lm.groups.shape[0]
        # scaled LP: zhat = z / r = zp - zm with zp, zm >= 0, |zhat_block|_1 <= 1, and tau = (t - f) / r;
        # minimise tau + mu * |zhat|_1: the small l1 term keeps coordinates that do not help at zero, so
        # that steps are as short as the linear model allows (otherwise the LP vertex moves every free
        # coordinate to the edge of the trust region, and the second-order error of those moves ties the
        # convergence to the radius)
        sizes = lm.groups[:, 1] - lm.groups[:, 0]
        owner = np.repeat(np.arange(G), sizes)
        cols = np.concatenate([np.arange(a, b) for a, b in lm.groups]) if G else np.zeros(0, dtype=np.int64)
        blocks = sp.csr_matrix((np.ones(2 * cols.size), (np.concatenate([owner, owner]),
                                                          np.concatenate([cols, n + cols]))), shape=(G, 2 * n + 1))
        A = sp.vstack([sp.hstack([lm.jac, -lm.jac, -sp.csr_matrix(np.ones((P, 1)))]), blocks], format="csr")
        b = np.concatenate([(f - lm.values) / r, np.ones(G)])
        c = np.full(2 * n + 1, mu)
        c[-1] = 1.0
        bounds = [(0.0, 1.0)] * (2 * n) + [(None, None)]
        res = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs", options=_HIGHS)
        info["iterations"] += 1
        if res.status != 0 or res.x is None:
            log.debug("SLP: LP failed (%s); shrinking the radius", res.message)
            r *= 0.25
            continue
        zhat = res.x[:n] - res.x[n:2 * n]
        # l1 norm of each block (bincount, not reduceat: a block can be empty, e.g. K = 2 in softmax codes)
        block_l1 = np.bincount(owner, weights=np.abs(zhat[cols]), minlength=G) if G and n else np.zeros(1)
        tau = float(res.x[-1])
        predicted = -tau * r
        if predicted <= stationary_tol * max(1.0, abs(f)):
            if mu > 0.0:
                # confirm without the l1 term (it can hide a slow descent direction)
                mu = 0.0
                continue
            info["status"] = "stationary (the LP predicts no decrease)"
            break
        z = zhat * r
        W_new = lm.apply(z)
        f_new = value(W_new)
        info["evaluations"] += 1
        actual = f - f_new
        ratio = actual / predicted
        if _TRACE is not None:
            _TRACE.append((f, f_new, r, predicted, ratio, float(np.max(block_l1)), P))
        if actual > 0:
            W, f = W_new, f_new
            mu = l1_weight
            if ratio > 0.75 and np.max(block_l1) > 0.99:
                r = min(2.0 * r, max_radius)
            elif ratio < 0.25:
                r *= 0.5
        else:
            r *= 0.25
    return StepResult(points=W, iterations=info["iterations"], evaluations=info["evaluations"],
                      stop_reason=info["status"], value=f, details={"radius": r})


# ----------------------------------------------------------------------------- Tammes rows


def max_cosine_np(W: np.ndarray) -> float:
    """Max over pairs i < j of <w_i, w_j>, float64 (dense Gram; for the polish loop)."""
    C = W @ W.T
    np.fill_diagonal(C, -np.inf)
    return float(C.max())


def _retract_apply(W: np.ndarray, pts: np.ndarray, bases: list[np.ndarray], offsets: np.ndarray):
    def apply(z: np.ndarray) -> np.ndarray:
        out = W.copy()
        for p, Bp, o in zip(pts, bases, offsets):
            out[p] = W[p] + Bp @ z[o:o + Bp.shape[1]]
        return out / np.linalg.norm(out, axis=1, keepdims=True)
    return apply


def tammes_model(W: np.ndarray, f: float, r: float, *, max_nonzeros: int = MAX_LP_NONZEROS) -> LinearModel | None:
    """Linearised pair cosines within reach of the maximum ``f`` for a radius ``r``.

    Row (i, j): :math:`g = \\langle w_i, w_j\\rangle`, :math:`\\partial g / \\partial z_i = B_i^T w_j`.
    With :math:`\\|z_i\\|_1 \\le r` a pair changes by at most :math:`2r\\sin\\theta_{ij} + 2r^2`, so only pairs
    that can reach the (possibly lowered) maximum are kept.
    """
    K, d = W.shape
    C = W @ W.T
    np.fill_diagonal(C, -np.inf)
    nmax = d - 1
    # with |z_i|_1 <= r: |d<w_i, w_j>| <= r (|B_i^T w_j|_inf + |B_j^T w_i|_inf) + 2 r^2 <= 2 r sin(theta_ij) + 2 r^2
    second = 2.0 * r * r
    sin_top = math.sqrt(max(0.0, 1.0 - f * f))
    reach_top = 2.0 * r * sin_top + second
    cand = C >= f - 2.0 * r - second - reach_top - 1e-13
    np.fill_diagonal(cand, False)
    I, J = np.nonzero(np.triu(cand, 1))
    cij = C[I, J]
    reach = 2.0 * r * np.sqrt(np.clip(1.0 - cij * cij, 0.0, None)) + second
    keep = cij >= f - reach - reach_top - 1e-13
    I, J = I[keep], J[keep]
    if I.size == 0:
        return None
    # size of the LP before building it: point p gets min(d-1, degree) coordinates
    deg = np.bincount(np.concatenate([I, J]), minlength=K)
    ncoord = np.minimum(deg, nmax)
    if int(np.sum(ncoord[I] + ncoord[J])) > max_nonzeros:
        return None
    pts = np.flatnonzero(deg)
    # rows of each point, as (row index, other point) arrays, from one stable sort
    ends = np.concatenate([I, J])
    others = np.concatenate([J, I])
    row_of = np.concatenate([np.arange(I.size), np.arange(I.size)])
    order = np.argsort(ends, kind="stable")
    ends, others, row_of = ends[order], others[order], row_of[order]
    starts = np.searchsorted(ends, pts)
    stops = np.searchsorted(ends, pts, side="right")
    bases, offsets = [], np.zeros(pts.size, dtype=np.int64)
    rows, cols, vals = [], [], []
    n = 0
    for t, p in enumerate(pts.tolist()):
        nb = others[starts[t]:stops[t]]
        Bp = tangent_basis(W[p], W[nb] if nb.size < d - 1 else None)
        bases.append(Bp)
        offsets[t] = n
        g = W[nb] @ Bp  # (deg, n_p): d <w_p', w_q> / d z_p for each row of p
        rows.append(np.repeat(row_of[starts[t]:stops[t]], Bp.shape[1]))
        cols.append(np.tile(np.arange(n, n + Bp.shape[1]), nb.size))
        vals.append(g.ravel())
        n += Bp.shape[1]
    jac = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(I.size, n))
    groups = np.stack([offsets, offsets + np.array([Bp.shape[1] for Bp in bases])], axis=1)
    return LinearModel(values=C[I, J], jac=jac, apply=_retract_apply(W, pts, bases, offsets), groups=groups)


#: above this many near-active pairs the LP gets slow (dense contact graphs): the penalty polish runs first
MAX_SLP_ROWS = 800

#: initial and largest SLP trust radius (l1 norm of a point's step), in units of the typical spacing
SLP_RADIUS = 0.03
SLP_MAX_RADIUS = 0.15


def _hinge_loss(X: torch.Tensor, tau: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """sum_{i<j} relu((c_ij - tau) / delta)^2, (B,): zero iff every pair cosine is <= tau (scaled by the step delta)."""
    return torch.relu((pair_cosines(X) - tau[:, None]) / delta[:, None]).pow(2).sum(1)


def penalty_polish(X: torch.Tensor, *, max_probes: int = 40, lbfgs_iter: int = 200, deadline: float | None = None,
                   floor: float = 1e-13) -> StepResult:
    r"""Batched polish of the max cosine for dense contact graphs: targets below the current maximum.

    For each restart, with :math:`m` its max cosine and a step :math:`\delta`, L-BFGS minimises
    :math:`\sum_{i<j} \max(0, (c_{ij} - (m - \delta))/\delta)^2`, which is zero exactly when every pair is
    below the target. The result is kept when its max cosine is lower; :math:`\delta` doubles when the target
    was reached and is quartered when nothing improved, until it falls below ``floor * (1 + |m|)``.
    Cost per step is that of the surrogate (one batched K x K evaluation), with no LP, which suits codes whose
    near-active pairs are too many for the SLP (e.g. K = 100 in d = 10, or K = 1000).
    Returns a :class:`StepResult` with ``points`` (B, K, d), ``details["probes"]`` and ``details["values"]``
    (the max cosine of every restart, (B,)).
    """
    X = X.detach().to(torch.float64).clone()
    B, K, d = X.shape
    spacing = typical_spacing(d, K)
    m = max_cosine_torch(X)
    delta = 0.01 * (1.0 - m).clamp_min(1e-3)
    info = {"iterations": 0, "evaluations": 0, "probes": 0}
    reason = f"{max_probes} probes done"
    for _ in range(max_probes):
        active = delta > floor * (1.0 + m.abs())
        if not bool(active.any()):
            reason = "every target step below the floor"
            break
        if deadline is not None and time.perf_counter() > deadline:
            reason = "time budget"
            break
        idx = torch.nonzero(active).flatten()
        tau, dl = m[idx] - delta[idx], delta[idx]
        out = riemannian_lbfgs(lambda Y, t=tau, s=dl: _hinge_loss(Y, t, s), X[idx], max_iter=lbfgs_iter,
                               gtol=1e-12, max_step=0.1 * spacing, deadline=deadline)
        info["iterations"] += int(out.iterations.sum())
        info["evaluations"] += out.evaluations
        info["probes"] += 1
        m_new = max_cosine_torch(out.X)
        better = m_new < m[idx]
        reached = m_new <= tau + 0.1 * dl
        X[idx[better]] = out.X[better]
        m[idx[better]] = m_new[better]
        delta[idx] = torch.where(better & reached, 2.0 * dl, torch.where(better, dl, 0.25 * dl))
    return StepResult(points=X, iterations=info["iterations"], evaluations=info["evaluations"], stop_reason=reason,
                      details={"probes": info["probes"], "values": m})


def polish_tammes_batch(X: torch.Tensor, *, max_iter: int = 400, deadline: float | None = None,
                        max_slp_rows: int | None = None) -> StepResult:
    """Polish a batch (B, K, d): SLP per restart when the contact set is small, else the batched penalty polish
    first (then the SLP where its LP has become small enough).

    Returns a :class:`StepResult`: ``points`` (B, K, d) float64 on the CPU, ``details["statuses"]`` the stop
    reason of every restart, and ``details["penalty_probes"]`` when the penalty polish ran.
    """
    limit = MAX_SLP_ROWS if max_slp_rows is None else max_slp_rows
    X = X.detach().to("cpu", torch.float64)
    B, K, d = X.shape
    spacing = typical_spacing(d, K)
    W0 = X[0].numpy()
    lm = tammes_model(W0, max_cosine_np(W0), SLP_RADIUS * spacing)
    totals = {"iterations": 0, "evaluations": 0, "status": []}
    details: dict = {}
    if lm is None or lm.values.shape[0] > limit:
        pen = penalty_polish(X, deadline=deadline)
        X = pen.points
        totals["iterations"] += pen.iterations
        totals["evaluations"] += pen.evaluations
        details["penalty_probes"] = pen.details["probes"]
        radius = 1e-3 * spacing
    else:
        radius = SLP_RADIUS * spacing
    out = X.clone()
    for b in range(B):
        W = out[b].numpy()
        lm = tammes_model(W, max_cosine_np(W), radius, max_nonzeros=MAX_LP_NONZEROS)
        if lm is None or lm.values.shape[0] > limit:
            totals["status"].append("penalty polish only (contact set too large for the LP)")
            continue
        step = polish_tammes(W, max_iter=max_iter, deadline=deadline, radius=radius)
        out[b] = torch.from_numpy(np.ascontiguousarray(step.points))
        totals["iterations"] += int(step.iterations)
        totals["evaluations"] += int(step.evaluations)
        totals["status"].append(step.stop_reason)
    details["statuses"] = totals["status"]
    return StepResult(points=out, iterations=totals["iterations"], evaluations=totals["evaluations"],
                      stop_reason=batch_reason(totals["status"]) or "penalty polish", details=details)


def polish_tammes(W: np.ndarray, *, max_iter: int = 500, deadline: float | None = None,
                  radius: float | None = None) -> StepResult:
    """Exact local optimisation of the max cosine from W (K, d) by the trust-region SLP (``value``: its max cosine)."""
    K, d = W.shape
    W = W / np.linalg.norm(W, axis=1, keepdims=True)
    spacing = typical_spacing(d, K)
    step = trust_region_slp(W, value=max_cosine_np, model=tammes_model,
                            radius=SLP_RADIUS * spacing if radius is None else radius,
                            max_radius=SLP_MAX_RADIUS * spacing, max_iter=max_iter, deadline=deadline)
    step.value = max_cosine_np(step.points)
    return step


#: monotonic basin hopping in polish: trials on the best restart of a batch. Trials alternate between jitter
#: moves (every point by a tangent Gaussian of MBH_SCALES times the typical spacing, in turn) and relocation
#: moves (1 or 2 random points sent to random positions, then the sharp surrogate stage before the SLP)
MBH_TRIALS = 16
MBH_PATIENCE = 8
MBH_SCALES = (0.02, 0.05, 0.1, 0.2)


def data_rng(X: np.ndarray) -> np.random.Generator:
    """A generator seeded from the bytes of X: deterministic for the same input (the solver's seed fixes X)."""
    digest = hashlib.sha256(np.ascontiguousarray(X, dtype=np.float64).tobytes()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _relax(Y: np.ndarray, deadline: float | None) -> np.ndarray:
    """The last (sharpest) surrogate stage on one code: pulls relocated points into place before the SLP."""
    K, d = Y.shape
    s = 2.0 * STAGE_SHARPNESS[-1]
    out = riemannian_lbfgs(lambda Z: lse_log_chord(Z, s), torch.from_numpy(Y)[None], max_iter=100,
                           gtol=STAGE_GTOL, max_step=0.5 * typical_spacing(d, K), deadline=deadline)
    return out.X[0].numpy()


def largest_hole(W: np.ndarray, rng: np.random.Generator, *, candidates: int | None = None,
                 refine_iter: int = 60) -> np.ndarray:
    """Approximate centre (d,) of the largest empty spherical cap among the unit rows of W (m, d).

    The point farthest (in angle) from every row: the best of ``candidates`` uniform random points
    (default ``max(256, 16 m)``), refined by a few projected steps that lower a sharp log-sum-exp of its
    cosines to the rows (the centre of a largest cap is equidistant from its d or more nearest rows, a
    non-smooth point that plain gradient steps would circle around). Never worse than the best candidate.
    """
    m, d = W.shape
    n = max(256, 16 * m) if candidates is None else int(candidates)
    Y = rng.normal(size=(n, d))
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    worst = (Y @ W.T).max(axis=1) if m else np.full(n, -1.0)
    x = Y[int(np.argmin(worst))]
    best_x, best_v = x, float(worst.min())
    if m == 0:
        return best_x
    step = 0.25 * math.sqrt(max(1e-300, 1.0 - best_v * best_v))
    for _ in range(refine_iter):
        c = W @ x
        v = float(c.max())
        # softmax weights of the nearest rows: beta sets the cosine gap (~1e-3 of the cap size) that still counts
        beta = 1e3 / max(1e-12, 1.0 - v)
        p = np.exp(beta * (c - v))
        g = (p / p.sum()) @ W
        g -= (g @ x) * x
        gn = float(np.linalg.norm(g))
        if gn < 1e-15:
            break
        y = x - step * g / gn
        y /= np.linalg.norm(y)
        vy = float((W @ y).max())
        if vy < v:
            x = y
            if vy < best_v:
                best_x, best_v = y, vy
        else:
            step *= 0.5
            if step < 1e-9:
                break
    return best_x


def contact_counts(W: np.ndarray, rel_tol: float = 1e-6) -> np.ndarray:
    """Number of near-active pairs (cosine within ``rel_tol * (1 - max)`` of the max cosine) of every row, (K,)."""
    C = W @ W.T
    np.fill_diagonal(C, -np.inf)
    top = float(C.max())
    return np.sum(C >= top - rel_tol * max(1e-300, 1.0 - top), axis=1)


def reinsert(W: np.ndarray, n_move: int, rng: np.random.Generator) -> np.ndarray:
    """Move ``n_move`` points that have contacts to the centre of the largest empty cap, one after the other.

    The moved points are drawn with probability proportional to their number of near-active pairs
    (:func:`contact_counts`; the points with most contacts hold the rigid part of the code that limits the
    minimum distance), and each is moved to :func:`largest_hole` of the current code. The result is
    a start for the polish, not necessarily better than W.
    """
    K = W.shape[0]
    n_move = min(int(n_move), K - 1)
    counts = contact_counts(W).astype(np.float64)
    if counts.sum() <= 0:
        counts = np.ones(K)
    idx = rng.choice(K, size=n_move, replace=False, p=counts / counts.sum())
    out = W.copy()
    for i in idx:
        # the hole among *all* points, the moved one included: without it, the largest hole is the place it
        # leaves (its neighbours are at least the minimum distance away), and the move would undo itself
        out[i] = largest_hole(out, rng)
    return out


def basin_hop(W: np.ndarray, *, local: Callable, value: Callable[[np.ndarray], float], trials: int,
              rng: np.random.Generator, deadline: float | None = None, patience: int | None = None,
              temperature: float = 0.0, reinsertion: bool = False) -> StepResult:
    """Basin hopping from W (K, d): perturb the current code, re-optimise with ``local(W, deadline=) -> StepResult``.

    Moves: even trials jitter every point (scales :data:`MBH_SCALES` times the typical spacing); odd trials
    relocate one or two random points uniformly and relax with the sharp surrogate first (on S^2 these find
    the best-known Tammes codes for N = 26, 28, 54 where jitter alone stays in the start's basin). With
    ``reinsertion``, every third trial instead moves one or two points with contacts to the largest empty
    cap (:func:`reinsert`) and re-optimises from there directly.

    Acceptance: with ``temperature`` 0 (monotonic basin hopping) the current code is replaced only when
    ``value`` (to minimise) improves by a relative 1e-13; with ``temperature`` T > 0 a local optimum worse by
    ``delta`` is also accepted with probability ``exp(-delta / T)`` (Metropolis), which lets the search leave
    a deep basin through a slightly worse neighbouring one. Either way the best code seen is returned, so the
    result is never worse than W. Stops after ``trials`` trials or ``patience`` (default
    :data:`MBH_PATIENCE`) trials in a row without a new best. Returns a :class:`StepResult` with the best
    code, its ``value`` and ``details["improvements"]``, ``details["accepted_worse"]``.
    """
    K, d = W.shape
    spacing = typical_spacing(d, K)
    patience = MBH_PATIENCE if patience is None else int(patience)
    best, best_v = W, value(W)
    cur, cur_v = best, best_v
    info_total = {"iterations": 0, "evaluations": 0, "improvements": 0, "accepted_worse": 0}
    stale = 0
    period = 3 if reinsertion else 2
    reason = f"{trials} trials done"
    for t in range(trials):
        if stale >= patience:
            reason = f"no new best in {patience} trials"
            break
        if deadline is not None and time.perf_counter() > deadline:
            reason = "time budget"
            break
        stale += 1
        kind, cycle = t % period, t // period
        if kind == 0:
            noise = rng.normal(size=W.shape) * (MBH_SCALES[cycle % len(MBH_SCALES)] * spacing)
            noise -= np.sum(noise * cur, axis=1, keepdims=True) * cur
            Y = cur + noise
            Y /= np.linalg.norm(Y, axis=1, keepdims=True)
        elif kind == 1:
            Y = cur.copy()
            idx = rng.choice(K, size=min(K, 1 + cycle % 2), replace=False)
            fresh = rng.normal(size=(idx.size, d))
            Y[idx] = fresh / np.linalg.norm(fresh, axis=1, keepdims=True)
            Y = _relax(Y, deadline)
        else:
            Y = reinsert(cur, 1 + cycle % 2, rng)
        step = local(Y, deadline=deadline)
        Y = step.points
        info_total["iterations"] += int(step.iterations)
        info_total["evaluations"] += int(step.evaluations)
        v = value(Y)
        if v < best_v - 1e-13 * max(abs(best_v), 1e-300):
            best, best_v = Y, v
            info_total["improvements"] += 1
            stale = 0
        if v < cur_v - 1e-13 * max(abs(cur_v), 1e-300):
            cur, cur_v = Y, v
        elif temperature > 0.0 and math.isfinite(v) and v - cur_v < temperature * rng.exponential():
            # Metropolis: P(accept) = exp(-(v - cur_v) / T); equal codes (v == cur_v) are always taken
            info_total["accepted_worse"] += int(v > cur_v)
            cur, cur_v = Y, v
    return StepResult(points=best, iterations=info_total["iterations"], evaluations=info_total["evaluations"],
                      stop_reason=reason, value=best_v,
                      details={"improvements": info_total["improvements"],
                               "accepted_worse": info_total["accepted_worse"]})
