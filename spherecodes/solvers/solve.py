"""The global search: batched random restarts, a float64 polish, then basin hopping.

Round 0 optimises ``restarts`` random configurations at once (first phase in the
requested dtype, then a float64 polish), as the objective's strategy says
(:mod:`spherecodes.solvers.strategies`: stages, polish, and how many starts round 0 draws,
more for Tammes in low dimension); the pool keeps the best
``restarts``. Each later round perturbs the best distinct local optima found so far — half
of the children jitter every point by a tangent Gaussian of a random scale, the other half
re-insert one to three points at random positions — and optimises them as a new batch. The
search stops after ``patience`` rounds without improvement, after ``rounds`` rounds, or when the time budget is spent.

With ``checkpoint=PATH`` the state at the round boundaries (pool, scores, best code, random
generator) is saved to PATH (:mod:`spherecodes.solvers.checkpoint`), SIGINT / SIGTERM stop the
search at once and save it, and ``resume=True`` continues it: the resumed search ends at the
same points, bit for bit, as one that was never interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._version import __version__
from ..checks import assert_integer, assert_size
from ..errors import InvalidParameterError, ResourceError, SpherecodesError
from ..kernels.tiled import tile_rows
from ..objectives import get_objective
from . import checkpoint as ckpt
from .device import available_memory_bytes, check_memory, resolve_device, resolve_dtype
from .lbfgs import STOP_REASONS, riemannian_lbfgs
from .options import DEFAULTS, SearchOptions
from .result import SolveResult
from .sphere import project_tangent, random_points, retract, typical_spacing
from .strategies import NEAR_PAIR_MIN_K, get_strategy

__all__ = ["solve", "DEFAULTS", "check_size", "SearchInterrupted", "SearchOptions"]

SearchInterrupted = ckpt.SearchInterrupted

log = logging.getLogger(__name__)

def check_size(d: Any, K: Any) -> tuple[int, int]:
    """Validate the ambient dimension d >= 2 and the number of points K >= 2 (integers).

    Raises ResourceError when the (K, d) float64 array of the code alone would not fit in 80% of
    the free memory (no search, construction or certificate could then run).
    """
    d, K = assert_size(d, K)
    needed = 8 * K * d
    free = available_memory_bytes(torch.device("cpu"))
    if needed > 0.8 * free:
        raise ResourceError(f"invalid d={d}, K={K}: the {K} x {d} float64 code alone needs {needed / 2**30:.3g} GiB "
                            f"but {free / 2**30:.3g} GiB of memory is free; reduce K or d")
    return d, K


def _perturb(parents: torch.Tensor, n_children: int, generator: torch.Generator, spacing: float) -> torch.Tensor:
    """Children of the parent configurations (m, K, d), float64 on the CPU (for determinism)."""
    m, K, d = parents.shape
    kids = []
    for c in range(n_children):
        P = parents[c % m].clone()
        if c % 2 == 0:
            # jitter every point; scales log-spaced between 2% and 50% of the typical spacing
            frac = math.exp(math.log(0.02) + (math.log(0.5) - math.log(0.02)) * ((c // 2) % 8) / 7)
            noise = torch.randn(K, d, generator=generator, dtype=torch.float64) * (frac * spacing)
            P = retract(P[None], project_tangent(P[None], noise[None]))[0]
        else:
            # move one to three points to uniformly random positions
            n_move = min(1 + (c // 2) % 3, K)
            idx = torch.randperm(K, generator=generator)[:n_move]
            fresh = torch.randn(n_move, d, generator=generator, dtype=torch.float64)
            P[idx] = fresh / torch.linalg.vector_norm(fresh, dim=1, keepdim=True)
        kids.append(P)
    return torch.stack(kids)


def _check_init(init: Any, K: int, d: int) -> np.ndarray | None:
    """``init`` as unit rows, float64, shape (n, K, d); a bad array raises InvalidParameterError."""
    if init is None:
        return None
    shapes = f"pass a numeric array of shape ({K}, {d}) or (n, {K}, {d})"
    try:
        arr = np.array(init, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError("init", type(init).__name__, shapes) from None
    arr = arr[None] if arr.ndim == 2 else arr
    if arr.ndim != 3 or arr.shape[1:] != (K, d) or arr.shape[0] == 0:
        raise InvalidParameterError("init", f"array of shape {np.shape(init)}", shapes)
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError("init", "array with NaN or inf", "every coordinate must be finite")
    # divide by the largest entry first, so that neither huge nor subnormal rows over/underflow the norm
    scale = np.abs(arr).max(axis=-1, keepdims=True)
    if np.any(scale == 0):
        raise InvalidParameterError("init", "array with a zero row",
                                    "every starting point needs a non-zero norm to be projected on the sphere")
    arr = arr / scale
    return arr / np.linalg.norm(arr, axis=-1, keepdims=True)


def _repeated_rows(P: np.ndarray) -> np.ndarray:
    """Boolean mask (K,): rows equal to an earlier row (the first copy is not marked)."""
    _, first = np.unique(P + 0.0, axis=0, return_index=True)  # + 0.0 turns -0.0 into 0.0
    mask = np.ones(len(P), dtype=bool)
    mask[first] = False
    return mask


def _untangle(arr: np.ndarray, obj, params: dict, seed: int, spacing: float) -> np.ndarray:
    """Move starting points that coincide exactly (and antipodal ones where the score is not finite).

    Points that coincide exactly get identical gradients from every other point and no usable force
    from each other (the distance is clamped or its derivative undefined), so no gradient method can
    ever separate them: the solver would return the degenerate start. Exactly antipodal points are
    the same trap for objectives that identify x with -x (e.g. riesz with ``half_space=True``, where
    the score is then infinite). The copies are moved by a random tangent step of 1% of the typical
    spacing, drawn from their own generator so that the search's random stream is unchanged.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    out = arr.copy()
    for b in range(len(out)):
        P = out[b]
        move = _repeated_rows(P)
        lead = np.argmax(P != 0, axis=1)
        canon = P * np.sign(P[np.arange(len(P)), lead])[:, None]
        antipodal = _repeated_rows(canon) & ~move
        if antipodal.any():
            trial = _jitter(P, move, rng, spacing) if move.any() else P
            value = float(obj.score(trial, params)[obj.primary])
            if not math.isfinite(value):
                move |= antipodal
        if move.any():
            log.warning("init: moving %d of %d starting points that coincide with (or are antipodal to) another "
                        "point by 1%% of the typical spacing; a gradient method cannot separate them",
                        int(move.sum()), len(P))
            out[b] = _jitter(P, move, rng, spacing)
    return out


