"""Batched Riemannian L-BFGS: batched equals a loop of single runs; it converges; masks freeze restarts."""

from __future__ import annotations

import torch

from spherecodes.kernels import riesz_gradient
from spherecodes.objectives import get_objective
from spherecodes.solvers.lbfgs import STOP_REASONS, riemannian_lbfgs
from spherecodes.solvers.sphere import random_points, typical_spacing

RIESZ = get_objective("riesz")
PARAMS = RIESZ.normalise_params(s=1.0)


def _loss(X):
    return RIESZ.loss(X, PARAMS)


def test_batched_equals_loop_of_single_runs():
    X = random_points(4, 9, 3, torch.Generator().manual_seed(0))
    step = 0.5 * typical_spacing(3, 9)
    batched = riemannian_lbfgs(_loss, X, max_iter=200, gtol=1e-10, max_step=step)
    for b in range(4):
        single = riemannian_lbfgs(_loss, X[b:b + 1], max_iter=200, gtol=1e-10, max_step=step)
        assert int(single.iterations[0]) == int(batched.iterations[b])
        torch.testing.assert_close(single.X[0], batched.X[b], rtol=0, atol=1e-12)
        torch.testing.assert_close(single.loss[0], batched.loss[b], rtol=1e-14, atol=0)


def test_converges_to_a_stationary_point_of_the_float64_energy():
    X = random_points(3, 14, 3, torch.Generator().manual_seed(1))
    out = riemannian_lbfgs(_loss, X, max_iter=2000, gtol=1e-11, max_step=0.5 * typical_spacing(3, 14))
    assert set(out.status.tolist()) <= {1, 2}, [STOP_REASONS[s] for s in out.status.tolist()]
    for b in range(3):
        P = out.X[b].numpy()
        G = riesz_gradient(P, 1.0)  # independent float64 kernel
        E_scale = 14 * 13 / 2 / 1.0
        assert abs(G).max() < 1e-7 * E_scale
        # iterates stay on the sphere
        assert torch.allclose(out.X[b].norm(dim=1), torch.ones(14, dtype=torch.float64), atol=1e-14)


def test_loss_never_increases_and_iteration_limit_is_reported():
    X = random_points(2, 30, 3, torch.Generator().manual_seed(2))
    out = riemannian_lbfgs(_loss, X, max_iter=5, gtol=0.0, max_step=0.5 * typical_spacing(3, 30))
    assert (out.status == 3).all() and (out.iterations == 5).all()
    assert all(b <= a + 1e-15 for a, b in zip(out.history, out.history[1:]))


def test_finished_restarts_are_frozen():
    # restart 0 starts at the optimum (tetrahedron is stationary): it must not move at all
    g = torch.Generator().manual_seed(3)
    X = random_points(2, 4, 3, g)
    tet = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64) / 3**0.5
    X[0] = tet
    out = riemannian_lbfgs(_loss, X, max_iter=100, gtol=1e-10, max_step=0.5)
    assert int(out.iterations[0]) == 0 and torch.equal(out.X[0], tet)
    assert int(out.iterations[1]) > 0
