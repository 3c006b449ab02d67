"""Softmax-code objective: one-vs-rest scores vs brute force and Theorem 3.3, loss gradients, the solver."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
from _helpers import random_code, random_rotation

from spherecodes.constructions import construct_points
from spherecodes.objectives import get_objective
from spherecodes.objectives.softmax_code import one_vs_rest_torch
from spherecodes.solvers import solve
from spherecodes.solvers.softmax_polish import polish_softmax_code
from spherecodes.solvers.strategies import get_strategy

SOFTMAX = get_objective("softmax_code")


def brute_one_vs_rest(X: np.ndarray) -> float:
    """min_k dist(x_k, conv(others)) by enumerating faces (tiny K only), numpy."""
    K = len(X)
    best = math.inf
    for k in range(K):
        others = np.delete(X, k, axis=0)
        for r in range(1, K):
            for S in itertools.combinations(range(K - 1), r):
                P = others[list(S)]
                M = np.zeros((r + 1, r + 1))
                M[:r, :r] = P @ P.T
                M[:r, r] = M[r, :r] = 1.0
                sol, *_ = np.linalg.lstsq(M, np.concatenate([P @ X[k], [1.0]]), rcond=None)
                if np.all(sol[:r] >= -1e-12):
                    best = min(best, float(np.linalg.norm(X[k] - sol[:r] @ P)))
    return best


def test_registered_and_primary():
    assert SOFTMAX.primary == "one_vs_rest" and SOFTMAX.maximise is True
    assert SOFTMAX.better({"one_vs_rest": 0.6}, {"one_vs_rest": 0.5})


@pytest.mark.parametrize("K,d,seed", [(6, 3, 0), (7, 2, 1), (6, 4, 2)])
def test_score_matches_brute_force(K, d, seed):
    X = random_code(K, d, seed)
    s = SOFTMAX.score(X, {})
    assert s["one_vs_rest"] == pytest.approx(brute_one_vs_rest(X), abs=1e-12)
    assert s["max_cosine"] == pytest.approx(max(float(X[i] @ X[j]) for i in range(K) for j in range(i + 1, K)),
                                            abs=1e-15)


@pytest.mark.parametrize("K", [3, 5, 6, 9])
def test_theorem_3_3_polygon(K):
    # d = 2: 1 - cos(2 pi / K), a distance (the paper's dist is the Euclidean distance, not its square)
    s = SOFTMAX.score(construct_points("polygon", 2, K) @ random_rotation(2, K), {})
    assert s["one_vs_rest"] == pytest.approx(1.0 - math.cos(2 * math.pi / K), abs=1e-9)


@pytest.mark.parametrize("d,K", [(3, 4), (6, 5), (9, 10)])
def test_theorem_3_3_simplex(d, K):
    s = SOFTMAX.score(construct_points("simplex", d, K) @ random_rotation(d, K), {})
    assert s["one_vs_rest"] == pytest.approx(K / (K - 1), abs=1e-9)


@pytest.mark.parametrize("d,K", [(3, 5), (3, 6), (5, 8)])
def test_theorem_3_3_cross_polytope(d, K):
    s = SOFTMAX.score(construct_points("orthoplex", d, K) @ random_rotation(d, K), {})
    assert s["one_vs_rest"] == pytest.approx(1.0, abs=1e-9)


def test_rotation_invariance_and_coincident_points():
    X = random_code(10, 4, 3)
    a, b = SOFTMAX.score(X, {}), SOFTMAX.score(X @ random_rotation(4, 4), {})
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=1e-12)
    X[6] = X[2]
    s = SOFTMAX.score(X, {})
    assert s["one_vs_rest"] == 0.0 and not any(math.isnan(v) for v in s.values())


def test_loss_value_gradient_and_batching():
    X = np.stack([random_code(8, 3, 5), random_code(8, 3, 6)])
    T = torch.from_numpy(X)
    L = SOFTMAX.loss(T, {})
    for b in range(2):
        assert float(L[b]) == pytest.approx(-brute_one_vs_rest(X[b]), abs=1e-12)
        assert float(SOFTMAX.loss(T[b:b + 1], {})[0]) == float(L[b])
    # Danskin gradient vs a central difference along a tangent direction
    rng = np.random.default_rng(7)
    W = X[0]
    V = rng.normal(size=W.shape)
    V -= np.sum(V * W, axis=1, keepdims=True) * W
    Tg = torch.from_numpy(W)[None].clone().requires_grad_(True)
    SOFTMAX.loss(Tg, {}).sum().backward()
    analytic = float(np.sum(Tg.grad[0].numpy() * V))

    def at(t):
        Y = W + t * V
        return -brute_one_vs_rest(Y / np.linalg.norm(Y, axis=1, keepdims=True))

    numeric = (at(1e-6) - at(-1e-6)) / 2e-6
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    # per-point distances are non-negative and finite
    D = one_vs_rest_torch(T)
    assert D.shape == (2, 8) and torch.all(D > 0)


def test_one_vs_rest_polish_does_not_decrease_and_batch_is_deterministic():
    X = torch.from_numpy(np.stack([random_code(7, 3, 40 + b) for b in range(2)]))
    for b in range(2):
        step = polish_softmax_code(X[b].numpy(), max_iter=200)
        single = step.points
        assert brute_one_vs_rest(single) >= brute_one_vs_rest(X[b].numpy()) - 1e-12
        assert step.value == pytest.approx(brute_one_vs_rest(single), abs=1e-12)
    strategy = get_strategy("softmax_code")
    out = strategy.polish(SOFTMAX, X, {}, gtol=1e-11, max_iter=200, max_step=0.3).points
    again = strategy.polish(SOFTMAX, X, {}, gtol=1e-11, max_iter=200, max_step=0.3).points
    np.testing.assert_array_equal(out.numpy(), again.numpy())
    for b in range(2):
        assert brute_one_vs_rest(out[b].numpy()) >= brute_one_vs_rest(X[b].numpy())


@pytest.mark.parametrize("d,K,expected", [
    (2, 5, 1.0 - math.cos(2 * math.pi / 5)),
    (3, 4, 4.0 / 3.0),
    (3, 5, 1.0),
    (4, 6, 1.0),
])
def test_solver_alone_reaches_theorem_3_3(d, K, expected):
    res = solve("softmax_code", d, K, restarts=4, rounds=0, seed=2)
    assert res.scores["one_vs_rest"] == pytest.approx(expected, abs=1e-9)


def test_softmax_solver_at_least_tammes_code_one_vs_rest():
    tam = solve("tammes", 3, 7, restarts=4, rounds=0, seed=3)
    soft = solve("softmax_code", 3, 7, restarts=4, rounds=0, seed=3)
    assert soft.scores["one_vs_rest"] >= tam.scores["one_vs_rest"] - 1e-6


def test_cli_generate_softmax_code_json():
    from click.testing import CliRunner

    from spherecodes.cli import cli

    result = CliRunner().invoke(cli, ["generate", "softmax_code", "-d", "3", "-K", "6", "--json", "-q",
                                      "--no-catalog",
                                      "--restarts", "2", "--rounds", "0", "--seed", "0"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])["scores"]
    assert scores["one_vs_rest"] == pytest.approx(1.0, abs=1e-9)
    assert "max_cosine" in scores and "min_angle_deg" in scores