def _jitter(P: np.ndarray, move: np.ndarray, rng: np.random.Generator, spacing: float) -> np.ndarray:
    Q = P.copy()
    noise = rng.standard_normal((int(move.sum()), P.shape[1]))
    x = Q[move]
    noise -= (noise * x).sum(axis=1, keepdims=True) * x  # tangent at x
    noise *= (0.01 * spacing) / np.maximum(np.linalg.norm(noise, axis=1, keepdims=True), 1e-300)
    y = x + noise
    Q[move] = y / np.linalg.norm(y, axis=1, keepdims=True)
    return Q


def _open_checkpoint(checkpoint: Any, resume: bool) -> tuple[Path | None, ckpt.SearchState | None]:
    """(path, state to resume or None), after checking the request makes sense."""
    if checkpoint is None:
        if resume:
            raise InvalidParameterError("resume", True, "resume=True needs checkpoint=PATH, the file an earlier "
                                                        "search saved its state to (CLI: --checkpoint FILE)")
        return None, None
    if not isinstance(checkpoint, (str, os.PathLike)) or not str(checkpoint).strip():
        raise InvalidParameterError("checkpoint", checkpoint, "pass the path of a checkpoint file")
    path = ckpt.checkpoint_writable(checkpoint)
    if path.exists():
        if not resume:
            raise InvalidParameterError(
                "checkpoint", str(checkpoint), "the file exists (saved by an earlier search): pass resume=True "
                "(CLI: --resume) to continue that search, or delete the file to start a new one")
        return path, ckpt.load_checkpoint(path)
    if resume:
        log.warning("no checkpoint at %s yet: starting a new search (it will be saved there)", path)
    return path, None


