"""How to search for the optima of each objective: one :class:`Strategy` per objective, in a registry.

An objective (:mod:`spherecodes.objectives`) is maths only; its strategy is the procedure the global
search (:func:`spherecodes.solvers.solve`) runs on it:

* ``first_round_size(d, K, restarts)``: how many random starts round 0 draws (the pool keeps
  ``restarts`` of them);
* ``stages(objective, params, d, K)``: the losses of the fast first phase, in order;
* ``polish(objective, X, params, ...)``: the float64 refinement of a batch to a tight local optimum,
  returning a :class:`~spherecodes.solvers.steps.StepResult`.

The default :class:`Strategy` (used for every objective registered by a user) runs batched Riemannian
L-BFGS on the objective's loss in both phases. ``tammes`` and ``softmax_code``, whose optima are not
stationary points of a smooth loss, use the max-min machinery of :mod:`spherecodes.solvers.maxmin`:
two log-sum-exp surrogate stages, the trust-region SLP polish and basin hopping on the best restart
(see that module's docstring).

Tammes in low dimension (d <= :data:`HOP_MAX_D`), where a polish costs a fraction of a second, searches
wider: the first stage spreads its exponent over the batch (s = 32 .. 256, one per restart,
:data:`FIRST_SPREAD`), the basin hopping takes more trials (:data:`HOP_TRIALS`), accepts slightly worse
local optima with a Metropolis rule (:data:`HOP_TEMPERATURE`) and adds a move that sends a point with
contacts to the centre of the largest empty cap (:func:`spherecodes.solvers.maxmin.reinsert`), and round 0
draws :data:`FIRST_ROUND_FACTOR` times more random starts: on S^2 the best-known codes of N = 49 and 57
are reached from 1-3 % of random starts, and basin hopping from the local optimum next to them rarely
leaves it (bench/tammes.py, bench/results/tammes.csv).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from ..errors import UnknownNameError
from ..objectives import Objective, available_objectives
from . import maxmin
from .lbfgs import STOP_REASONS, riemannian_lbfgs
from .softmax_polish import polish_one_vs_rest
from .steps import Stage, StepResult, batch_reason

__all__ = ["Strategy", "TammesStrategy", "SoftmaxCodeStrategy", "STRATEGIES", "DEFAULT_STRATEGY", "get_strategy",
           "register_strategy", "hop_best", "HOP_MAX_D", "HOP_TRIALS", "HOP_PATIENCE", "HOP_TEMPERATURE",
           "FIRST_SPREAD", "FIRST_ROUND_FACTOR", "FIRST_ROUND_MAX_PAIRS"]

#: extended basin hopping for low dimensions (d <= HOP_MAX_D), where an SLP trial is cheap for K <= 60: more
#: trials, Metropolis acceptance and the largest-hole reinsertion move (bench/results/tammes.csv)
HOP_MAX_D = 4
HOP_TRIALS = 36
HOP_PATIENCE = 18
#: Metropolis temperature relative to 1 - max cosine (1e-4: about 0.0015 degrees at N = 49 on S^2, the size of
#: the gaps between the best local optima there)
HOP_TEMPERATURE = 1e-4
#: kappa range of the first surrogate stage in low dimensions (one value per restart, log-spaced): on S^2 a single
#: kappa = 16 sends most restarts to the same local optimum for some N where a spread reaches the best-known code
FIRST_SPREAD = (16.0, 128.0)
#: round 0 in low dimensions draws this many times ``restarts`` random starts (the pool keeps the best): on S^2 a
#: single restart reaches the best-known code of N = 49 or 57 only rarely, so the starts are what find it
FIRST_ROUND_FACTOR = 16
#: ... but at most this many pair terms (starts * K^2) in round 0, so that large K keeps its usual cost
FIRST_ROUND_MAX_PAIRS = 1_000_000
#: SLP iterations are LP solves: a few hundred are plenty (near the end each one squares the error)
SLP_MAX_ITER = 400
#: from this many points on, Tammes and softmax codes are searched by the near-pair prototype solver
#: (:mod:`spherecodes.solvers.prototypes`, memory O(K d + near pairs)) instead of batched dense restarts, whose
#: restarts x K^2 pair terms stop fitting; bench/prototypes_scale.py compares the two paths
NEAR_PAIR_MIN_K = 1000


class Strategy:
    """The default search procedure: Riemannian L-BFGS on the objective's loss (first phase and float64 polish).

    Subclasses override what their objective needs; every method receives the objective and its normalised
    parameters, so one strategy object serves every parameter setting.
    """

    name = "lbfgs"

    def first_round_size(self, d: int, K: int, restarts: int) -> int:
        """Random starts of round 0 (at least ``restarts``; the pool keeps the best ``restarts``)."""
        return restarts

    def near_pair_mode(self, d: int, K: int) -> str | None:
        """The :func:`~spherecodes.solvers.prototypes.solve_prototypes` objective that searches (d, K), or None.

        None (the default) keeps the batched restarts + polish + basin hopping search of
        :func:`spherecodes.solvers.solve`.
        """
        return None

    def stages(self, objective: Objective, params: Mapping[str, Any], d: int, K: int) -> list[Stage]:
        """Losses of the fast first phase, in order: the objective's loss alone."""
        return [Stage("main", lambda X: objective.loss(X, params))]

    def polish(self, objective: Objective, X: torch.Tensor, params: Mapping[str, Any], *, gtol: float,
               max_iter: int, max_step: float, deadline: float | None = None) -> StepResult:
        """Float64 refinement of a batch X (B, K, d): batched Riemannian L-BFGS on the loss."""
        out = riemannian_lbfgs(lambda Y: objective.loss(Y, params), X.to(torch.float64), max_iter=max_iter,
                               gtol=gtol, max_step=max_step, deadline=deadline)
        reasons = [STOP_REASONS.get(int(c), str(int(c))) for c in out.status.reshape(-1).tolist()]
        return StepResult(points=out.X, iterations=int(out.iterations.sum()), evaluations=int(out.evaluations),
                          stop_reason=batch_reason(reasons),
                          details={"grad_norm": out.grad_norm, "status": out.status})

    def __repr__(self) -> str:
        return f"<strategy {self.name}>"


