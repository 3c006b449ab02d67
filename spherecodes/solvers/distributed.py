r"""One very large configuration optimised across processes with ``torch.distributed``.

Every rank holds the same points X (B, K, d). The pair interactions are cut into the row blocks
[a, a + T) of :mod:`spherecodes.kernels.tiled` (all K columns each), and rank r evaluates a
contiguous share of the blocks: its partial sums (per block: log-shift and float64 sum) are
all-gathered **in block order** and combined by every rank exactly as the single-process tiled
loss does, and its gradient rows (which are complete: row i needs all j) are put into a zero
(B, K, d) tensor that is all-reduced (a sum of one non-zero and zeros is exact). Hence every rank
gets the same loss and gradient as one process with the same tile, to the last bit when the
per-block arithmetic is the same, and the batched L-BFGS run on every rank keeps identical points
without ever exchanging them.

Backends: gloo on CPUs, NCCL on GPUs (one GPU per rank, ``cuda:LOCAL_RANK``). Launch with
``torchrun --nproc-per-node N -m spherecodes generate riesz -d 128 -K 100000 --distributed``, or
call :func:`solve_distributed` in each process of a group already initialised. Without a
process group and without torchrun's environment the driver runs as a world of size 1.

A launch is checked before any work: every rank must have the same spherecodes and torch
versions, objective, parameters, d, K, restarts, seed, dtype, tile and the same starting points;
a mismatch raises :class:`~spherecodes.errors.InvalidParameterError` on every rank (no rank
waits forever).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .._version import __version__
from ..errors import InvalidParameterError, SolverError
from ..kernels.tiled import (
    TILE_BUFFERS,
    BlockPartials,
    RieszSpec,
    block_bounds,
    combine_partials,
    riesz_block_partials,
)
from .device import choose_tile, resolve_device, resolve_dtype
from .lbfgs import STOP_REASONS, riemannian_lbfgs
from .options import SearchOptions
from .result import SolveResult
from .sphere import random_points, typical_spacing

__all__ = ["distributed_loss_and_grad", "distributed_riesz_loss", "solve_distributed", "DistributedResult",
           "check_consistent_launch", "rank_blocks", "DISTRIBUTED_OBJECTIVES"]

log = logging.getLogger(__name__)

#: objectives :func:`solve_distributed` can run
DISTRIBUTED_OBJECTIVES = ("riesz",)


def _world(group) -> tuple[int, int]:
    """(rank, world size); (0, 1) when torch.distributed is not initialised."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def rank_blocks(n_blocks: int, rank: int, world: int) -> tuple[int, int]:
    """The contiguous range [first, last) of block indices that ``rank`` of ``world`` evaluates."""
    return n_blocks * rank // world, n_blocks * (rank + 1) // world


