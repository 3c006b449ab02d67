r"""Tiled Riesz loss and gradient in torch: memory O(B K d + B T K), never a dense (B, K, K) tensor.

The solver's Riesz loss (see :class:`spherecodes.objectives.riesz.Riesz`) is

.. math::
    L(X) = \log \sum_{i<j} g(c_{ij}) \quad (s > 0), \qquad
    L(X) = \frac{1}{n} \sum_{i<j} g(c_{ij}) \quad (s \le 0),

with :math:`c_{ij} = \langle x_i, x_j\rangle`, :math:`g(c) = f_s(\rho(c))` (plus
:math:`f_s(\rho(-c))` for ``half_space``, the pair :math:`(x_i, -x_j)`), and n the number of
pair terms (K(K-1)/2, or twice that for half_space). Because L depends on X only through the
Gram matrix, its Euclidean gradient is

.. math::
    \nabla_{x_i} L = \sum_{j \ne i} G_{ij} x_j, \qquad G_{ij} = \partial L / \partial c_{ij},

so one row block of pairs (rows i in [a, b), all columns j) needs two matmuls — the Gram block
:math:`X_{[a,b)} X^T` (T x d x K) and :math:`G_{[a,b)} X` (T x K x d) — and O(B T K) memory.
Row blocks are evaluated one after the other and combined exactly like a log-sum-exp: each block
keeps its own shift :math:`M_b` (the largest log-term of the block, only when overflow is
possible), its shifted sum :math:`S_b` in **float64**, and its unnormalised gradient rows; the
combination rescales them by :math:`e^{M_b - M}` with :math:`M = \max_b M_b`. Because every
row of the gradient is complete within its block (all j), the gradient is computed in the same
pass as the loss: a loss + gradient costs the two matmuls above, a loss alone (line search) one.

The same partial sums, gathered in block order, give bit-identical results when the row blocks
are spread over several processes (:mod:`spherecodes.solvers.distributed`).

Conventions follow :func:`spherecodes.objectives.riesz.riesz_energy_torch`: chord
:math:`\rho = \sqrt{2 - 2c}` clamped below at :math:`\sqrt{\text{tiny}}` (euclidean), angle
:math:`2\,\mathrm{atan2}(\sqrt{2-2c}, \sqrt{2+2c})` with c clamped to
:math:`\pm(1 - 4\varepsilon)` (geodesic); derivatives are zero where a clamp is active, as
autograd gives for the dense path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ..errors import InvalidParameterError
from .memory import choose_tile

__all__ = ["RieszSpec", "riesz_loss_tiled", "riesz_loss_and_grad_tiled", "block_bounds", "BlockPartials",
           "riesz_block_partials", "combine_partials", "TILE_BUFFERS", "tile_rows"]

#: (B, T, K) work buffers alive at once in one block evaluation (used to size tiles)
TILE_BUFFERS = 4

#: for s up to this value (euclidean) the unshifted terms q^{-s/2} cannot overflow (q >= sqrt(tiny))
_NO_SHIFT_MAX_S = 2.0


_TILE_OVERRIDE: list[int | None] = [None]


@contextmanager
def tile_rows(tile: int | None) -> Iterator[None]:
    """Within the block, tiled evaluations that choose their own tile use ``tile`` rows per block.

    ``None`` restores the automatic choice. Used by ``spherecodes generate --tile``.
    """
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, int) or tile < 1):
        raise InvalidParameterError("tile", tile, "pass a positive number of rows per block")
    previous = _TILE_OVERRIDE[0]
    _TILE_OVERRIDE[0] = tile
    try:
        yield
    finally:
        _TILE_OVERRIDE[0] = previous


@dataclass(frozen=True)
class RieszSpec:
    """Which Riesz loss: exponent s, metric ``"euclidean"`` or ``"geodesic"``, half_space flag."""

    s: float = 1.0
    metric: str = "euclidean"
    half_space: bool = False

    def __post_init__(self):
        if not math.isfinite(float(self.s)):
            raise InvalidParameterError("s", self.s, "pass a finite number")
        if self.metric not in ("euclidean", "geodesic"):
            raise InvalidParameterError("metric", self.metric, "use 'euclidean' or 'geodesic'")

    @property
    def lse(self) -> bool:
        """True when the loss is the log of the energy (s > 0), False for the mean form."""
        return self.s > 0

    def n_terms(self, K: int) -> int:
        """Number of unordered pair terms in the energy (the divisor of the mean form)."""
        return K * (K - 1) // 2 * (2 if self.half_space else 1)


@dataclass
class BlockPartials:
    """What the row blocks [a_k, b_k) of one evaluation return before they are combined.

    Attributes
    ----------
    shift : torch.Tensor, shape (nb, B), float64
        Log-shift M_b of each block (zeros when no shift is needed, or for s <= 0).
    sums : torch.Tensor, shape (nb, B), float64
        Shifted sums over the block's ordered pairs: ``sum exp(v - M_b)`` (s > 0) or ``sum g`` (s <= 0).
    grads : list of torch.Tensor (B, T_k, d) or None
        Unnormalised gradient rows ``sum_j G~_ij x_j`` with the block's shift, in the compute dtype.
    """

    shift: torch.Tensor
    sums: torch.Tensor
    grads: list | None


def block_bounds(K: int, tile: int, start: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
    """Row blocks [a, b) of size ``tile`` covering [start, stop) (default all K rows), aligned on multiples of tile."""
    stop = K if stop is None else stop
    return [(a, min(a + tile, stop)) for a in range(start, stop, tile)]


def _diag_view(buf: torch.Tensor, a: int, K: int) -> torch.Tensor:
    """The entries (i, a + i) of a contiguous (B, T, K) block: the pairs of a point with itself."""
    B, T, _ = buf.shape
    return buf.view(B, T * K)[:, a::K + 1]


def _log_and_dlog(C: torch.Tensor, metric: str):
    """log of the distance and its derivative in c, both (B, T, K); the diagonal is left as is."""
    tiny = torch.finfo(C.dtype).tiny ** 0.5
    if metric == "euclidean":
        q = (2.0 - 2.0 * C)
        active = q >= tiny
        q.clamp_min_(tiny)
        logd = 0.5 * torch.log(q)
        dlog = torch.where(active, -1.0 / q, torch.zeros((), dtype=C.dtype, device=C.device))
        return logd, dlog
    lim = 1.0 - 4.0 * torch.finfo(C.dtype).eps
    active = (C >= -lim) & (C <= lim)
    cv = C.clamp(-lim, lim)
    qm, qp = 2.0 - 2.0 * cv, 2.0 + 2.0 * cv
    theta = 2.0 * torch.atan2(torch.sqrt(qm), torch.sqrt(qp))
    active &= theta >= tiny
    theta.clamp_min_(tiny)
    logd = torch.log(theta)
    # d theta / dc = -1 / sqrt(1 - c^2) and sqrt(1 - c^2) = sqrt(qm qp) / 2
    sin_theta = 0.5 * torch.sqrt(qm * qp)
    dlog = torch.where(active, -1.0 / (theta * sin_theta), torch.zeros((), dtype=C.dtype, device=C.device))
    return logd, dlog


def _block_general(C: torch.Tensor, spec: RieszSpec, a: int, K: int, want_grad: bool):
    """Any metric / half_space / s: log-domain terms. Returns (shift (B,), sums f64 (B,), coef (B,T,K) or None)."""
    s = float(spec.s)
    signs = (1.0, -1.0) if spec.half_space else (1.0,)
    logs = [_log_and_dlog(C if sg > 0 else -C, spec.metric) for sg in signs]
    B = C.shape[0]
    if spec.lse:
        vs = [-s * logd for logd, _ in logs]
        for v in vs:
            _diag_view(v, a, K).fill_(-math.inf)
        M = torch.stack([v.amax(dim=(1, 2)) for v in vs]).amax(dim=0)  # (B,)
        M = torch.where(torch.isfinite(M), M, torch.zeros_like(M))
        terms = [torch.exp(v - M[:, None, None]) for v in vs]
        total = sum(t.sum(dim=2).to(torch.float64).sum(dim=1) for t in terms)
        coef = None
        if want_grad:
            # d/dc of exp(v(±c) - M) = exp(.) * (-s) dlog(±c) * (±1)
            coef = sum(sg * (-s) * t * dlog for sg, t, (_, dlog) in zip(signs, terms, logs))
        return M.to(torch.float64), total, coef
    # mean form: g = -log rho (s = 0) or -rho^{|s|} (s < 0)
    if s == 0:
        terms = [-logd for logd, _ in logs]
        dterms = [sg * (-dlog) for sg, (_, dlog) in zip(signs, logs)]
    else:
        pw = [torch.exp(-s * logd) for logd, _ in logs]
        terms = [-p for p in pw]
        dterms = [sg * s * p * dlog for sg, p, (_, dlog) in zip(signs, pw, logs)]
    for t in terms:
        _diag_view(t, a, K).zero_()
    total = sum(t.sum(dim=2).to(torch.float64).sum(dim=1) for t in terms)
    coef = sum(dterms) if want_grad else None
    return torch.zeros(B, dtype=torch.float64, device=C.device), total, coef


def _block_euclidean_positive(C: torch.Tensor, spec: RieszSpec, a: int, K: int, want_grad: bool,
                              work: "list[torch.Tensor]"):
    """Fast path, euclidean chord and s > 0: terms q^{-s/2} with q = 2 - 2c, few passes, in place.

    C is 2 - 2c (half_space: the Gram block c), (B, T, K), and is overwritten; ``work`` holds spare
    (B, T, K) buffers.
    v = -(s/2) log q, so exp(v - M) = (q / q_min)^{-s/2} with M = -(s/2) log q_min; for s <= 2 the
    unshifted q^{-s/2} cannot overflow (q >= sqrt(tiny)), and the shift is skipped (M = 0).
    Returns (M (B,), row-block sums float64 (B,), coef (B, T, K) or None): coef / s is returned
    (the caller multiplies the small (B, T, d) product by s instead of the (B, T, K) block).
    """
    s = float(spec.s)
    tiny = torch.finfo(C.dtype).tiny ** 0.5
    B = C.shape[0]
    if spec.half_space:
        # C is the Gram block: 2 + 2c into a spare buffer, then 2 - 2c in place (same roundings as the dense path)
        qm = torch.mul(C, 2.0, out=work[1]).add_(2.0)
        qs = [C.mul_(-2.0).add_(2.0), qm]
    else:
        qs = [C]  # the caller's addmm already wrote 2 - 2c
    # the point with itself: q = +inf gives a zero term and a zero derivative; (x_i, -x_i) is excluded too
    for q in qs:
        _diag_view(q, a, K).fill_(math.inf)
    on_cpu = C.device.type == "cpu"
    masks = []
    for q in qs:
        # clamp coincident pairs only when there are any (reading the minimum is much cheaper than a
        # clamp pass on the CPU); on accelerators always (no host sync). Clamped pairs exert no force.
        m = None
        if not on_cpu or float(q.amin()) < tiny:
            if want_grad:
                m = q >= tiny
            q.clamp_min_(tiny)
        masks.append(m)
    p_bufs = [work[0], work[2]] if spec.half_space else [work[0]]
    if s > _NO_SHIFT_MAX_S:
        qmin = torch.stack([q.amin(dim=(1, 2)) for q in qs]).amin(dim=0)  # (B,)
        M = (-0.5 * s) * torch.log(qmin.to(torch.float64))
        scale = (1.0 / qmin)[:, None, None]
        ps = [torch.mul(q, scale, out=pb).pow_(-0.5 * s) for q, pb in zip(qs, p_bufs)]
    else:
        M = torch.zeros(B, dtype=torch.float64, device=C.device)
        if s == 1.0:
            ps = [torch.rsqrt(q, out=pb) for q, pb in zip(qs, p_bufs)]
        else:
            ps = [torch.pow(q, -0.5 * s, out=pb) for q, pb in zip(qs, p_bufs)]
    # row sums in the compute dtype (K terms each), then float64 across rows and blocks
    total = sum(p.sum(dim=2).to(torch.float64).sum(dim=1) for p in ps)
    coef = None
    if want_grad:
        # d/dc exp(v(+-c) - M) = (+-1) s exp(v - M) / q(+-c); the factor s is applied by the caller
        gs = [p.div_(q) for p, q in zip(ps, qs)]
        for g, m in zip(gs, masks):
            if m is not None:
                g.mul_(m)
        coef = gs[0].sub_(gs[1]) if spec.half_space else gs[0]
    return M, total, coef


def _flat_view(buf: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """A contiguous (B, t, K) view on the front of a preallocated buffer."""
    n = shape[0] * shape[1] * shape[2]
    return buf.view(-1)[:n].view(shape)


def riesz_block_partials(X: torch.Tensor, spec: RieszSpec, bounds: list[tuple[int, int]],
                         want_grad: bool) -> BlockPartials:
    """Evaluate the row blocks ``bounds`` of the pair interactions of X (B, K, d); see :class:`BlockPartials`."""
    B, K, d = X.shape
    fast = spec.metric == "euclidean" and spec.s > 0
    shifts, sums, grads = [], [], ([] if want_grad else None)
    T = max((b - a for a, b in bounds), default=0)
    # work buffers reused by every block (fresh large allocations cost page faults on the CPU)
    n_work = (3 if spec.half_space else 1) + 1 if fast else 1
    work = [torch.empty(B * T * K, dtype=X.dtype, device=X.device) for _ in range(n_work)]
    two = torch.full((1,), 2.0, dtype=X.dtype, device=X.device)
    for a, b in bounds:
        shape = (B, b - a, K)
        C = _flat_view(work[-1], shape)
        for k in range(B):
            if fast and not spec.half_space:
                torch.addmm(two, X[k, a:b], X[k].T, alpha=-2.0, out=C[k])  # 2 - 2 <x_i, x_j>
            else:
                torch.mm(X[k, a:b], X[k].T, out=C[k])  # Gram block
        if fast:
            M, S, coef = _block_euclidean_positive(C, spec, a, K, want_grad,
                                                   [_flat_view(w, shape) for w in work[:-1]])
        else:
            M, S, coef = _block_general(C, spec, a, K, want_grad)
        shifts.append(M)
        sums.append(S)
        if want_grad:
            if not fast:
                _diag_view(coef, a, K).zero_()
            G = torch.empty(B, b - a, d, dtype=X.dtype, device=X.device)
            for k in range(B):
                torch.mm(coef[k], X[k], out=G[k])
            if fast:
                G.mul_(float(spec.s))
            grads.append(G)
        del C, coef
    if not bounds:
        z = torch.zeros(0, B, dtype=torch.float64, device=X.device)
        return BlockPartials(z, z.clone(), grads)
    return BlockPartials(torch.stack(shifts), torch.stack(sums), grads)


def combine_partials(shift: torch.Tensor, sums: torch.Tensor, spec: RieszSpec, K: int):
    """Loss (B,) in float64 and the per-block gradient scale (nb, B) from all blocks' partials, in block order.

    s > 0: ``L = M + log(sum_b exp(M_b - M) S_b) - log 2`` (ordered pairs count every unordered pair twice);
    the gradient of block b is ``2 exp(M_b - M) / sum_b(...)`` times its unnormalised rows.
    s <= 0: ``L = sum_b S_b / (2 n)``, gradient scale ``1 / n`` (n = :meth:`RieszSpec.n_terms`).
    """
    if spec.lse:
        M = shift.amax(dim=0)
        w = torch.exp(shift - M)
        E = (w * sums).sum(dim=0)
        loss = M + torch.log(E) - math.log(2.0)
        scale = 2.0 * w / E
    else:
        n = spec.n_terms(K)
        loss = sums.sum(dim=0) / (2.0 * n)
        scale = torch.full_like(sums, 1.0 / n)
    return loss, scale


def _resolve_tile(X: torch.Tensor, tile: int | None, spec: RieszSpec) -> int:
    B, K, _ = X.shape
    if tile is None:
        tile = _TILE_OVERRIDE[0]
    if tile is None:
        buffers = TILE_BUFFERS * (2 if spec.half_space else 1) + (4 if spec.metric == "geodesic" else 0)
        return choose_tile(B, K, X.element_size(), X.device, buffers=buffers)
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
        raise InvalidParameterError("tile", tile, "pass a positive number of rows per block, or None to choose")
    return min(int(tile), K)


def riesz_loss_and_grad_tiled(X: torch.Tensor, s: float = 1.0, metric: str = "euclidean", half_space: bool = False,
                              *, tile: int | None = None, want_grad: bool = True):
    """Riesz loss (B,) and its Euclidean gradient (B, K, d) (or None), by row blocks of ``tile`` rows.

    Parameters
    ----------
    X : torch.Tensor, shape (B, K, d)
        Unit rows; any float dtype and device. Block sums are accumulated in float64.
    s, metric, half_space
        As for :class:`spherecodes.objectives.riesz.Riesz`.
    tile : int, optional
        Rows per block; None chooses it from the free memory (:func:`spherecodes.solvers.device.choose_tile`).
    want_grad : bool
        Also return the gradient (a second matmul per block).

    Returns
    -------
    loss : torch.Tensor, shape (B,), dtype of X
    grad : torch.Tensor, shape (B, K, d), or None
    """
    spec = RieszSpec(float(s), metric, bool(half_space))
    X = X.detach()
    B, K, d = X.shape
    T = _resolve_tile(X, tile, spec)
    bounds = block_bounds(K, T)
    part = riesz_block_partials(X, spec, bounds, want_grad)
    loss, scale = combine_partials(part.shift, part.sums, spec, K)
    grad = None
    if want_grad:
        grad = torch.empty_like(X)
        sc = scale.to(X.dtype)
        for k, (a, b) in enumerate(bounds):
            torch.mul(part.grads[k], sc[k][:, None, None], out=grad[:, a:b])
    return loss.to(X.dtype), grad


class _TiledRieszLoss(torch.autograd.Function):
    """Loss of :func:`riesz_loss_and_grad_tiled`; the gradient is computed in the forward block pass."""

    @staticmethod
    def forward(ctx, X, s, metric, half_space, tile, want_grad):
        loss, grad = riesz_loss_and_grad_tiled(X, s, metric, half_space, tile=tile, want_grad=want_grad)
        if want_grad:
            ctx.save_for_backward(grad)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad_out[:, None, None] * grad, None, None, None, None, None


def riesz_loss_tiled(X: torch.Tensor, s: float = 1.0, metric: str = "euclidean", half_space: bool = False,
                     tile: int | None = None) -> torch.Tensor:
    """Differentiable tiled Riesz loss, (B, K, d) -> (B,); same value as the dense ``Riesz.loss``.

    The gradient is computed during the forward pass only when X requires grad and grad mode is
    on (a line-search evaluation costs one matmul per block, a loss + gradient two); double
    backward is not supported.
    """
    want = bool(X.requires_grad and torch.is_grad_enabled())
    return _TiledRieszLoss.apply(X, float(s), metric, bool(half_space), tile, want)
