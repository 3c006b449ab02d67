"""The global search: determinism, known optima from random starts, stopping rules, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import reference_rows

from spherecodes.constructions import construct_points
from spherecodes.errors import InvalidParameterError, ResourceError, UnknownNameError
from spherecodes.kernels import riesz_energy
from spherecodes.solvers import solve
from spherecodes.tolerances import score_rtol


def test_same_seed_gives_bit_identical_points():
    a = solve("riesz", 3, 9, restarts=3, rounds=1, seed=123)
    b = solve("riesz", 3, 9, restarts=3, rounds=1, seed=123)
    assert np.array_equal(a.points, b.points)
    assert a.seed == 123 and a.scores == b.scores


def test_result_reports_what_happened():
    r = solve("riesz", 3, 7, restarts=4, rounds=2, patience=5, seed=1)
    assert r.rounds == 2 and "2 rounds" in r.stop_reason
    assert r.restart_scores.shape == (4 * 3,)
    assert r.scores["energy"] == pytest.approx(r.restart_scores.min(), rel=score_rtol())
    assert r.points.shape == (7, 3) and r.points.dtype == np.float64
    assert set(r.phase_times) >= {"first_phase", "polish"}
    assert [h["round"] for h in r.history] == [0, 1, 2]
    assert all(b <= a for a, b in zip([h["best"] for h in r.history], [h["best"] for h in r.history][1:]))


@pytest.mark.parametrize("N", [5, 8, 13, 16, 24])
def test_thomson_small_n_reaches_best_known(N):
    ref = {int(r["N"]): float(r["energy"]) for r in reference_rows("thomson_s2.csv")}
    r = solve("riesz", 3, N, s=1.0, seed=N)
    assert r.scores["energy"] == pytest.approx(ref[N], rel=1e-9, abs=5e-9)


@pytest.mark.parametrize("d,K,name", [(3, 12, "icosahedron"), (5, 16, "hemicube5"), (6, 27, "schlafli")])
def test_recovers_universal_optima_from_random_starts(d, K, name):
    exact = riesz_energy(construct_points(name, d, K), 1.0)
    r = solve("riesz", d, K, seed=7, restarts=8, rounds=2)
    assert r.scores["energy"] == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("d,K", [(3, 3), (3, 4), (5, 6), (10, 11), (7, 4)])
@pytest.mark.parametrize("s", [0.5, 1.0, 4.0])
def test_solver_alone_finds_the_simplex(d, K, s):
    r = solve("riesz", d, K, s=s, seed=0, restarts=2, rounds=1)
    # the unique optimum for s > 0 (Cohn-Kumar): every inner product -1/(K-1)
    assert r.scores["max_cosine"] == pytest.approx(-1.0 / (K - 1), abs=1e-9)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_solver_alone_finds_cross_polytope_and_polygon(d):
    r = solve("riesz", d, 2 * d, seed=0, restarts=4, rounds=1)
    assert r.scores["max_cosine"] == pytest.approx(0.0, abs=1e-9)
    r = solve("riesz", 2, 7, seed=0, restarts=2, rounds=1)
    assert r.scores["min_angle_deg"] == pytest.approx(360 / 7, abs=1e-7)


def test_time_budget_stops_the_search():
    r = solve("riesz", 3, 40, restarts=2, rounds=50, patience=50, seed=0, time_budget=0.5)
    assert "time budget" in r.stop_reason
    assert math.isfinite(r.scores["energy"])


def test_init_is_used():
    start = construct_points("icosahedron", 3, 12)
    r = solve("riesz", 3, 12, restarts=1, rounds=0, seed=0, init=start)
    assert r.scores["energy"] == pytest.approx(riesz_energy(start, 1.0), rel=1e-13)


@pytest.mark.parametrize("kwargs,param", [
    ({"d": 1, "K": 5}, "d"), ({"d": 3, "K": 1}, "K"), ({"d": 3.5, "K": 5}, "d"), ({"d": 3, "K": "7"}, "K"),
    ({"d": 3, "K": 5, "restarts": 0}, "restarts"), ({"d": 3, "K": 5, "s": float("nan")}, "s"),
    ({"d": 3, "K": 5, "device": "tpu"}, "device"), ({"d": 3, "K": 5, "time_budget": -1}, "time_budget"),
    ({"d": 3, "K": 5, "seed": -3}, "seed"), ({"d": 3, "K": 5, "dtype": "int8"}, "dtype"),
])
def test_bad_input_names_the_parameter(kwargs, param):
    with pytest.raises(InvalidParameterError) as info:
        solve("riesz", **kwargs)
    assert info.value.param == param
    assert str(info.value).startswith(f"invalid {param}=")


def test_unavailable_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(InvalidParameterError, match="no CUDA device"):
        solve("riesz", 3, 5, device="cuda")


def test_unknown_objective_and_parameter():
    with pytest.raises(UnknownNameError, match="riesz"):
        solve("thompson", 3, 5)
    with pytest.raises(UnknownNameError, match="valid parameters are"):
        solve("riesz", 3, 5, temperature=2)


def test_too_large_request_fails_before_allocating():
    with pytest.raises(ResourceError, match="restarts"):
        solve("riesz", 3, 2_000_000, restarts=64)
