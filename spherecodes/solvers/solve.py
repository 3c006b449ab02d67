"""The global search: batched random restarts, a float64 polish, then basin hopping.

Round 0 optimises ``restarts`` random configurations at once (first phase in the
requested dtype, then a float64 polish). Each later round perturbs the best distinct
local optima found so far — half of the children jitter every point by a tangent
Gaussian of a random scale, the other half re-insert one to three points at random
positions — and optimises them as a new batch. The search stops after ``patience``
rounds without improvement, after ``rounds`` rounds, or when the time budget is spent.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..errors import InvalidParameterError
from ..objectives import get_objective
from .device import check_memory, resolve_device, resolve_dtype
from .lbfgs import STOP_REASONS, riemannian_lbfgs
from .result import SolveResult
from .sphere import project_tangent, random_points, retract, typical_spacing

__all__ = ["solve", "DEFAULTS", "check_size"]

log = logging.getLogger(__name__)

#: default search settings (chosen with bench/thomson.py; see the README)
DEFAULTS = {
    "restarts": 16,
    "rounds": 12,
    "patience": 3,
    "parents": 4,
    "max_iter": 2000,
    "polish_iter": 3000,
    "first_gtol": 1e-5,
    "polish_gtol": 1e-11,
}


def _as_int(name: str, value: Any, minimum: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidParameterError(name, value, f"pass an integer; {fix}")
    if value < minimum:
        raise InvalidParameterError(name, value, fix)
    return int(value)


def check_size(d: Any, K: Any) -> tuple[int, int]:
    """Validate the ambient dimension d >= 2 and the number of points K >= 2 (integers)."""
    d = _as_int("d", d, 2, "d is the ambient dimension (points on S^{d-1} in R^d) and must be >= 2")
    K = _as_int("K", K, 2, "K is the number of points and must be >= 2")
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


def solve(objective: str, d: int, K: int, *, restarts: int | None = None, seed: int | None = None,
          device: Any = None, dtype: Any = None, rounds: int | None = None, patience: int | None = None,
          max_iter: int | None = None, time_budget: float | None = None, init: np.ndarray | None = None,
          progress: Callable[[dict], None] | None = None, **params: Any) -> SolveResult:
    """Find a good code for ``objective`` with K points on S^{d-1}.

    Parameters
    ----------
    objective : str
        Registry name (``spherecodes.objectives.available_objectives()``).
    d, K : int
        Ambient dimension (>= 2) and number of points (>= 2).
    restarts : int, optional
        Random starts optimised together in round 0 (batch size of every round).
    seed : int, optional
        Seed of every random draw; None draws one (recorded in the result). Same seed,
        device and options give bit-identical points.
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
    init : ndarray (K, d) or (B, K, d), optional
        Starting configuration(s) to include in round 0.
    progress : callable, optional
        Called with a dict after every round (``{"round", "rounds", "best", "time_s"}``).
    **params
        Objective parameters (e.g. ``s=1.0, metric="euclidean"`` for riesz).

    Returns
    -------
    SolveResult
    """
    t_start = time.perf_counter()
    obj = get_objective(objective)
    d, K = check_size(d, K)
    params = obj.normalise_params(**params)
    obj.validate_size(d, K, params)
    B = _as_int("restarts", DEFAULTS["restarts"] if restarts is None else restarts, 1,
                "restarts is the number of random starts and must be >= 1")
    n_rounds = _as_int("rounds", DEFAULTS["rounds"] if rounds is None else rounds, 0, "rounds must be >= 0")
    patience = _as_int("patience", DEFAULTS["patience"] if patience is None else patience, 1, "patience must be >= 1")
    max_iter = _as_int("max_iter", DEFAULTS["max_iter"] if max_iter is None else max_iter, 1, "max_iter must be >= 1")
    if time_budget is not None and not (isinstance(time_budget, (int, float)) and time_budget > 0):
        raise InvalidParameterError("time_budget", time_budget, "pass a positive number of seconds")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = _as_int("seed", seed, 0, "seed must be a non-negative integer")
    dev = resolve_device(device)
    first_dtype = resolve_dtype(dtype, dev)
    check_memory(obj.memory_bytes(B, K, d, 8), dev, what=f"{objective} with K={K}, d={d}, {B} restarts",
                 restarts=B)
    deadline = None if time_budget is None else t_start + float(time_budget)
    gen = torch.Generator().manual_seed(seed)
    spacing = typical_spacing(d, K)
    max_step = 0.5 * spacing
    stages = obj.stages(params, d, K)

    X0 = random_points(B, K, d, gen)
    if init is not None:
        arr = np.asarray(init, dtype=np.float64)
        arr = arr[None] if arr.ndim == 2 else arr
        if arr.ndim != 3 or arr.shape[1:] != (K, d):
            raise InvalidParameterError("init", f"array of shape {arr.shape}",
                                        f"pass shape ({K}, {d}) or (n, {K}, {d})")
        arr = arr / np.linalg.norm(arr, axis=-1, keepdims=True)
        n = min(len(arr), B)
        X0[:n] = torch.from_numpy(arr[:n])

    phase_times = {"first_phase": 0.0, "polish": 0.0, "scoring": 0.0}
    totals = {"iterations": 0, "evaluations": 0}
    loss_history: list[float] = []

    def local(X: torch.Tensor, record: bool) -> np.ndarray:
        t0 = time.perf_counter()
        Xd = X.to(device=dev, dtype=first_dtype)
        for stage in stages:
            out = riemannian_lbfgs(stage.loss, Xd, max_iter=stage.max_iter or max_iter,
                                   gtol=stage.gtol or DEFAULTS["first_gtol"], max_step=max_step, deadline=deadline)
            Xd = out.X
            totals["iterations"] += int(out.iterations.sum())
            totals["evaluations"] += out.evaluations
            if record:
                loss_history.extend(out.history)
        t1 = time.perf_counter()
        phase_times["first_phase"] += t1 - t0
        Xp, info = obj.polish(Xd.to(torch.float64), params, gtol=DEFAULTS["polish_gtol"],
                              max_iter=DEFAULTS["polish_iter"], max_step=max_step, deadline=deadline)
        totals["iterations"] += int(info.get("iterations", 0))
        totals["evaluations"] += int(info.get("evaluations", 0))
        phase_times["polish"] += time.perf_counter() - t1
        return Xp.detach().to("cpu", torch.float64).numpy()

    def score_all(P: np.ndarray) -> list[dict]:
        t0 = time.perf_counter()
        # renormalise in float64 so that stored points are unit to rounding
        P /= np.linalg.norm(P, axis=-1, keepdims=True)
        out = [obj.score(P[b], params) for b in range(P.shape[0])]
        phase_times["scoring"] += time.perf_counter() - t0
        return out

    pool_points = local(X0, record=True)
    pool_scores = score_all(pool_points)
    restart_scores = [s[obj.primary] for s in pool_scores]
    best_idx = _best_index(obj, pool_scores)
    best_points, best_scores = pool_points[best_idx].copy(), pool_scores[best_idx]
    history = [{"round": 0, "time_s": time.perf_counter() - t_start, "best": best_scores[obj.primary]}]
    if progress is not None:
        progress({"round": 0, "rounds": n_rounds, "best": best_scores[obj.primary], "time_s": history[-1]["time_s"]})

    stop = f"{n_rounds} rounds done" if n_rounds else "random restarts only (rounds=0)"
    stale = 0
    done_rounds = 0
    for rnd in range(1, n_rounds + 1):
        if deadline is not None and time.perf_counter() > deadline:
            stop = f"time budget of {time_budget:g} s spent"
            break
        order = _ranked_distinct(obj, pool_scores)[: DEFAULTS["parents"]]
        parents = torch.from_numpy(pool_points[order])
        kids = _perturb(parents, B, gen, spacing)
        kid_points = local(kids, record=False)
        kid_scores = score_all(kid_points)
        restart_scores.extend(s[obj.primary] for s in kid_scores)
        done_rounds = rnd
        # the pool keeps the best B configurations seen so far
        pool_points = np.concatenate([pool_points, kid_points])
        pool_scores = pool_scores + kid_scores
        keep = _ranked(obj, pool_scores)[:B]
        pool_points, pool_scores = pool_points[keep], [pool_scores[i] for i in keep]
        if obj.better(pool_scores[0], best_scores, rtol=1e-13):
            best_points, best_scores = pool_points[0].copy(), pool_scores[0]
            stale = 0
        else:
            stale += 1
        history.append({"round": rnd, "time_s": time.perf_counter() - t_start, "best": best_scores[obj.primary]})
        if progress is not None:
            progress({"round": rnd, "rounds": n_rounds, "best": best_scores[obj.primary],
                      "time_s": history[-1]["time_s"]})
        if stale >= patience:
            stop = f"no improvement in {patience} consecutive perturbation rounds"
            break
    else:
        if deadline is not None and time.perf_counter() > deadline and n_rounds:
            stop = f"time budget of {time_budget:g} s spent"
    if deadline is not None and time.perf_counter() > deadline and "time budget" not in stop:
        stop = f"time budget of {time_budget:g} s spent"
    log.info("%s d=%d K=%d: best %s=%.12g after %d rounds (%s)", objective, d, K, obj.primary,
             best_scores[obj.primary], done_rounds, stop)
    best_points = np.ascontiguousarray(best_points)
    return SolveResult(
        points=best_points, scores=dict(best_scores), objective=obj.name, params=params, stop_reason=stop,
        restart_scores=np.asarray(restart_scores, dtype=np.float64), restarts=B, rounds=done_rounds,
        iterations=totals["iterations"], evaluations=totals["evaluations"],
        time_s=time.perf_counter() - t_start, phase_times=phase_times, seed=seed, device=str(dev),
        dtype=str(first_dtype).replace("torch.", ""), history=history, loss_history=loss_history)


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
