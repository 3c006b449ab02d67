"""certify: verdicts on constructions, solver output, perturbed codes; JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import random_code

import spherecodes as sc
from spherecodes.validation import certify, mgd_logdet, mgd_stationarity, riesz_stationarity


def test_universal_optimum_is_certified_optimal_with_lp_bounds():
    cert = certify(sc.construct("icosahedron", 3, 12), lp=True)
    assert cert.verdict == "optimal" and cert.ok
    names = {c.name: c for c in cert.comparisons}
    assert names["known_optimum"].verdict == "optimal"
    assert names["yudin_energy"].verdict.startswith("attains bound")
    assert cert.stationarity < 1e-12


def test_perturbed_code_has_a_gap_and_is_not_stationary():
    X = sc.construct_points("icosahedron", 3, 12).copy()
    X[0] += 1e-3 * np.array([0.3, -0.2, 0.5])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    cert = certify(X, "riesz", lp=False)
    assert cert.verdict.startswith("gap=")
    assert not cert.checks["stationary"]["ok"] and cert.ok  # valid, just not optimal
    assert cert.stationarity > 1e-5


def test_random_code_respects_every_bound_and_round_trips_to_json():
    cert = certify(random_code(30, 4, seed=2), "riesz", lp=True)
    assert cert.checks["bounds"]["ok"]
    data = json.loads(cert.to_json())
    assert data["objective"] == "riesz" and data["K"] == 30 and data["ok"] is True
    assert all(c["gap"] >= -1e-9 for c in data["comparisons"] if c["kind"] in ("max_cosine_lower", "energy_lower"))


def test_riesz_stationarity_is_zero_at_a_symmetric_optimum_and_rotation_invariant():
    X = sc.construct_points("cross_polytope", 5, 10)
    assert riesz_stationarity(X, 1.0) < 1e-14
    Y = random_code(12, 3, seed=4)
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    assert riesz_stationarity(Y @ Q.T) == pytest.approx(riesz_stationarity(Y), rel=1e-10)


def test_mgd_metrics():
    X = sc.construct_points("simplex", 4, 5)
    # simplex: G = (1 - a) I + a 11^T with a = exp(-eps^2 * 2K/(K-1)); det = (1-a)^(K-1) (1 + (K-1) a)
    a = np.exp(-2.0 * 5 / 4)
    assert mgd_logdet(X, 1.0) == pytest.approx(4 * np.log(1 - a) + np.log(1 + 4 * a), rel=1e-12)
    assert mgd_stationarity(X, 1.0) < 1e-12
    Y = np.vstack([X, X[:1]])
    assert mgd_logdet(Y, 1.0) == -np.inf