def _agreed_tile(X: torch.Tensor, tile: int | None, spec: RieszSpec, group) -> int:
    """The tile every rank uses: the given one, or the smallest of the ranks' automatic choices."""
    B, K, _ = X.shape
    if tile is not None:
        if isinstance(tile, bool) or not isinstance(tile, int) or tile < 1:
            raise InvalidParameterError("tile", tile, "pass a positive number of rows per block, or None to choose")
        return min(int(tile), K)
    buffers = TILE_BUFFERS * (2 if spec.half_space else 1) + (4 if spec.metric == "geodesic" else 0)
    T = choose_tile(B, K, X.element_size(), X.device, buffers=buffers)
    _, world = _world(group)
    # at least one block per rank, so that every rank has work
    T = min(T, -(-K // world))
    if world > 1:
        t = torch.tensor([T], dtype=torch.int64, device=X.device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN, group=group)
        T = int(t.item())
    return T


def _gather_partials(part: BlockPartials, n_blocks: int, group) -> tuple[torch.Tensor, torch.Tensor]:
    """All ranks' (shift, sums), each (n_blocks, B) in global block order."""
    rank, world = _world(group)
    if world == 1:
        return part.shift, part.sums
    B = part.shift.shape[1]
    width = max(rank_blocks(n_blocks, r, world)[1] - rank_blocks(n_blocks, r, world)[0] for r in range(world))
    mine = torch.zeros(2, width, B, dtype=torch.float64, device=part.shift.device)
    n_mine = part.shift.shape[0]
    mine[0, :n_mine] = part.shift
    mine[1, :n_mine] = part.sums
    parts = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(parts, mine, group=group)
    shift, sums = [], []
    for r in range(world):
        lo, hi = rank_blocks(n_blocks, r, world)
        shift.append(parts[r][0, : hi - lo])
        sums.append(parts[r][1, : hi - lo])
    return torch.cat(shift), torch.cat(sums)


def distributed_loss_and_grad(X: torch.Tensor, s: float = 1.0, metric: str = "euclidean", half_space: bool = False,
                              *, tile: int | None = None, want_grad: bool = True, group=None):
    """Riesz loss (B,) and Euclidean gradient (B, K, d) of X, the pair blocks shared among the ranks.

    Every rank must call it with the same X and arguments (collective). Same value as
    :func:`spherecodes.kernels.tiled.riesz_loss_and_grad_tiled` with the same tile (and as
    ``Riesz.loss``); with one process (or no process group) it is that function.

    Parameters
    ----------
    X : torch.Tensor, shape (B, K, d)
        Unit rows, identical on every rank (on the rank's device: CPU for gloo, its GPU for NCCL).
    s, metric, half_space
        As for :class:`spherecodes.objectives.riesz.Riesz`.
    tile : int, optional
        Rows per block; None: each rank's automatic choice, the smallest one agreed by all-reduce.
    want_grad : bool
        Also compute and all-reduce the gradient.
    group : ProcessGroup, optional
        Default: the default group.

    Returns
    -------
    loss : torch.Tensor (B,), dtype of X
    grad : torch.Tensor (B, K, d) or None
    """
    spec = RieszSpec(float(s), metric, bool(half_space))
    X = X.detach()
    B, K, d = X.shape
    rank, world = _world(group)
    T = _agreed_tile(X, tile, spec, group)
    bounds = block_bounds(K, T)
    lo, hi = rank_blocks(len(bounds), rank, world)
    part = riesz_block_partials(X, spec, bounds[lo:hi], want_grad)
    shift, sums = _gather_partials(part, len(bounds), group)
    loss, scale = combine_partials(shift, sums, spec, K)
    grad = None
    if want_grad:
        grad = torch.zeros_like(X)
        sc = scale.to(X.dtype)
        for k, (a, b) in enumerate(bounds[lo:hi]):
            torch.mul(part.grads[k], sc[lo + k][:, None, None], out=grad[:, a:b])
        if world > 1:
            dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=group)
    return loss.to(X.dtype), grad


class _DistributedRieszLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, s, metric, half_space, tile, want_grad, group):
        loss, grad = distributed_loss_and_grad(X, s, metric, half_space, tile=tile, want_grad=want_grad, group=group)
        if want_grad:
            ctx.save_for_backward(grad)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad_out[:, None, None] * grad, None, None, None, None, None, None


def distributed_riesz_loss(X: torch.Tensor, s: float = 1.0, metric: str = "euclidean", half_space: bool = False,
                           *, tile: int | None = None, group=None) -> torch.Tensor:
    """Differentiable (B,) loss of :func:`distributed_loss_and_grad` (collective: call it on every rank)."""
    want = bool(X.requires_grad and torch.is_grad_enabled())
    return _DistributedRieszLoss.apply(X, float(s), metric, bool(half_space), tile, want, group)


def _fingerprint(X: torch.Tensor) -> str:
    """sha256 of the points' bytes (float64, CPU): equal on two ranks iff the points are bit-identical."""
    arr = np.ascontiguousarray(X.detach().to("cpu", torch.float64).numpy())
    return hashlib.sha256(arr.tobytes()).hexdigest()[:16]


_LAUNCH_FIX = ("start every rank with the same spherecodes version, objective, parameters, d, K, restarts, "
               "seed, dtype and tile")


def check_consistent_launch(settings: Mapping[str, Any], group=None, *, fix: str = _LAUNCH_FIX) -> None:
    """Raise InvalidParameterError on every rank unless all ranks passed equal ``settings`` (collective).

    The message names the first differing setting, its value on rank 0 and on the first rank that
    differs, and ends with ``fix``.
    """
    rank, world = _world(group)
    if world == 1:
        return
    gathered: list[Any] = [None] * world
    dist.all_gather_object(gathered, dict(settings), group=group)
    ref = gathered[0]
    for r, other in enumerate(gathered[1:], start=1):
        for key in sorted(set(ref) | set(other)):
            if ref.get(key) != other.get(key):
                raise InvalidParameterError(
                    "distributed launch", f"{key}={other.get(key)!r} on rank {r} but {ref.get(key)!r} on rank 0", fix)