def solve(objective: str, d: int, K: int, *, restarts: int | None = None, seed: int | None = None,
          device: Any = None, dtype: Any = None, rounds: int | None = None, patience: int | None = None,
          max_iter: int | None = None, time_budget: float | None = None, init: np.ndarray | None = None,
          progress: Callable[[dict], None] | None = None, checkpoint: "str | os.PathLike[str] | None" = None,
          resume: bool = False, tile: int | None = None, options: SearchOptions | None = None,
          **params: Any) -> SolveResult:
    """Find a good code for ``objective`` with K points on S^{d-1}.

    The search settings may come as keywords or as one :class:`~spherecodes.solvers.options.SearchOptions`
    (``options``); keywords that are given override the fields of ``options``.

    Parameters
    ----------
    objective : str
        Registry name (``spherecodes.objectives.available_objectives()``).
    d, K : int
        Ambient dimension (>= 2) and number of points (>= 2).
    restarts : int, optional
        Random starts optimised together in round 0 (batch size of every round).
    seed : int, optional
        Seed of every random draw; None draws one (recorded in the result), or takes the
        checkpoint's when resuming. Same seed, device, dtype, options and thread count give
        bit-identical points.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (default).
    dtype : str or torch.dtype, optional
        First-phase dtype (float32 on CUDA, float64 on CPU by default); the polish is float64.
    rounds, patience : int, optional
        Basin-hopping rounds at most, and rounds without improvement before stopping.
    max_iter : int, optional
        Iteration limit of the first phase (per stage and restart).
    time_budget : float, optional
        Seconds; the search stops at the first check after it is spent and returns the best so far.
        A resumed search counts the time of the runs before it.
    init : ndarray (K, d) or (B, K, d), optional
        Starting configuration(s) to include in round 0 (rows are normalised). Points that
        coincide exactly, which no gradient method can separate, are first moved apart by 1% of
        the typical spacing (see :func:`_untangle`).
    progress : callable, optional
        Called with a dict after every round (``{"round", "rounds", "best", "time_s"}``; a
        resumed search first reports the round it resumes after, with ``"resumed": True``).
    checkpoint : str or path, optional
        File that holds the search state (:mod:`spherecodes.solvers.checkpoint`). It is written
        after round 0, at most every ``checkpoint.SAVE_INTERVAL_S`` seconds at later round
        boundaries, and at the end; SIGINT and SIGTERM then stop the search at once, save the
        state of the last completed round and raise :class:`SearchInterrupted`. An existing file
        is an error unless ``resume`` is True.
    resume : bool
        Continue the search saved in ``checkpoint`` (a missing file starts a new search). The
        options that fix the random stream (objective, params, d, K, seed, restarts, max_iter,
        dtype, device type, init) must match the checkpoint; ``rounds``, ``patience`` and
        ``time_budget`` may change. A finished search returns its result at once.
    tile : int, optional
        Rows per block of the tiled pair evaluations (None: chosen from the free memory).
    options : SearchOptions, optional
        All of the above as one object.
    **params
        Objective parameters (e.g. ``s=1.0, metric="euclidean"`` for riesz).

    Returns
    -------
    SolveResult

    Raises
    ------
    InvalidParameterError
        Bad input, including an unusable or mismatched checkpoint.
    ResourceError
        The batch would not fit in memory.
    SearchInterrupted
        (a KeyboardInterrupt) SIGINT or SIGTERM arrived while a checkpoint was in use; the message
        says where the state was saved and how to resume.
    """
    t_start = time.perf_counter()
    opts = SearchOptions.build(options, restarts=restarts, seed=seed, device=device, dtype=dtype, rounds=rounds,
                               patience=patience, max_iter=max_iter, time_budget=time_budget, init=init,
                               progress=progress, checkpoint=checkpoint, resume=resume, tile=tile)
    obj = get_objective(objective)
    strategy = get_strategy(obj.name)
    d, K = check_size(d, K)
    params = obj.normalise_params(**params)
    obj.validate_size(d, K, params)
    opts = opts.checked()
    B = opts.restarts
    init_arr = _check_init(opts.init, K, d)
    path, state = _open_checkpoint(opts.checkpoint, opts.resume)
    seed = opts.seed
    if seed is None:
        seed = state.seed if state is not None else int(np.random.SeedSequence().entropy % (2**63))
    seed = assert_integer("seed", seed, 0, "seed must be a non-negative integer")
    if seed >= 2**63:
        raise InvalidParameterError("seed", seed, "seed must be below 2**63")
    opts = opts.build(opts, seed=seed)
    dev = resolve_device(opts.device)
    first_dtype = resolve_dtype(opts.dtype, dev)
    mode = strategy.near_pair_mode(d, K)
    if mode is not None:
        return _solve_near_pairs(obj, params, d, K, opts, mode, dev, t_start, init_arr)
    n_first = max(B, int(strategy.first_round_size(d, K, B)))
    check_memory(obj.memory_bytes(n_first, K, d, 8), dev, what=f"{objective} with K={K}, d={d}, {B} restarts"
                 + (f" ({n_first} random starts in round 0)" if n_first > B else ""), restarts=B)
    identity = {"objective": obj.name, "params": params, "d": d, "K": K, "seed": seed, "restarts": B,
                "max_iter": opts.max_iter, "dtype": str(first_dtype).replace("torch.", ""), "device_type": dev.type,
                "init_sha256": None if init_arr is None else hashlib.sha256(init_arr.tobytes()).hexdigest()}
    if state is not None:
        if init_arr is None:  # round 0 is done: the start is not needed again
            identity["init_sha256"] = state.init_sha256
        bad = state.mismatches(identity)
        if bad:
            raise InvalidParameterError("resume", True, f"the checkpoint {path} was saved by another search "
                                        f"({'; '.join(bad)}); pass the same options, or delete it to start afresh")
    search = _Search(obj, params, d, K, opts, strategy=strategy, dev=dev, first_dtype=first_dtype, path=path,
                     identity=identity, t_start=t_start)
    with tile_rows(opts.tile) if opts.tile is not None else contextlib.nullcontext():
        return search.run(init_arr, state)