def hop_best(X: torch.Tensor, polish_one: Callable, value: Callable[[np.ndarray], float], *, trials: int,
             max_iter: int, deadline: float | None, patience: int | None = None, temperature: float = 0.0,
             reinsertion: bool = False) -> StepResult:
    """Basin hopping (:func:`spherecodes.solvers.maxmin.basin_hop`) on the best restart of X (B, K, d).

    The best restart (smallest ``value``) gets up to ``trials`` perturb-and-``polish_one`` steps and can only
    improve; random numbers are seeded from X, so the same input gives the same output. The other restarts are
    returned unchanged. ``temperature`` is relative: the Metropolis temperature is ``temperature * (1 - v)`` for
    the best value v (a max cosine, below 1), i.e. a fraction of the gap that sets the minimum distance;
    ``patience`` and ``reinsertion`` are passed on. ``details["improvements"]`` counts the new bests.
    """
    out = X.detach().to("cpu", torch.float64).clone()
    values = [value(out[b].numpy()) for b in range(out.shape[0])]
    if trials <= 0 or not values or not math.isfinite(min(values)):
        return StepResult(points=out, stop_reason="no basin hopping (no trials or no finite value)",
                          details={"improvements": 0, "accepted_worse": 0})
    b = int(np.argmin(values))
    hop = maxmin.basin_hop(out[b].numpy(),
                           local=lambda Y, deadline=None: polish_one(Y, max_iter=max_iter, deadline=deadline),
                           value=value, trials=trials, rng=maxmin.data_rng(out.numpy()), deadline=deadline,
                           patience=patience, temperature=temperature * max(0.0, 1.0 - values[b]),
                           reinsertion=reinsertion)
    out[b] = torch.from_numpy(np.ascontiguousarray(hop.points))
    hop.points = out
    return hop