#: what :func:`solve_distributed` returns: a :class:`~spherecodes.solvers.result.SolveResult` whose distributed
#: fields (``world_size``, ``rank``, ``tile``, ``all_points``, ``loss``, ``best``, ``status``) are set
DistributedResult = SolveResult


def _maybe_init_process_group(device: torch.device):
    """Initialise the default group from torchrun's environment when there is one and none exists."""
    if not dist.is_available() or dist.is_initialized():
        return False
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return True


def solve_distributed(objective: str = "riesz", d: int = 3, K: int = 100, *, restarts: int | None = None,
                      seed: int | None = None, device: Any = None, dtype: Any = None, max_iter: int | None = None,
                      polish_iter: int = 3000, gtol: float = 1e-5, polish_gtol: float = 1e-11, tile: int | None = None,
                      init: np.ndarray | None = None, group=None, options: SearchOptions | None = None,
                      **params: Any) -> SolveResult:
    """Optimise one (batch of) large configuration(s) with the pair work split over the ranks.

    Every rank draws the same ``restarts`` random starts from ``seed`` (or takes ``init``), checks
    that all ranks agree (:func:`check_consistent_launch`), runs batched Riemannian L-BFGS in
    ``dtype`` on :func:`distributed_riesz_loss` (gtol, max_iter), then a float64 polish (polish_gtol,
    polish_iter). No basin hopping, no time budget (ranks must stop together).

    Parameters
    ----------
    objective : str
        One of :data:`DISTRIBUTED_OBJECTIVES`.
    d, K : int
        Ambient dimension (>= 2), number of points (>= 2).
    restarts, seed : int
        Default 1 and 0.
    device : str
        ``"cpu"`` (gloo) or ``"cuda"`` (NCCL; rank r uses ``cuda:LOCAL_RANK``).
    dtype : str, optional
        First-phase dtype (float32 on CUDA, float64 on CPU by default).
    tile : int, optional
        Rows per block (all ranks must agree; None: chosen from the free memory, smallest rank wins).
    init : ndarray (K, d) or (n, K, d), optional
    group : ProcessGroup, optional
        Default: the default group; initialised from torchrun's environment when absent.
    options : SearchOptions, optional
        restarts, seed, device, dtype, max_iter, tile and init as one object (keywords given override it);
        rounds, patience, time_budget and checkpoint are refused (ranks must stop together).
    **params
        The objective's parameters (riesz: s, metric, half_space).

    Returns
    -------
    SolveResult
        With the distributed fields set (``world_size``, ``rank``, ``tile``, ``all_points``, ``loss``,
        ``best``, ``status``); ``scores`` are the objective's float64 scores of the best restart.
    """
    from ..objectives import get_objective
    from .solve import check_size

    opts = SearchOptions.build(options, restarts=restarts, seed=seed, device=device, dtype=dtype, max_iter=max_iter,
                               tile=tile, init=init)
    for name in ("rounds", "patience", "time_budget", "checkpoint", "progress"):
        if getattr(opts, name) is not None:
            raise InvalidParameterError(name, getattr(opts, name), "not available in a distributed solve (ranks "
                                        "must stop together); leave it unset")
    if opts.resume:
        raise InvalidParameterError("resume", opts.resume, "a distributed solve keeps no checkpoint; leave it unset")
    restarts = 1 if opts.restarts is None else opts.restarts
    seed = 0 if opts.seed is None else opts.seed
    device = "cpu" if opts.device is None else opts.device
    max_iter = 2000 if opts.max_iter is None else opts.max_iter
    dtype, tile, init = opts.dtype, opts.tile, opts.init
    if objective not in DISTRIBUTED_OBJECTIVES:
        raise InvalidParameterError("objective", objective,
                                    f"distributed runs support: {', '.join(DISTRIBUTED_OBJECTIVES)}")
    obj = get_objective(objective)
    d, K = check_size(d, K)
    params = obj.normalise_params(**params)
    obj.validate_size(d, K, params)
    for name, value, minimum in (("restarts", restarts, 1), ("seed", seed, 0), ("max_iter", max_iter, 0),
                                 ("polish_iter", polish_iter, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise InvalidParameterError(name, value, f"pass an integer >= {minimum}")
    dev = resolve_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    first_dtype = resolve_dtype(dtype, dev)
    _maybe_init_process_group(dev)
    rank, world = _world(group)
    t0 = time.perf_counter()

    X = random_points(int(restarts), K, d, torch.Generator().manual_seed(int(seed)))
    if init is not None:
        arr = np.asarray(init, dtype=np.float64)
        arr = arr[None] if arr.ndim == 2 else arr
        if arr.ndim != 3 or arr.shape[1:] != (K, d):
            raise InvalidParameterError("init", f"array of shape {arr.shape}",
                                        f"pass shape ({K}, {d}) or (n, {K}, {d})")
        arr = arr / np.linalg.norm(arr, axis=-1, keepdims=True)
        n = min(len(arr), int(restarts))
        X[:n] = torch.from_numpy(arr[:n])
    X = X.to(device=dev, dtype=first_dtype)
    spec = RieszSpec(params["s"], params["metric"], params["half_space"])
    T = _agreed_tile(X, tile, spec, group)
    check_consistent_launch({
        "spherecodes": __version__, "torch": torch.__version__, "objective": objective, "params": dict(params),
        "d": d, "K": K, "restarts": int(restarts), "seed": int(seed), "dtype": str(first_dtype), "tile": T,
        "max_iter": int(max_iter), "polish_iter": int(polish_iter), "gtol": float(gtol),
        "polish_gtol": float(polish_gtol), "device_type": dev.type, "start": _fingerprint(X),
    }, group)
    step = 0.5 * typical_spacing(d, K)
    iterations = evaluations = 0
    out = None
    for dt, it, tol in ((first_dtype, max_iter, gtol), (torch.float64, polish_iter, polish_gtol)):
        if it == 0:
            continue
        Xd = X.to(dt)

        def loss_fn(Y, _spec=spec):
            return distributed_riesz_loss(Y, _spec.s, _spec.metric, _spec.half_space, tile=T, group=group)

        out = riemannian_lbfgs(loss_fn, Xd, max_iter=int(it), gtol=float(tol), max_step=step)
        X = out.X
        iterations += int(out.iterations.sum())
        evaluations += out.evaluations
    if out is None:  # no iteration asked: report the starting points
        with torch.no_grad():
            X = X.to(torch.float64)
            loss = distributed_riesz_loss(X, spec.s, spec.metric, spec.half_space, tile=T, group=group)
        status = ["iteration limit"] * X.shape[0]
    else:
        loss = out.loss
        status = [STOP_REASONS[int(c)] for c in out.status.tolist()]
    # the ranks never exchanged points: check that they still agree
    if world > 1:
        prints: list[Any] = [None] * world
        dist.all_gather_object(prints, _fingerprint(X), group=group)
        if len(set(prints)) != 1:
            raise SolverError(f"distributed ranks diverged: point fingerprints {prints}; the per-block arithmetic "
                              "differs between ranks (mixed devices or libraries?)")
    P = X.detach().to("cpu", torch.float64).numpy().copy()
    P /= np.linalg.norm(P, axis=-1, keepdims=True)
    L = loss.detach().to("cpu", torch.float64).numpy()
    best = int(np.argmin(np.where(np.isnan(L), math.inf, L)))
    elapsed = time.perf_counter() - t0
    log.info("distributed %s d=%d K=%d on %d rank(s): loss %.12g after %d iterations in %.1f s", objective, d, K,
             world, float(L[best]), iterations, elapsed)
    # only the best restart is scored (a float64 score of a very large K is itself costly)
    scores = dict(obj.score(P[best], params))
    return SolveResult(points=P[best], scores=scores, objective=obj.name, params=dict(params),
                       stop_reason=status[best], restart_scores=np.asarray([scores[obj.primary]], dtype=np.float64),
                       restarts=int(restarts), rounds=0, iterations=iterations, evaluations=evaluations,
                       time_s=elapsed, phase_times={}, seed=int(seed), device=str(dev),
                       dtype=str(first_dtype).replace("torch.", ""),
                       solver="spherecodes.solvers.distributed.solve_distributed (pair work split over the ranks)",
                       world_size=world, rank=rank, tile=T, all_points=P, loss=L, best=best, status=status)
