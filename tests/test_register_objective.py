"""An objective registered by a user goes through the whole path: generate -> certify -> catalog -> export -> head.

The objective is a Riesz variant with its own parameter: the energy sum_{i<j} |x_i - x_j|^-p for p > 0
(unordered pairs), declared with a ``Param`` that checks p. It declares no known values, bounds or first-order
condition, so validation must answer "nothing known" for it instead of refusing its name.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spherecodes import Catalog, certify, generate
from spherecodes.errors import InvalidParameterError, UnknownNameError
from spherecodes.export import load_proxies, save_proxies, to_tensor
from spherecodes.objectives import OBJECTIVES, Objective, Param, register
from spherecodes.solvers.strategies import DEFAULT_STRATEGY, get_strategy
from spherecodes.training import FixedProxyHead
from spherecodes.validation.bounds import UNIVERSAL_KINDS, bounds_for
from spherecodes.validation.known import known_optimum

NAME = "power_energy_test"


def _check_p(value: float) -> str | None:
    return None if value > 0 else "p is the exponent of |x_i - x_j|^-p and must be > 0"


def power_energy(points: np.ndarray, p: float) -> float:
    """sum_{i<j} |x_i - x_j|^-p over unordered pairs, plain numpy float64."""
    X = np.asarray(points, dtype=np.float64)
    i, j = np.triu_indices(len(X), 1)
    return float(np.sum(np.linalg.norm(X[i] - X[j], axis=1) ** -p))


class PowerEnergy(Objective):
    """Riesz variant: minimise sum_{i<j} |x_i - x_j|^-p (p > 0), loss log of the energy."""

    name = NAME
    description = "test objective: Riesz energy with exponent p"
    params = (Param("p", 2.0, float, check=_check_p, help="exponent p > 0"),)
    primary = "energy"
    maximise = False

    def loss(self, X, params):
        K = X.shape[1]
        i, j = torch.triu_indices(K, K, offset=1)
        sq = (X[:, i, :] - X[:, j, :]).pow(2).sum(-1).clamp_min(1e-300)
        return torch.logsumexp(-0.5 * float(params["p"]) * torch.log(sq), dim=1)

    def score(self, points, params):
        X = np.asarray(points, dtype=np.float64)
        cos = X @ X.T
        np.fill_diagonal(cos, -np.inf)
        c = float(cos.max())
        return {"energy": power_energy(X, float(params["p"])), "max_cosine": c,
                "min_angle_deg": math.degrees(math.acos(min(1.0, c)))}


@pytest.fixture
def objective():
    obj = register(PowerEnergy())
    yield obj
    OBJECTIVES.pop(NAME, None)


def test_parameter_declaration_is_the_schema(objective):
    assert objective.normalise_params() == {"p": 2.0}
    with pytest.raises(InvalidParameterError, match="p is the exponent"):
        objective.normalise_params(p=-1.0)
    with pytest.raises(UnknownNameError, match="p"):
        objective.normalise_params(s=1.0)
    # validation reads the same declarations: nothing known, only the bounds that hold for every code
    assert known_optimum(NAME, 3, 6) is None
    assert known_optimum(NAME, 3, 6, p=3.0) is None
    assert {b.kind for b in bounds_for(NAME, 3, 6, lp=False)} <= set(UNIVERSAL_KINDS)
    with pytest.raises(InvalidParameterError):
        bounds_for(NAME, 3, 6, p=0.0)
    assert get_strategy(NAME) is DEFAULT_STRATEGY


@pytest.mark.slow
def test_generate_certify_catalog_export_head(objective, tmp_path):
    path = tmp_path / "catalog.h5"
    # default settings apart from a private catalog (constructions, certificate and catalog on)
    code = generate(NAME, 3, 6, seed=0, catalog=path)
    assert code.objective == NAME and code.params == {"p": 2.0}
    assert code.points.shape == (6, 3)
    np.testing.assert_allclose(np.linalg.norm(code.points, axis=1), 1.0, atol=1e-12)
    assert code.scores["energy"] == pytest.approx(power_energy(code.points, 2.0), rel=1e-12)
    # the octahedron is the optimum for this completely monotone kernel; the solver must get there
    octahedron = np.vstack([np.eye(3), -np.eye(3)])
    assert code.scores["energy"] == pytest.approx(power_energy(octahedron, 2.0), rel=1e-9)

    cert = certify(code)
    assert cert.objective == NAME and cert.params == {"p": 2.0}
    assert cert.checks["unit_norm"]["ok"] and cert.checks["distinct"]["ok"] and cert.checks["bounds"]["ok"]
    assert cert.stationarity is None  # no first-order condition declared
    assert all(c.name != "known_optimum" for c in cert.comparisons)
    assert cert.verdict == "unknown"

    stored = Catalog(path).get(NAME, 3, 6, p=2.0)  # generate stored it
    assert stored is not None
    np.testing.assert_array_equal(stored.points, code.points)
    other = Catalog(tmp_path / "other.h5")
    other.put(code)
    np.testing.assert_array_equal(other.get(NAME, 3, 6).points, code.points)
    assert other.get(NAME, 3, 6, p=3.0) is None  # another parameter, another key

    t = to_tensor(code, dtype=torch.float64)
    np.testing.assert_array_equal(t.numpy(), code.points)
    out = save_proxies(code, tmp_path / "proxies.npy")
    np.testing.assert_array_equal(load_proxies(out), code.points)

    head = FixedProxyHead(code, scale=10.0)
    assert tuple(head.proxies.shape) == (6, 3)
    logits = head(torch.eye(3, dtype=head.proxies.dtype))
    assert logits.shape == (3, 6)