class TammesStrategy(Strategy):
    """Surrogate stages, trust-region SLP polish and basin hopping on the best restart (see the module docstring)."""

    name = "tammes"

    def near_pair_mode(self, d: int, K: int) -> str | None:
        # the prototype solver's mode has the strategy's name (tammes, softmax_code)
        return self.name if K >= NEAR_PAIR_MIN_K else None

    def first_round_size(self, d: int, K: int, restarts: int) -> int:
        if d > HOP_MAX_D:
            return restarts
        return max(restarts, min(restarts * FIRST_ROUND_FACTOR, FIRST_ROUND_MAX_PAIRS // (K * K)))

    def stages(self, objective: Objective, params: Mapping[str, Any], d: int, K: int) -> list[Stage]:
        return maxmin.surrogate_stages(d, K, prefix="tammes-lse", first_spread=FIRST_SPREAD if d <= HOP_MAX_D else None)

    def _polish_max_cosine(self, X: torch.Tensor, *, max_iter: int, deadline: float | None,
                           extended: bool) -> StepResult:
        """SLP (or penalty) polish of the max cosine of every restart, then basin hopping on the best one."""
        step = maxmin.polish_tammes_batch(X, max_iter=min(max_iter, SLP_MAX_ITER), deadline=deadline)
        if "penalty_probes" in step.details:
            return step
        hop = hop_best(step.points, maxmin.polish_tammes, maxmin.max_cosine_np,
                       trials=HOP_TRIALS if extended else maxmin.MBH_TRIALS,
                       patience=HOP_PATIENCE if extended else None,
                       temperature=HOP_TEMPERATURE if extended else 0.0, reinsertion=extended,
                       max_iter=min(max_iter, SLP_MAX_ITER), deadline=deadline)
        step.points = hop.points
        step.iterations += hop.iterations
        step.evaluations += hop.evaluations
        step.details["basin_hopping_improvements"] = hop.details["improvements"]
        return step

    def polish(self, objective: Objective, X: torch.Tensor, params: Mapping[str, Any], *, gtol: float,
               max_iter: int, max_step: float, deadline: float | None = None) -> StepResult:
        step = self._polish_max_cosine(X, max_iter=max_iter, deadline=deadline, extended=X.shape[2] <= HOP_MAX_D)
        step.points = step.points.to(X.device)
        return step


class SoftmaxCodeStrategy(TammesStrategy):
    """The Tammes search (without the low-dimensional extensions), then the lifted one-vs-rest SLP per restart."""

    name = "softmax_code"

    def first_round_size(self, d: int, K: int, restarts: int) -> int:
        return restarts

    def stages(self, objective: Objective, params: Mapping[str, Any], d: int, K: int) -> list[Stage]:
        return maxmin.surrogate_stages(d, K, prefix="tammes-lse")

    def polish(self, objective: Objective, X: torch.Tensor, params: Mapping[str, Any], *, gtol: float,
               max_iter: int, max_step: float, deadline: float | None = None) -> StepResult:
        step = self._polish_max_cosine(X, max_iter=max_iter, deadline=deadline, extended=False)
        out = step.points
        for b in range(out.shape[0]):
            if deadline is not None and time.perf_counter() > deadline:
                step.stop_reason += "; time budget (one-vs-rest polish)"
                break
            one = polish_one_vs_rest(out[b].numpy(), max_iter=min(max_iter, SLP_MAX_ITER), deadline=deadline)
            out[b] = torch.from_numpy(np.ascontiguousarray(one.points))
            step.iterations += int(one.iterations)
            step.evaluations += int(one.evaluations)
        step.points = out.to(X.device)
        return step


DEFAULT_STRATEGY = Strategy()
"""The strategy of every objective without its own entry in :data:`STRATEGIES` (L-BFGS on the loss)."""

STRATEGIES: dict[str, Strategy] = {"tammes": TammesStrategy(), "softmax_code": SoftmaxCodeStrategy()}
"""Objective name -> its strategy, for the objectives whose search is not the default one."""


def register_strategy(objective: str, strategy: Strategy) -> Strategy:
    """Use ``strategy`` for the objective called ``objective`` (e.g. one registered with ``objectives.register``)."""
    if not isinstance(strategy, Strategy):
        from ..errors import InvalidParameterError

        raise InvalidParameterError("strategy", strategy, "pass an instance of spherecodes.solvers.strategies."
                                                          "Strategy (or a subclass)")
    STRATEGIES[objective] = strategy
    return strategy


def get_strategy(objective: str) -> Strategy:
    """The strategy of a registered objective: its own, or :data:`DEFAULT_STRATEGY`.

    An objective name that is not registered raises :class:`~spherecodes.errors.UnknownNameError` listing
    the valid ones.
    """
    if objective in STRATEGIES:
        return STRATEGIES[objective]
    names = available_objectives()
    if objective not in names:
        raise UnknownNameError("objective", objective, names)
    return DEFAULT_STRATEGY
