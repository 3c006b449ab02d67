"""The max-min solver (solvers/maxmin.py): surrogate stages, trust-region SLP, penalty polish, basin hopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _helpers import check_tangent_derivative as _fd_check
from _helpers import random_code, random_rotation
from _helpers import separation_by_brute_force as numpy_scores

from spherecodes.constructions import construct_points
from spherecodes.objectives import get_objective
from spherecodes.solvers.lbfgs import riemannian_lbfgs
from spherecodes.solvers.maxmin import (
    basin_hop,
    contact_counts,
    largest_hole,
    lse_log_chord,
    lse_max_cosine,
    max_cosine_np,
    penalty_polish,
    polish_tammes,
    polish_tammes_batch,
    reinsert,
    spread_exponents,
    surrogate_stages,
)
from spherecodes.solvers.strategies import get_strategy

TAMMES = get_objective("tammes")
STRATEGY = get_strategy("tammes")


@pytest.mark.parametrize("s", [4.0, 64.0])
def test_surrogates_gradients_and_bounds(s):
    X = random_code(12, 4, 9)
    _fd_check(lambda T: lse_log_chord(T, s), X, seed=10)
    _fd_check(lambda T: lse_max_cosine(T, s), X, seed=11)
    ref = numpy_scores(X)
    T = torch.from_numpy(X)[None]
    n_pairs = 12 * 11 / 2
    v = float(lse_log_chord(T, s)[0])
    assert -math.log(ref["min_distance"]) <= v <= -math.log(ref["min_distance"]) + math.log(n_pairs) / s + 1e-12
    c = float(lse_max_cosine(T, s)[0])
    assert ref["max_cosine"] <= c <= ref["max_cosine"] + math.log(2 * n_pairs) / s + 1e-12


@pytest.mark.parametrize("d", [3, 8])
def test_stage_losses_restarts_do_not_interact(d):
    # low d spreads the first stage's exponent over the batch (restart b's loss depends on b, never on the
    # other restarts' points); higher d uses one exponent, so a slice also equals the batch
    X = torch.from_numpy(np.stack([random_code(11, d, 20 + b) for b in range(3)]))
    other = torch.from_numpy(np.stack([random_code(11, d, 40 + b) for b in range(3)]))
    stages = STRATEGY.stages(TAMMES, {}, d, 11)
    for stage in stages:
        full = stage.loss(X)
        for b in range(3):
            mixed = other.clone()
            mixed[b] = X[b]
            assert float(stage.loss(mixed)[b]) == pytest.approx(float(full[b]), rel=1e-14)
            if d > 4:
                assert float(stage.loss(X[b:b + 1])[0]) == pytest.approx(float(full[b]), rel=1e-14)
    assert len(surrogate_stages(3, 11)) >= 1


def test_spread_first_stage_matches_its_exponents():
    X = torch.from_numpy(np.stack([random_code(11, 3, 60 + b) for b in range(4)]))
    first = surrogate_stages(3, 11, first_spread=(16.0, 128.0))[0]
    s = spread_exponents(4, 32.0, 256.0)
    assert s[0] == pytest.approx(32.0) and s[-1] == pytest.approx(256.0) and bool(torch.all(s[1:] > s[:-1]))
    full = first.loss(X)
    for b in range(4):
        assert float(full[b]) == pytest.approx(float(lse_log_chord(X[b:b + 1], float(s[b]))[0]), rel=1e-14)
    assert spread_exponents(1, 32.0, 256.0).tolist() == [32.0]


def test_polish_batch_equals_loop_and_improves():
    X = torch.from_numpy(np.stack([random_code(9, 3, 30 + b) for b in range(3)]))
    step = polish_tammes_batch(X, max_iter=200)
    batch = step.points
    assert step.iterations > 0 and len(step.details["statuses"]) == 3 and step.stop_reason
    singles = []
    for b in range(3):
        single = polish_tammes(X[b].numpy(), max_iter=200).points
        singles.append(numpy_scores(single)["max_cosine"])
        np.testing.assert_array_equal(batch[b].numpy(), single)
        assert singles[-1] < numpy_scores(X[b].numpy())["max_cosine"]
        np.testing.assert_allclose(np.linalg.norm(single, axis=1), 1.0, atol=1e-15)
    # the strategy's polish adds basin hopping on the best restart only: never worse, others untouched
    out = STRATEGY.polish(TAMMES, X, {}, gtol=1e-11, max_iter=200, max_step=0.3).points
    best = int(np.argmin(singles))
    for b in range(3):
        if b == best:
            assert numpy_scores(out[b].numpy())["max_cosine"] <= singles[b] + 1e-15
        else:
            np.testing.assert_array_equal(out[b].numpy(), batch[b].numpy())
    # deterministic: the same input gives the same output
    again = STRATEGY.polish(TAMMES, X, {}, gtol=1e-11, max_iter=200, max_step=0.3).points
    np.testing.assert_array_equal(again.numpy(), out.numpy())


def test_penalty_polish_lowers_the_max_cosine_in_a_dense_case():
    X = torch.from_numpy(np.stack([random_code(40, 8, 50 + b) for b in range(2)]))
    step = penalty_polish(X, max_probes=6, lbfgs_iter=100)
    Y = step.points
    assert 0 < step.details["probes"] <= 6 and step.stop_reason
    for b in range(2):
        assert numpy_scores(Y[b].numpy())["max_cosine"] < numpy_scores(X[b].numpy())["max_cosine"] - 1e-3
        np.testing.assert_allclose(np.linalg.norm(Y[b].numpy(), axis=1), 1.0, atol=1e-14)
    single = penalty_polish(X[1:2], max_probes=6, lbfgs_iter=100).points
    np.testing.assert_allclose(single[0].numpy(), Y[1].numpy(), atol=1e-13)


def test_polish_reaches_the_icosahedron_to_1e12():
    # start near a rotated icosahedron: the SLP must return to max cosine 1/sqrt(5) far below surrogate accuracy
    rng = np.random.default_rng(12)
    X = construct_points("icosahedron", 3, 12) @ random_rotation(3, 13)
    X = X + 0.02 * rng.normal(size=X.shape)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    step = polish_tammes(X)
    W = step.points
    assert numpy_scores(W)["max_cosine"] == pytest.approx(1.0 / math.sqrt(5.0), abs=1e-12)
    assert "stationary" in step.stop_reason or "radius" in step.stop_reason
    assert step.value == max_cosine_np(W)


def test_largest_hole_finds_the_face_centres_of_the_octahedron():
    # the largest empty caps of the octahedron (+-e_i) are centred on its 8 face centres, max cosine 1/sqrt(3)
    Q = random_rotation(3, 21)
    W = np.vstack([np.eye(3), -np.eye(3)]) @ Q
    x = largest_hole(W, np.random.default_rng(0))
    assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-14)
    assert float((W @ x).max()) == pytest.approx(1.0 / math.sqrt(3.0), abs=1e-6)
    assert float((W @ x).max()) >= 1.0 / math.sqrt(3.0) - 1e-12  # no point is farther from all six


def test_largest_hole_beats_random_candidates():
    W = random_code(30, 4, 22)
    x = largest_hole(W, np.random.default_rng(1))
    probe = random_code(20000, 4, 23)
    assert float((W @ x).max()) <= float((probe @ W.T).max(axis=1).min()) + 1e-3


def test_contact_counts_of_the_icosahedron():
    W = construct_points("icosahedron", 3, 12) @ random_rotation(3, 24)
    assert contact_counts(W).tolist() == [5] * 12


def test_reinsert_moves_contact_points_to_holes_deterministically():
    W = construct_points("icosahedron", 3, 12) @ random_rotation(3, 25)
    # 13 points: the extra one, at a face centre, and that face's 3 vertices hold the only contacts
    W = np.vstack([W, largest_hole(W, np.random.default_rng(2))])
    a = reinsert(W, 2, np.random.default_rng(3))
    b = reinsert(W, 2, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    moved = np.flatnonzero(np.any(a != W, axis=1))
    assert moved.size == 2
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-14)
    counts = contact_counts(W)
    assert counts[12] > 0 and np.count_nonzero(counts) >= 2
    assert np.all(counts[moved] > 0)  # only points with contacts are moved


@pytest.mark.parametrize("temperature,reinsertion", [(0.0, True), (1e-3, True), (1e-3, False)])
def test_basin_hop_never_worse_and_deterministic(temperature, reinsertion):
    X = torch.from_numpy(random_code(14, 3, 26))[None]
    stage = surrogate_stages(3, 14)[0]
    W0 = polish_tammes(riemannian_lbfgs(stage.loss, X, max_iter=50, gtol=1e-3).X[0].numpy()).points
    v0 = max_cosine_np(W0)
    runs = [basin_hop(W0, local=lambda Y, deadline=None: polish_tammes(Y, max_iter=100), value=max_cosine_np,
                      trials=6, rng=np.random.default_rng(4), patience=6, temperature=temperature,
                      reinsertion=reinsertion) for _ in range(2)]
    W, W2 = runs[0].points, runs[1].points
    np.testing.assert_array_equal(W, W2)
    assert max_cosine_np(W) <= v0 and runs[0].value == max_cosine_np(W)
    assert numpy_scores(W)["min_distance"] >= numpy_scores(W0)["min_distance"] - 1e-15