def _solve_near_pairs(obj, params: dict, d: int, K: int, opts: SearchOptions, mode: str, dev: torch.device,
                      t_start: float, init_arr: np.ndarray | None) -> SolveResult:
    """The large-K search: one configuration by :func:`~spherecodes.solvers.prototypes.solve_prototypes`.

    Memory is O(K d + near pairs) (checked by the prototype solver before it allocates). Without a time
    budget it stops on a quality plateau. ``progress`` receives ``{"round": 0, "rounds": 0, "iteration", "best",
    "time_s", "phase": "near_pairs"}`` after every step. Restarts, rounds and checkpoints do not apply.
    """
    from .prototypes import solve_prototypes

    if opts.checkpoint is not None:
        raise InvalidParameterError("checkpoint", str(opts.checkpoint),
                                    f"{obj.name} with K={K} >= {NEAR_PAIR_MIN_K} is searched in one run by the "
                                    "near-pair solver, which keeps no checkpoint; drop it (use time_budget to "
                                    "bound the run)")
    user_progress = opts.progress
    budget = opts.time_budget
    if budget is not None:
        # the budget counts from the start of solve(), as for the restart search
        budget = max(budget - (time.perf_counter() - t_start), 1e-3)

    def report(iteration: int, best: float) -> None:
        if user_progress is not None:
            user_progress({"round": 0, "rounds": 0, "iteration": int(iteration), "best": float(best),
                           "time_s": time.perf_counter() - t_start, "phase": "near_pairs"})

    dtype = "float32" if opts.dtype is None else opts.dtype
    init = None if init_arr is None else init_arr[0]
    res = solve_prototypes(mode, d, K, time_budget=budget, seed=opts.seed, device=dev, dtype=dtype,
                           progress=report, init=init)
    points = np.ascontiguousarray(res.points, dtype=np.float64)
    t0 = time.perf_counter()
    scores = dict(obj.score(points, params))  # the objective's own float64 scores, as every other path
    scoring = time.perf_counter() - t0
    elapsed = time.perf_counter() - t_start
    best = float(scores[obj.primary])
    history = [{"round": 0, "time_s": float(h[0]), "iteration": int(h[1]), "best_max_cosine": float(h[2])}
               for h in res.history]
    return SolveResult(points=points, scores=scores, objective=obj.name, params=dict(params),
                       stop_reason=_NEAR_PAIR_STOPS.get(res.stop_reason, res.stop_reason),
                       restart_scores=np.asarray([best]), restarts=1, rounds=0, iterations=int(res.iterations),
                       evaluations=int(res.iterations), time_s=elapsed,
                       phase_times={"first_phase": float(res.time_s), "polish": 0.0, "scoring": scoring},
                       seed=int(opts.seed), device=str(dev), dtype=str(dtype).replace("torch.", ""),
                       history=history, first_round_starts=1,
                       solver="spherecodes.solvers.prototypes (near-pair max-cosine descent, O(K d + near pairs))")


