"""Tammes objective: scores vs plain numpy, losses and gradients, the SLP polish, exact optima from the solver."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from _helpers import check_tangent_derivative as _fd_check
from _helpers import random_code, random_rotation, reference_rows
from _helpers import separation_by_brute_force as numpy_scores

from spherecodes.objectives import get_objective
from spherecodes.solvers import solve

TAMMES = get_objective("tammes")


def test_registered_and_primary():
    assert TAMMES.primary == "max_cosine" and TAMMES.maximise is False
    assert TAMMES.normalise_params() == {}
    assert TAMMES.better({"max_cosine": 0.1}, {"max_cosine": 0.2})
    assert not TAMMES.better({"max_cosine": 0.2}, {"max_cosine": 0.1})


@pytest.mark.parametrize("K,d,seed", [(9, 3, 0), (20, 5, 1), (6, 2, 2)])
def test_scores_match_numpy(K, d, seed):
    X = random_code(K, d, seed)
    s = TAMMES.score(X, {})
    ref = numpy_scores(X)
    assert s["max_cosine"] == pytest.approx(ref["max_cosine"], abs=1e-15)
    assert s["min_distance"] == pytest.approx(ref["min_distance"], abs=1e-15)
    assert s["min_angle_deg"] == pytest.approx(ref["min_angle_deg"], abs=1e-10)
    # one-vs-rest is at least the Tammes lower bound 1 - max cosine (separating hyperplane)
    assert s["one_vs_rest"] >= 1.0 - s["max_cosine"] - 1e-14
    assert set(s) >= {"max_cosine", "min_angle_deg", "min_distance", "one_vs_rest"}


def test_scores_are_rotation_invariant():
    X = random_code(15, 4, 3)
    Q = random_rotation(4, 4)
    a, b = TAMMES.score(X, {}), TAMMES.score(X @ Q, {})
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=1e-12), key


def test_coincident_points_score_without_nan():
    X = random_code(7, 3, 5)
    X[4] = X[1]
    s = TAMMES.score(X, {})
    assert s["max_cosine"] == pytest.approx(1.0, abs=1e-15)
    assert s["min_distance"] == 0.0 and s["min_angle_deg"] == 0.0 and s["one_vs_rest"] == 0.0
    assert not any(math.isnan(v) for v in s.values())


def test_loss_is_max_cosine_with_correct_gradient():
    X = random_code(10, 3, 6)
    batch = torch.from_numpy(np.stack([X, random_code(10, 3, 7)]))
    L = TAMMES.loss(batch, {})
    assert float(L[0]) == pytest.approx(numpy_scores(X)["max_cosine"], abs=1e-15)
    # batched == slices
    for b in range(2):
        assert float(TAMMES.loss(batch[b:b + 1], {})[0]) == float(L[b])
    _fd_check(lambda T: TAMMES.loss(T, {}), X, seed=8)


@pytest.mark.parametrize("d,K,expected", [
    (3, 4, -1.0 / 3.0),            # simplex
    (5, 4, -1.0 / 3.0),            # simplex in a larger space
    (4, 5, -1.0 / 4.0),            # simplex
    (3, 5, 0.0),                   # d+1 < K <= 2d: Rankin, max cosine 0
    (3, 6, 0.0),
    (4, 7, 0.0),
    (2, 5, math.cos(2 * math.pi / 5)),   # polygon
    (2, 7, math.cos(2 * math.pi / 7)),
])
def test_solver_alone_finds_exact_optima(d, K, expected):
    res = solve("tammes", d, K, restarts=4, rounds=0, seed=1)
    assert res.scores["max_cosine"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("N", [7, 10])
def test_s2_best_known_angles(N):
    row = {int(r["N"]): r for r in reference_rows("tammes_s2.csv")}[N]
    res = solve("tammes", 3, N, restarts=8, rounds=0, seed=N)
    assert res.scores["min_angle_deg"] == pytest.approx(float(row["min_angle_deg"]), abs=1e-6)


def test_cli_generate_tammes_json():
    from click.testing import CliRunner

    from spherecodes.cli import cli

    result = CliRunner().invoke(cli, ["generate", "tammes", "-d", "3", "-K", "12", "--json", "-q", "--no-catalog",
                                      "--restarts", "4", "--rounds", "0", "--seed", "0"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    scores = payload["scores"]
    for key in ("min_angle_deg", "max_cosine", "one_vs_rest"):
        assert key in scores
    assert scores["max_cosine"] == pytest.approx(1.0 / math.sqrt(5.0), abs=1e-9)
    assert scores["one_vs_rest"] == pytest.approx(1.0 - 1.0 / math.sqrt(5.0), abs=1e-9)
