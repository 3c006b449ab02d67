"""Riesz objective: torch loss vs the float64 kernels, gradients, parameters, comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _helpers import random_code, random_rotation

from spherecodes.errors import InvalidParameterError, UnknownNameError
from spherecodes.kernels import riesz_energy, riesz_gradient
from spherecodes.objectives import available_objectives, get_objective
from spherecodes.objectives.riesz import riesz_energy_torch

RIESZ = get_objective("riesz")
CASES = [(s, m, h) for s in (-1.0, 0.0, 0.5, 1.0, 3.0) for m in ("euclidean", "geodesic") for h in (False, True)]


@pytest.mark.parametrize("s,metric,half_space", CASES)
def test_torch_energy_equals_float64_kernel(s, metric, half_space):
    X = np.stack([random_code(17, 4, seed=b) for b in range(3)])
    E = riesz_energy_torch(torch.from_numpy(X), s, metric, half_space)
    for b in range(3):
        assert float(E[b]) == pytest.approx(riesz_energy(X[b], s, metric, half_space), rel=1e-12)


@pytest.mark.parametrize("s,metric,half_space", CASES)
def test_loss_gradient_is_a_monotone_transform_of_the_energy_gradient(s, metric, half_space):
    """Autograd of the solver's loss, projected, equals the float64 kernel gradient times d loss / d E."""
    X = random_code(12, 3, seed=11)
    params = RIESZ.normalise_params(s=s, metric=metric, half_space=half_space)
    T = torch.from_numpy(X)[None].requires_grad_(True)
    RIESZ.loss(T, params).sum().backward()
    g = T.grad[0].numpy()
    g = g - np.sum(g * X, axis=1, keepdims=True) * X
    G = riesz_gradient(X, s, metric, half_space)
    E = riesz_energy(X, s, metric, half_space)
    n_pairs = (2 * 12) * (2 * 12 - 1) / 2 - 12 if half_space else 12 * 11 / 2
    # loss = log E (s > 0); mean of the non-constant pair terms (s <= 0), with 2x mirrored pairs for half-space
    if s > 0:
        # log of the non-constant part: the K self-antipode pairs add a constant K f(2) (or K f(pi))
        const = 12 * (2.0 if metric == "euclidean" else math.pi) ** (-s) if half_space else 0.0
        scale = 1.0 / (E - const)
    else:
        scale = 1.0 / n_pairs
    np.testing.assert_allclose(g, scale * G, rtol=1e-9, atol=1e-12)


def test_normalise_params_fills_defaults_and_coerces_cli_strings():
    assert RIESZ.normalise_params() == {"s": 1.0, "metric": "euclidean", "half_space": False}
    assert RIESZ.normalise_params(s="2", half_space="true") == {"s": 2.0, "metric": "euclidean", "half_space": True}


@pytest.mark.parametrize("bad", [{"s": float("nan")}, {"s": float("inf")}, {"s": "abc"}, {"metric": "manhattan"},
                                 {"half_space": "maybe"}])
def test_bad_parameters_name_the_parameter(bad):
    with pytest.raises(InvalidParameterError) as info:
        RIESZ.normalise_params(**bad)
    assert list(bad)[0] in str(info.value)


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="valid parameters are: s, metric, half_space"):
        RIESZ.normalise_params(eps=1.0)


def test_unknown_objective_lists_valid_ones():
    with pytest.raises(UnknownNameError) as info:
        get_objective("thomson-ish")
    for name in available_objectives():
        assert name in str(info.value)


def test_score_is_rotation_invariant_and_better_is_strict():
    X = random_code(20, 5, seed=3)
    Q = random_rotation(5, seed=4)
    params = RIESZ.normalise_params(s=1.0)
    a, b = RIESZ.score(X, params), RIESZ.score(X @ Q.T, params)
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-12, abs=1e-12)
    assert not RIESZ.better(a, a)
    worse = dict(a, energy=a["energy"] + 1)
    assert RIESZ.better(a, worse) and not RIESZ.better(worse, a)
    assert RIESZ.better(a, dict(a, energy=math.nan))
    assert not RIESZ.better(dict(a, energy=math.nan), a)


def test_loss_stays_finite_for_large_s_and_coincident_points():
    X = torch.from_numpy(random_code(10, 3, seed=5))[None].clone()
    X[0, 1] = X[0, 0]
    for s in (1.0, 50.0):
        val = RIESZ.loss(X, RIESZ.normalise_params(s=s))
        assert torch.isfinite(val).all()


@pytest.mark.parametrize("s,metric,half_space", [(1.0, "euclidean", False), (2.5, "geodesic", True),
                                                 (0.0, "euclidean", True), (-1.0, "geodesic", False)])
def test_tiled_loss_of_large_k_is_the_transform_of_the_float64_energy(s, metric, half_space):
    """K above the tiling thresholds: exp(loss) is the energy (s > 0), the loss the mean pair term (s <= 0)."""
    from spherecodes.objectives.riesz import TILED_MIN_K, use_tiled

    K = max(TILED_MIN_K.values()) + 44
    assert use_tiled(K, s, metric)
    X = random_code(K, 5, seed=21)
    params = RIESZ.normalise_params(s=s, metric=metric, half_space=half_space)
    loss = float(RIESZ.loss(torch.from_numpy(X)[None], params)[0])
    E = riesz_energy(X, s, metric, half_space)
    if half_space:
        # the loss sums f(x_i, x_j) + f(x_i, -x_j) over i < j once: the energy of the 2K points counts
        # those twice (mirrored pairs) and adds the K constant self-antipode pairs
        x = 2.0 if metric == "euclidean" else math.pi
        E = (E - K * (x ** (-s) if s > 0 else (-math.log(x) if s == 0 else -(x ** (-s))))) / 2.0
    n_terms = K * (K - 1) / 2 * (2 if half_space else 1)
    want = math.log(E) if s > 0 else E / n_terms
    assert loss == pytest.approx(want, rel=1e-12, abs=1e-13)


def test_memory_estimate_is_linear_in_k_above_the_tiling_threshold_and_the_hint_names_the_levers():
    big = RIESZ.memory_bytes(1, 20_000, 128, 8)
    assert big < 2 * 2**30 < 12 * 20_000**2 * 8  # O(K d), far below the dense O(K^2)
    hint = RIESZ.memory_hint(1, 20_000, 128)
    assert "--tile" in hint and "float32" in hint and f"{40 * 20_000 * 128 * 8 / 2**30:.2f} GiB" in hint
    assert "K^2" in RIESZ.memory_hint(1, 30, 3) or RIESZ.memory_hint(1, 30, 3) == ""
