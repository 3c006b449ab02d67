"""MGD objective: log det of the Gaussian Gram matrix vs numpy, eps validation, gradients, simplex, the solver."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from _helpers import random_code, random_rotation

import spherecodes
from spherecodes.constructions import construct_points
from spherecodes.errors import InvalidParameterError
from spherecodes.objectives import get_objective
from spherecodes.objectives.mgd import mgd_logdet_torch, simplex_logdet
from spherecodes.solvers import solve

MGD = get_objective("mgd")


def numpy_logdet(X: np.ndarray, eps: float) -> float:
    """Independent reference: explicit double loop for G, numpy slogdet."""
    K = len(X)
    G = np.empty((K, K))
    for i in range(K):
        for j in range(K):
            G[i, j] = math.exp(-eps * eps * float(np.sum((X[i] - X[j]) ** 2)))
    sign, logdet = np.linalg.slogdet(G)
    assert sign > 0
    return float(logdet)


def test_params_default_and_validation():
    assert MGD.primary == "logdet" and MGD.maximise is True
    assert MGD.normalise_params() == {"eps": 1.0}
    assert MGD.normalise_params(eps="0.5") == {"eps": 0.5}
    for bad in (0.0, -1.0, "0", float("nan")):
        with pytest.raises(InvalidParameterError) as info:
            MGD.normalise_params(eps=bad)
        assert "eps" in str(info.value)
    with pytest.raises(InvalidParameterError):
        spherecodes.generate("mgd", 3, 4, eps=0.0, catalog=False)


@pytest.mark.parametrize("eps", [0.25, 1.0, 2.0])
@pytest.mark.parametrize("K,d,seed", [(6, 3, 0), (12, 5, 1)])
def test_score_matches_numpy(eps, K, d, seed):
    X = random_code(K, d, seed)
    s = MGD.score(X, {"eps": eps})
    assert s["logdet"] == pytest.approx(numpy_logdet(X, eps), rel=1e-10, abs=1e-10)
    assert s["logdet"] <= 0.0  # Hadamard: det G <= prod G_ii = 1
    t = mgd_logdet_torch(torch.from_numpy(X)[None], eps)
    assert float(t[0]) == pytest.approx(s["logdet"], rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("eps", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("d,K", [(3, 4), (6, 5)])
def test_simplex_closed_form(eps, d, K):
    X = construct_points("simplex", d, K)
    assert MGD.score(X, {"eps": eps})["logdet"] == pytest.approx(simplex_logdet(K, eps), rel=1e-12)
    assert simplex_logdet(K, eps) == pytest.approx(numpy_logdet(X, eps), rel=1e-10)


def test_rotation_invariance():
    X = random_code(9, 4, 2)
    a, b = MGD.score(X, {"eps": 1.0}), MGD.score(X @ random_rotation(4, 3), {"eps": 1.0})
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-11, abs=1e-12)


def test_near_identity_gram_keeps_its_log_determinant():
    # eps = 4: G = I + E with |E| ~ 1e-19; log det ~ -sum_{i<j} G_ij^2 must not round to 0
    X = construct_points("simplex", 3, 4)
    v = MGD.score(X, {"eps": 4.0})["logdet"]
    a = math.exp(-2.0 * 16.0 * 4 / 3)
    assert v < 0
    assert v == pytest.approx(-6 * a * a, rel=1e-6)  # -K(K-1)/2 a^2 to leading order
    assert v == pytest.approx(simplex_logdet(4, 4.0), rel=1e-12)
    assert float(mgd_logdet_torch(torch.from_numpy(X)[None], 4.0)[0]) == pytest.approx(v, rel=1e-10)


def test_coincident_points_give_minus_inf_score_and_finite_loss():
    X = random_code(6, 3, 4)
    X[3] = X[0]
    s = MGD.score(X, {"eps": 1.0})
    assert s["logdet"] == -math.inf
    assert not any(math.isnan(v) for v in s.values())
    L = MGD.loss(torch.from_numpy(X)[None], {"eps": 1.0})
    assert torch.isfinite(L).all()


def test_loss_gradient_matches_finite_differences_and_batches():
    X = np.stack([random_code(7, 3, 5), random_code(7, 3, 6)])
    T = torch.from_numpy(X).clone().requires_grad_(True)
    L = MGD.loss(T, {"eps": 0.8})
    for b in range(2):
        assert float(L[b].detach()) == pytest.approx(math.log(-numpy_logdet(X[b], 0.8)), rel=1e-12)
        assert float(MGD.loss(torch.from_numpy(X[b:b + 1]), {"eps": 0.8})[0]) == pytest.approx(float(L[b].detach()),
                                                                                    rel=1e-14)
    L.sum().backward()
    rng = np.random.default_rng(7)
    V = rng.normal(size=X[0].shape)
    h = 1e-6
    analytic = float(np.sum(T.grad[0].numpy() * V))
    numeric = (math.log(-numpy_logdet(X[0] + h * V, 0.8)) - math.log(-numpy_logdet(X[0] - h * V, 0.8))) / (2 * h)
    assert analytic == pytest.approx(numeric, rel=1e-6)


def test_solver_reaches_simplex_for_small_k():
    # bench/mgd_simplex.py finds the simplex optimal for K <= d+1; here one quick case, solver alone
    res = solve("mgd", 3, 4, restarts=4, rounds=0, seed=0, eps=1.0)
    assert res.scores["logdet"] == pytest.approx(simplex_logdet(4, 1.0), abs=1e-9)


def test_cli_generate_mgd_json():
    from click.testing import CliRunner

    from spherecodes.cli import cli

    result = CliRunner().invoke(cli, ["generate", "mgd", "-d", "3", "-K", "5", "--eps", "0.5", "--json", "-q",
                                      "--no-catalog",
                                      "--restarts", "2", "--rounds", "0", "--seed", "0"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert payload["params"] == {"eps": 0.5}
    assert "logdet" in payload["scores"] and math.isfinite(payload["scores"]["logdet"])
    bad = CliRunner().invoke(cli, ["generate", "mgd", "-d", "3", "-K", "5", "--eps", "-1", "-q", "--no-catalog"])
    assert bad.exit_code == 2 and "eps" in bad.output


@pytest.mark.parametrize("eps", [1e-10, 1e155, 1e300])
def test_extreme_eps_never_nan(eps):
    # tiny eps: G is all ones to rounding (singular, -inf); huge eps: eps^2 overflows, G is the identity (0)
    X = random_code(5, 3, 8)
    s = MGD.score(X, {"eps": eps})
    assert not math.isnan(s["logdet"])
    assert s["logdet"] == (-math.inf if eps < 1 else 0.0)
    T = torch.from_numpy(X)[None].clone().requires_grad_(True)
    L = MGD.loss(T, {"eps": eps})
    L.sum().backward()
    assert torch.isfinite(L).all() and torch.isfinite(T.grad).all()
