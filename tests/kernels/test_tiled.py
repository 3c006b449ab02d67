"""Tiled Riesz loss + gradient: equals the dense loss, matches finite differences, never forms K x K."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from _helpers import random_code

from spherecodes.errors import InvalidParameterError
from spherecodes.kernels.tiled import (
    block_bounds,
    riesz_loss_and_grad_tiled,
    riesz_loss_tiled,
    tile_rows,
)
from spherecodes.objectives import get_objective
from spherecodes.objectives import riesz as riesz_module

RIESZ = get_objective("riesz")
CASES = list(itertools.product((-1.5, -1.0, 0.0, 0.5, 1.0, 3.0, 6.0), ("euclidean", "geodesic"), (False, True)))


def _batch(B: int, K: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.stack([random_code(K, d, seed=seed + b) for b in range(B)]))


def _dense_loss_and_grad(X: torch.Tensor, params: dict, monkeypatch) -> tuple[torch.Tensor, torch.Tensor]:
    """The dense path of Riesz.loss (forced by raising the tiling thresholds) and its autograd gradient."""
    monkeypatch.setitem(riesz_module.TILED_MIN_K, "fast", 10**9)
    monkeypatch.setitem(riesz_module.TILED_MIN_K, "general", 10**9)
    Y = X.clone().requires_grad_(True)
    loss = RIESZ.loss(Y, params)
    (g,) = torch.autograd.grad(loss.sum(), Y)
    monkeypatch.undo()
    return loss.detach(), g


def _tiled_loss_and_grad(X: torch.Tensor, params: dict, tile) -> tuple[torch.Tensor, torch.Tensor]:
    Y = X.clone().requires_grad_(True)
    loss = riesz_loss_tiled(Y, params["s"], params["metric"], params["half_space"], tile=tile)
    (g,) = torch.autograd.grad(loss.sum(), Y)
    return loss.detach(), g


@pytest.mark.parametrize("s,metric,half_space", CASES)
def test_tiled_equals_dense_loss_and_gradient(s, metric, half_space, monkeypatch):
    X = _batch(2, 23, 4)
    params = RIESZ.normalise_params(s=s, metric=metric, half_space=half_space)
    want_f, want_g = _dense_loss_and_grad(X, params, monkeypatch)
    # the gradient scale: for s=-1 geodesic half_space the energy is constant (theta + (pi - theta)),
    # both gradients are rounding noise, so the absolute tolerance is relative to a unit loss scale
    atol = 1e-12 * max(float(want_g.abs().max()), 1e-3)
    for tile in (1, 5, 23, None):
        f, g = _tiled_loss_and_grad(X, params, tile)
        torch.testing.assert_close(f, want_f, rtol=1e-12, atol=1e-300)
        torch.testing.assert_close(g, want_g, rtol=1e-10, atol=atol)


def test_riesz_loss_switches_to_tiles_above_the_threshold_with_the_same_values(monkeypatch):
    K = max(riesz_module.TILED_MIN_K.values()) + 7
    assert riesz_module.use_tiled(K, 1.0, "euclidean") and riesz_module.use_tiled(K, 0.0, "geodesic")
    assert not riesz_module.use_tiled(min(riesz_module.TILED_MIN_K.values()) - 1, 1.0, "euclidean")
    X = _batch(1, K, 5, seed=3)
    for params in (RIESZ.normalise_params(s=1.0), RIESZ.normalise_params(s=0.0, metric="geodesic")):
        want_f, want_g = _dense_loss_and_grad(X, params, monkeypatch)
        Y = X.clone().requires_grad_(True)
        with tile_rows(17):
            f = RIESZ.loss(Y, params)
        (g,) = torch.autograd.grad(f.sum(), Y)
        torch.testing.assert_close(f.detach(), want_f, rtol=1e-12, atol=1e-300)
        torch.testing.assert_close(g, want_g, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("s,metric,half_space", [(1.0, "euclidean", False), (3.0, "euclidean", True),
                                                 (0.0, "geodesic", False), (-1.0, "geodesic", True)])
def test_tiled_gradient_matches_central_differences(s, metric, half_space):
    X = _batch(1, 70, 3, seed=5)
    rng = np.random.default_rng(1)
    V = torch.from_numpy(rng.normal(size=X.shape))
    V = V - (V * X).sum(-1, keepdim=True) * X  # tangent direction

    def f(Y):
        Y = Y / Y.norm(dim=-1, keepdim=True)
        return float(riesz_loss_and_grad_tiled(Y, s, metric, half_space, tile=9, want_grad=False)[0])

    _, g = riesz_loss_and_grad_tiled(X, s, metric, half_space, tile=9)
    h = 1e-6
    fd = (f(X + h * V) - f(X - h * V)) / (2 * h)
    assert float((g * V).sum()) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_loss_only_evaluation_equals_the_loss_with_gradient():
    X = _batch(3, 50, 6, seed=8)
    for s, half in ((1.0, False), (4.0, True)):
        f1, g = riesz_loss_and_grad_tiled(X, s, "euclidean", half, tile=8)
        f2, none = riesz_loss_and_grad_tiled(X, s, "euclidean", half, tile=8, want_grad=False)
        assert none is None and torch.equal(f1, f2)
        # no gradient is computed when X does not require it
        assert not riesz_loss_tiled(X, s).requires_grad


def test_large_s_and_coincident_points_stay_finite_and_match_dense(monkeypatch):
    X = _batch(2, 30, 3, seed=2)
    X[0, 4] = X[0, 9]  # coincident pair: clamped to the same tiny chord on both paths
    for s in (1.0, 50.0):
        params = RIESZ.normalise_params(s=s)
        want_f, want_g = _dense_loss_and_grad(X, params, monkeypatch)
        f, g = _tiled_loss_and_grad(X, params, 7)
        assert torch.isfinite(f).all() and torch.isfinite(g).all()
        torch.testing.assert_close(f, want_f, rtol=1e-12, atol=0)
        # Riemannian parts agree (the coincident pair's force is along x_i itself, projected away)
        def proj(G):
            return G - (G * X).sum(-1, keepdim=True) * X

        scale = float(proj(want_g).abs().max())
        torch.testing.assert_close(proj(g), proj(want_g), rtol=1e-8, atol=1e-10 * scale)


def test_nearly_coincident_points_with_large_s_stay_finite():
    # chord 1e-6: 2 - 2c carries ~1e-4 relative rounding on either path, so only finiteness is exact here
    X = _batch(1, 30, 3, seed=2)
    X[0, 2] = X[0, 3] + 1e-6 * torch.tensor([0.3, -0.2, 0.9], dtype=torch.float64)
    X[0, 2] /= X[0, 2].norm()
    f, g = riesz_loss_and_grad_tiled(X, 50.0, tile=7)
    assert torch.isfinite(f).all() and torch.isfinite(g).all()
    # the log-energy is dominated by the close pair: about -50 log(chord) = -50 log(1e-6 * |v|)
    chord = float((X[0, 2] - X[0, 3]).norm())
    assert float(f) == pytest.approx(-50.0 * np.log(chord), rel=1e-3)


def test_float32_blocks_accumulate_to_float64_accuracy_of_the_loss():
    X = _batch(1, 400, 8, seed=4)
    f64, _ = riesz_loss_and_grad_tiled(X, 1.0, tile=16, want_grad=False)
    f32, _ = riesz_loss_and_grad_tiled(X.float(), 1.0, tile=16, want_grad=False)
    assert f32.dtype == torch.float32
    # float32 rounding of the inputs and terms only (~1e-7): the sums are accumulated in float64
    assert abs(float(f32) - float(f64)) <= 1e-6 * abs(float(f64))


def test_block_bounds_cover_the_rows_once():
    assert block_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert block_bounds(10, 4, 4, 10) == [(4, 8), (8, 10)]
    assert block_bounds(3, 7) == [(0, 3)]


def test_bad_tile_names_the_parameter():
    X = _batch(1, 10, 3)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InvalidParameterError, match="invalid tile="):
            riesz_loss_and_grad_tiled(X, tile=bad)
        with pytest.raises(InvalidParameterError, match="invalid tile="):
            with tile_rows(bad):
                pass


def _hwm_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise OSError("no VmHWM")


def test_no_dense_k_by_k_tensor_is_formed():
    """K = 6000: a dense (K, K) float64 matrix is 275 MiB; the tiled loss + gradient stays far below."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak resident set size of this process
        base = _hwm_kib()
    except OSError:
        pytest.skip("peak RSS reset (/proc/self/clear_refs) not available")
    K = 6000
    X = _batch(1, K, 3, seed=6)
    Y = X.clone().requires_grad_(True)
    f = riesz_loss_tiled(Y, 1.0, tile=32)
    f.sum().backward()
    grew_mib = (_hwm_kib() - base) / 1024
    assert torch.isfinite(Y.grad).all()
    assert grew_mib < 0.25 * K * K * 8 / 2**20, f"peak grew by {grew_mib:.0f} MiB"


def test_lbfgs_on_the_tiled_loss_reuses_the_first_trial_gradient_with_the_same_iterates():
    from spherecodes.solvers.lbfgs import riemannian_lbfgs
    from spherecodes.solvers.sphere import random_points, typical_spacing

    X = random_points(2, 80, 3, torch.Generator().manual_seed(4))
    params = RIESZ.normalise_params(s=1.0)
    assert riesz_module.use_tiled(80, 1.0, "euclidean")
    kw = dict(max_iter=40, gtol=0.0, max_step=0.5 * typical_spacing(3, 80))
    new = riemannian_lbfgs(lambda Y: RIESZ.loss(Y, params), X, reuse_gradient=True, **kw)
    old = riemannian_lbfgs(lambda Y: RIESZ.loss(Y, params), X, reuse_gradient=False, **kw)
    assert torch.equal(new.iterations, old.iterations) and torch.equal(new.status, old.status)
    torch.testing.assert_close(new.X, old.X, rtol=0, atol=1e-13)
    assert new.evaluations < old.evaluations
