"""Tiled Tammes surrogate: the dense lse_log_chord's value and gradient, any tile, no K x K buffer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import random_code

from spherecodes.errors import InvalidParameterError
from spherecodes.kernels.surrogate import lse_log_chord_tiled
from spherecodes.solvers.maxmin import STAGE_SHARPNESS, lse_log_chord


def _batch(B: int, K: int, d: int, dtype=torch.float64) -> torch.Tensor:
    return torch.from_numpy(np.stack([random_code(K, d, seed=b) for b in range(B)])).to(dtype)


def _value_and_grad(fn, X, s):
    Y = X.clone().requires_grad_(True)
    v = fn(Y, s)
    (g,) = torch.autograd.grad(v.sum(), Y)
    return v.detach(), g


@pytest.mark.parametrize("s", [2.0 * k for k in STAGE_SHARPNESS] + [1.0, 5.0])
@pytest.mark.parametrize("K,d,tile", [(7, 3, None), (40, 3, 6), (90, 8, 90), (130, 16, 17)])
def test_equals_the_dense_surrogate(s, K, d, tile):
    X = _batch(3, K, d)
    v0, g0 = _value_and_grad(lse_log_chord, X, s)
    v1, g1 = _value_and_grad(lambda Y, e: lse_log_chord_tiled(Y, e, tile=tile), X, s)
    np.testing.assert_allclose(v1.numpy(), v0.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g1.numpy(), g0.numpy(), rtol=0, atol=1e-11 * float(g0.abs().max()))


def test_float32_stays_close_to_float64():
    X = _batch(2, 200, 5)
    v64, _ = _value_and_grad(lse_log_chord_tiled, X, 512.0)
    v32, g32 = _value_and_grad(lse_log_chord_tiled, X.float(), 512.0)
    assert v32.dtype == torch.float32 and torch.isfinite(g32).all()
    np.testing.assert_allclose(v32.double().numpy(), v64.numpy(), rtol=1e-5)


def test_bounds_of_the_smooth_max():
    # -log min chord <= L_s <= -log min chord + log(K(K-1)/2) / s
    K, s = 50, 32.0
    X = _batch(1, K, 4)
    v = float(lse_log_chord_tiled(X, s)[0])
    C = X[0] @ X[0].T
    C.fill_diagonal_(-2.0)
    lower = -0.5 * np.log(2.0 - 2.0 * float(C.max()))
    assert lower <= v <= lower + np.log(K * (K - 1) / 2) / s


def test_one_exponent_per_restart_equals_separate_evaluations():
    X = _batch(3, 70, 4)
    s = torch.tensor([8.0, 32.0, 512.0], dtype=torch.float64)
    v, g = _value_and_grad(lse_log_chord_tiled, X, s)
    for b in range(3):
        vb, gb = _value_and_grad(lse_log_chord_tiled, X[b:b + 1], float(s[b]))
        np.testing.assert_allclose(v[b:b + 1].numpy(), vb.numpy(), rtol=1e-14)
        np.testing.assert_allclose(g[b:b + 1].numpy(), gb.numpy(), rtol=1e-13, atol=0)
    with pytest.raises(InvalidParameterError):
        lse_log_chord_tiled(X, s[:2])


@pytest.mark.parametrize("s", [0.0, -1.0, float("nan")])
def test_non_positive_sharpness_is_refused(s):
    with pytest.raises(InvalidParameterError) as info:
        lse_log_chord_tiled(_batch(1, 5, 3), s)
    assert info.value.param == "s"