#: readable stopping reasons of the near-pair solver
_NEAR_PAIR_STOPS = {"time_budget": "time budget spent", "plateau": "quality plateau (no time budget given)",
                    "max_iterations": "iteration limit"}


class _Search:
    """The state of one global search and the steps that advance it (see the module docstring)."""

    def __init__(self, obj, params: dict, d: int, K: int, options: SearchOptions, *, strategy, dev: torch.device,
                 first_dtype: torch.dtype, path: Path | None, identity: dict, t_start: float):
        """``options`` are checked (:meth:`SearchOptions.checked`) and carry the resolved seed."""
        B, time_budget = options.restarts, options.time_budget
        self.obj, self.params, self.d, self.K, self.B, self.seed = obj, params, d, K, B, options.seed
        self.strategy = strategy
        self.dev, self.first_dtype, self.max_iter = dev, first_dtype, options.max_iter
        self.n_rounds, self.patience, self.time_budget = options.rounds, options.patience, time_budget
        self.progress, self.path, self.identity, self.t_start = options.progress, path, identity, t_start
        # random starts of round 0 (the strategy may draw more than the pool keeps)
        self.n_first = max(B, int(strategy.first_round_size(d, K, B)))
        self.prior_elapsed = 0.0
        self.deadline = None if time_budget is None else t_start + time_budget
        self.gen = torch.Generator().manual_seed(self.seed)
        self.spacing = typical_spacing(d, K)
        self.max_step = 0.5 * self.spacing
        self.stages = strategy.stages(obj, params, d, K)
        self.phase_times = {"first_phase": 0.0, "polish": 0.0, "scoring": 0.0}
        self.iterations = 0
        self.evaluations = 0
        self.loss_history: list[float] = []
        self.restart_scores: list[float] = []
        self.history: list[dict] = []
        self.stale = 0
        self.done_rounds = 0
        self.pool_points: np.ndarray | None = None
        self.pool_scores: list[dict] = []
        self.best_points: np.ndarray | None = None
        self.best_scores: dict = {}
        self.snapshot: ckpt.SearchState | None = None  # state at the last completed round boundary
        self.last_save = -math.inf

    # ------------------------------------------------------------------ steps
    def elapsed(self) -> float:
        return self.prior_elapsed + (time.perf_counter() - self.t_start)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def local(self, X: torch.Tensor, record: bool) -> np.ndarray:
        """First phase (every stage) then the float64 polish of a batch X (n, K, d)."""
        t0 = time.perf_counter()
        Xd = X.to(device=self.dev, dtype=self.first_dtype)
        try:
            for stage in self.stages:
                out = riemannian_lbfgs(stage.loss, Xd, max_iter=stage.max_iter or self.max_iter,
                                       gtol=stage.gtol or DEFAULTS["first_gtol"], max_step=self.max_step,
                                       deadline=self.deadline)
                Xd = out.X
                self.iterations += int(out.iterations.sum())
                self.evaluations += out.evaluations
                if record:
                    self.loss_history.extend(out.history)
        except SpherecodesError:
            raise
        except (NotImplementedError, RuntimeError) as exc:
            if self.first_dtype == torch.float64:
                raise
            # torch has no kernel for some operation of this objective in a low precision (e.g. bfloat16 Cholesky)
            name = str(self.first_dtype).replace("torch.", "")
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidParameterError("dtype", name, f"the {self.obj.name} objective cannot run in {name} on "
                                        f"{self.dev.type} ({reason}); use float32 or float64") from None
        t1 = time.perf_counter()
        self.phase_times["first_phase"] += t1 - t0
        X64 = Xd.to(torch.float64)
        if self.first_dtype != torch.float64:
            # float32 rows are unit only to ~1e-7 in float64: the first retraction of the polish would change
            # the loss by more than its decrease, every line search would fail and the polish stop at once
            X64 = X64 / torch.linalg.vector_norm(X64, dim=-1, keepdim=True)
        step = self.strategy.polish(self.obj, X64, self.params, gtol=DEFAULTS["polish_gtol"],
                                    max_iter=DEFAULTS["polish_iter"], max_step=self.max_step, deadline=self.deadline)
        Xp = step.points
        self.iterations += int(step.iterations)
        self.evaluations += int(step.evaluations)
        self.phase_times["polish"] += time.perf_counter() - t1
        return Xp.detach().to("cpu", torch.float64).numpy()

    def score_all(self, P: np.ndarray) -> list[dict]:
        t0 = time.perf_counter()
        # renormalise in float64 so that stored points are unit to rounding
        P /= np.linalg.norm(P, axis=-1, keepdims=True)
        out = [self.obj.score(P[b], self.params) for b in range(P.shape[0])]
        self.phase_times["scoring"] += time.perf_counter() - t0
        return out

    def round0(self, init_arr: np.ndarray | None) -> None:
        """The random restarts (and the given starts); the pool keeps the best B."""
        X0 = random_points(self.n_first, self.K, self.d, self.gen)
        if init_arr is not None:
            n = min(len(init_arr), self.B)
            X0[:n] = torch.from_numpy(_untangle(init_arr[:n], self.obj, self.params, self.seed, self.spacing))
        obj = self.obj
        self.pool_points = self.local(X0, record=True)
        self.pool_scores = self.score_all(self.pool_points)
        self.restart_scores = [s[obj.primary] for s in self.pool_scores]
        if len(self.pool_scores) > self.B:
            keep = _ranked(obj, self.pool_scores)[: self.B]
            self.pool_points, self.pool_scores = self.pool_points[keep], [self.pool_scores[i] for i in keep]
        best_idx = _best_index(obj, self.pool_scores)
        self.best_points, self.best_scores = self.pool_points[best_idx].copy(), self.pool_scores[best_idx]
        self.history = [{"round": 0, "time_s": self.elapsed(), "best": self.best_scores[obj.primary]}]

    def perturbation_round(self, rnd: int) -> None:
        """One basin-hopping round: perturb the best distinct optima, optimise, keep the best B."""
        obj = self.obj
        order = _ranked_distinct(obj, self.pool_scores)[: DEFAULTS["parents"]]
        parents = torch.from_numpy(self.pool_points[order])
        kids = _perturb(parents, self.B, self.gen, self.spacing)
        kid_points = self.local(kids, record=False)
        kid_scores = self.score_all(kid_points)
        self.restart_scores.extend(s[obj.primary] for s in kid_scores)
        # the pool keeps the best B configurations seen so far
        pool_points = np.concatenate([self.pool_points, kid_points])
        pool_scores = self.pool_scores + kid_scores
        keep = _ranked(obj, pool_scores)[: self.B]
        self.pool_points, self.pool_scores = pool_points[keep], [pool_scores[i] for i in keep]
        if obj.better(self.pool_scores[0], self.best_scores, rtol=1e-13):
            self.best_points, self.best_scores = self.pool_points[0].copy(), self.pool_scores[0]
            self.stale = 0
        else:
            self.stale += 1
        self.done_rounds = rnd
        self.history.append({"round": rnd, "time_s": self.elapsed(), "best": self.best_scores[obj.primary]})

    def report(self, resumed: bool = False) -> None:
        if self.progress is not None:
            info = {"round": self.done_rounds, "rounds": self.n_rounds, "best": self.best_scores[self.obj.primary],
                    "time_s": self.history[-1]["time_s"]}
            if resumed:
                info["resumed"] = True
            self.progress(info)

    # ------------------------------------------------------------ checkpoints
    def take_snapshot(self, stop_reason: str = "") -> ckpt.SearchState:
        return ckpt.SearchState(
            **self.identity, round=self.done_rounds, stale=self.stale, pool_points=self.pool_points,
            pool_scores=list(self.pool_scores), best_points=self.best_points, best_scores=dict(self.best_scores),
            rng_state=self.gen.get_state().numpy().copy(), restart_scores=list(self.restart_scores),
            history=[dict(h) for h in self.history], loss_history=list(self.loss_history),
            iterations=self.iterations, evaluations=self.evaluations, phase_times=dict(self.phase_times),
            elapsed_s=self.elapsed(), stop_reason=stop_reason, version=__version__)

    def restore(self, state: ckpt.SearchState) -> None:
        self.done_rounds, self.stale = int(state.round), int(state.stale)
        self.pool_points, self.pool_scores = np.array(state.pool_points), list(state.pool_scores)
        self.best_points, self.best_scores = np.array(state.best_points), dict(state.best_scores)
        self.gen.set_state(torch.from_numpy(np.array(state.rng_state, dtype=np.uint8)))
        self.restart_scores = [float(v) for v in state.restart_scores]
        self.history = [dict(h) for h in state.history]
        self.loss_history = [float(v) for v in state.loss_history]
        self.iterations, self.evaluations = int(state.iterations), int(state.evaluations)
        for name, value in state.phase_times.items():
            self.phase_times[name] = float(value)
        self.prior_elapsed = float(state.elapsed_s)
        if self.time_budget is not None:
            self.deadline = self.t_start + self.time_budget - self.prior_elapsed
        self.snapshot = state
        log.info("resuming %s d=%d K=%d from round %d (best %s=%.12g)", self.obj.name, self.d, self.K,
                 self.done_rounds, self.obj.primary, self.best_scores[self.obj.primary])

    def write(self, state: ckpt.SearchState) -> Path:
        meta = {"objective": self.obj.name, "params": self.params, "d": self.d, "K": self.K,
                "scores": state.best_scores, "certificate": None,
                "provenance": {"solver": "spherecodes.solvers.solve (checkpoint: best code so far)",
                               "seed": self.seed, "restarts": self.B, "rounds": state.round,
                               "stop_reason": state.stop_reason or "search not finished",
                               "time_s": state.elapsed_s, "version": __version__}}
        out = ckpt.save_checkpoint(self.path, state, meta)
        self.last_save = time.perf_counter()
        return out

    def boundary(self, force: bool) -> None:
        """A round is complete: remember its state, and write it when due."""
        self.snapshot = self.take_snapshot()
        if self.path is not None and (force or time.perf_counter() - self.last_save >= ckpt.SAVE_INTERVAL_S):
            try:
                self.write(self.snapshot)
            except OSError as exc:  # e.g. disk full: the search goes on, the previous checkpoint stays valid
                log.warning("could not write the checkpoint %s (%s); the search continues", self.path, exc)

    def interrupted(self, exc: BaseException, guard: Any) -> ckpt.SearchInterrupted:
        """Save the state of the last completed round; the exception to raise in place of ``exc``."""
        signum = exc.signum if isinstance(exc, ckpt.Interrupted) else int(signal.SIGINT)
        if guard.signum is None:  # a KeyboardInterrupt not from the guard: later signals must not raise
            guard.signum = signum
        name = signal.Signals(signum).name
        state, saved, error = self.snapshot, None, None
        if state is not None:
            state.elapsed_s = self.elapsed()
            with guard.defer():
                try:
                    saved = self.write(state)
                except OSError as err:
                    error = f"{type(err).__name__}: {err}"
        primary = self.obj.primary
        if state is None:
            msg = (f"search interrupted by {name} during round 0 (the random restarts), before any state "
                   f"could be saved; run the same command again to start over")
        else:
            where = (f"the search state is saved in {saved}; continue it with the same arguments and resume=True "
                     f"(CLI: --checkpoint {saved} --resume)" if saved is not None
                     else f"the checkpoint could not be written ({error})")
            msg = (f"search interrupted by {name} after {state.round} perturbation round(s) "
                   f"(best so far {ckpt.describe_best(state, primary)}); {where}")
        log.info("%s", msg)  # the exception carries the message; the caller decides what to show
        return ckpt.SearchInterrupted(msg, signal_name=name, exit_status=128 + signum, checkpoint=saved,
                                      rounds_done=None if state is None else state.round,
                                      best_scores=None if state is None else dict(state.best_scores),
                                      save_error=error)

    # -------------------------------------------------------------------- run
    def run(self, init_arr: np.ndarray | None, state: ckpt.SearchState | None) -> SolveResult:
        if self.path is None:
            stop = self._run(init_arr, state)
        else:
            with ckpt.InterruptGuard() as guard:
                try:
                    stop = self._run(init_arr, state)
                except KeyboardInterrupt as exc:
                    raise self.interrupted(exc, guard) from None
        return self.result(stop)

    def _run(self, init_arr: np.ndarray | None, state: ckpt.SearchState | None) -> str:
        stop = ""
        if state is None:
            self.round0(init_arr)
            self.boundary(force=True)
            self.report()
        else:
            self.restore(state)
            self.report(resumed=True)
        while True:
            if self.stale >= self.patience:
                stop = f"no improvement in {self.patience} consecutive perturbation rounds"
                break
            if self.done_rounds >= self.n_rounds:
                stop = f"{self.n_rounds} rounds done" if self.n_rounds else "random restarts only (rounds=0)"
                break
            if self.past_deadline():
                break
            self.perturbation_round(self.done_rounds + 1)
            self.boundary(force=False)
            self.report()
        if self.past_deadline():
            stop = f"time budget of {self.time_budget:g} s spent"
        self.snapshot = self.take_snapshot(stop_reason=stop)
        if self.path is not None:
            try:
                self.write(self.snapshot)
            except OSError as exc:
                log.warning("could not write the final checkpoint %s (%s)", self.path, exc)
        return stop

    def result(self, stop: str) -> SolveResult:
        obj = self.obj
        log.info("%s d=%d K=%d: best %s=%.12g after %d rounds (%s)", obj.name, self.d, self.K, obj.primary,
                 self.best_scores[obj.primary], self.done_rounds, stop)
        return SolveResult(
            points=np.ascontiguousarray(self.best_points), scores=dict(self.best_scores), objective=obj.name,
            params=self.params, stop_reason=stop, restart_scores=np.asarray(self.restart_scores, dtype=np.float64),
            restarts=self.B, rounds=self.done_rounds, iterations=self.iterations, evaluations=self.evaluations,
            time_s=self.elapsed(), phase_times=self.phase_times, seed=self.seed, device=str(self.dev),
            dtype=str(self.first_dtype).replace("torch.", ""), history=self.history, loss_history=self.loss_history,
            first_round_starts=self.n_first)


def _sort_key(obj, scores: dict) -> float:
    v = float(scores[obj.primary])
    if math.isnan(v):
        return math.inf
    return -v if obj.maximise else v


def _ranked(obj, scores: list[dict]) -> list[int]:
    """Indices from best to worst (stable, so ties keep their order: deterministic)."""
    return sorted(range(len(scores)), key=lambda i: _sort_key(obj, scores[i]))


def _best_index(obj, scores: list[dict]) -> int:
    return _ranked(obj, scores)[0]


def _ranked_distinct(obj, scores: list[dict]) -> list[int]:
    """Ranked indices with repeated optima (equal primary score to 1e-10 relative) removed."""
    out: list[int] = []
    seen: list[float] = []
    for i in _ranked(obj, scores):
        v = float(scores[i][obj.primary])
        if any(abs(v - w) <= 1e-10 * max(abs(w), 1e-300) for w in seen):
            continue
        seen.append(v)
        out.append(i)
    return out


STOP_REASONS = STOP_REASONS  # re-exported for documentation
