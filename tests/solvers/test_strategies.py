"""Strategies (solvers/strategies.py): the registry, the default L-BFGS strategy, the Tammes first round."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spherecodes.errors import UnknownNameError
from spherecodes.solvers import solve
from spherecodes.solvers.strategies import DEFAULT_STRATEGY, STRATEGIES, Strategy, get_strategy, register_strategy


def test_first_round_draws_more_starts_in_low_dimension_and_keeps_restarts():
    """Round 0 of a low-dimensional Tammes search draws FIRST_ROUND_FACTOR x restarts starts (capped by
    FIRST_ROUND_MAX_PAIRS pair terms); the pool, the perturbation rounds and the result keep ``restarts``."""
    from spherecodes.solvers import strategies as tammes

    obj = get_strategy("tammes")
    assert obj.first_round_size(3, 20, 4) == 4 * tammes.FIRST_ROUND_FACTOR
    assert obj.first_round_size(tammes.HOP_MAX_D + 1, 20, 4) == 4
    big = int(math.isqrt(tammes.FIRST_ROUND_MAX_PAIRS)) + 1  # K^2 above the cap: no oversampling left
    assert obj.first_round_size(3, big, 4) == 4
    assert get_strategy("riesz").first_round_size(3, 20, 4) == 4
    assert get_strategy("riesz") is DEFAULT_STRATEGY
    res = solve("tammes", 3, 9, restarts=2, rounds=0, seed=5)
    assert res.restarts == 2
    assert len(res.restart_scores) == res.first_round_starts == 2 * tammes.FIRST_ROUND_FACTOR
    assert 0.0 < res.success_rate <= 1.0
    # the code returned is the best of all the round-0 starts
    assert res.scores["max_cosine"] == pytest.approx(float(np.min(res.restart_scores)), abs=1e-15)


def test_registry_default_and_unknown_names():
    assert get_strategy("tammes") is STRATEGIES["tammes"] and get_strategy("softmax_code") is STRATEGIES["softmax_code"]
    assert get_strategy("mgd") is DEFAULT_STRATEGY
    with pytest.raises(UnknownNameError, match="riesz"):  # the message lists the valid objective names
        get_strategy("no_such_objective")
    with pytest.raises(Exception, match="Strategy"):
        register_strategy("riesz", object())


def test_default_strategy_is_lbfgs_on_the_loss():
    import torch

    from spherecodes.objectives import get_objective

    riesz = get_objective("riesz")
    params = riesz.normalise_params()
    stages = DEFAULT_STRATEGY.stages(riesz, params, 3, 5)
    assert [s.label for s in stages] == ["main"]
    X = torch.randn(2, 5, 3, dtype=torch.float64)
    X = X / X.norm(dim=-1, keepdim=True)
    np.testing.assert_array_equal(stages[0].loss(X).numpy(), riesz.loss(X, params).numpy())
    step = DEFAULT_STRATEGY.polish(riesz, X, params, gtol=1e-10, max_iter=200, max_step=0.3)
    assert step.points.shape == X.shape and step.iterations > 0 and step.stop_reason
    assert bool(torch.all(riesz.loss(step.points, params) <= riesz.loss(X, params)))
    assert isinstance(Strategy(), Strategy) and "lbfgs" in repr(DEFAULT_STRATEGY)


def test_large_k_tammes_and_softmax_codes_go_to_the_near_pair_solver(monkeypatch):
    """Above NEAR_PAIR_MIN_K the search is one near-pair run; below it, the batched restart search."""
    import numpy as np

    from spherecodes.errors import InvalidParameterError
    from spherecodes.solvers import solve, strategies

    assert strategies.get_strategy("tammes").near_pair_mode(64, strategies.NEAR_PAIR_MIN_K) == "tammes"
    assert strategies.get_strategy("softmax_code").near_pair_mode(64, 10_000) == "softmax_code"
    assert strategies.get_strategy("tammes").near_pair_mode(3, 50) is None
    assert strategies.get_strategy("riesz").near_pair_mode(64, 10_000) is None

    monkeypatch.setattr(strategies, "NEAR_PAIR_MIN_K", 20)
    seen = []
    res = solve("tammes", 4, 24, seed=1, time_budget=2.0, progress=seen.append)
    assert "prototypes" in res.solver and res.restarts == 1
    assert res.points.shape == (24, 4)
    assert np.allclose(np.linalg.norm(res.points, axis=1), 1.0, atol=1e-12)
    assert seen and all(info["phase"] == "near_pairs" for info in seen)
    assert [info["iteration"] for info in seen] == sorted(info["iteration"] for info in seen)
    # the float64 score is the objective's own, not the solver's
    from spherecodes.objectives import get_objective

    assert res.scores == get_objective("tammes").score(res.points, {})
    with pytest.raises(InvalidParameterError, match="checkpoint"):
        solve("tammes", 4, 24, seed=1, checkpoint="x.npz")
