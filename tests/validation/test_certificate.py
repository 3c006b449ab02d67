"""certify: verdicts on constructions, solver output, perturbed codes; JSON round trip.

Also: the Thomson gap to the best-known value and to the Yudin LP bound, duplicate points (an invalid
certificate naming the pair), verdicts on each objective's primary score (tammes: max_cosine minimised,
softmax_code: one_vs_rest maximised, mgd: logdet maximised), and an LP failure reported as a note.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import random_code, reference_rows

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


# ----------------------------------------------------------------------------- Thomson gap to the LP bound
def spiral_points(N: int) -> np.ndarray:
    """Generalised spiral on S^2 (Rakhmanov, Saff & Zhou 1994): deterministic, close to but not a minimiser."""
    k = np.arange(N)
    z = 1.0 - (2.0 * k + 1.0) / N
    phi = k * np.pi * (3.0 - np.sqrt(5.0))
    r = np.sqrt(1.0 - z * z)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def plain_energy(X: np.ndarray) -> float:
    i, j = np.triu_indices(len(X), 1)
    return float(np.sum(1.0 / np.linalg.norm(X[i] - X[j], axis=1)))


def test_thomson_certificate_reports_gaps_to_the_best_known_value_and_to_the_lp_bound():
    best = {int(r["N"]): float(r["energy"]) for r in reference_rows("thomson_s2.csv")}
    X = spiral_points(50)
    E = plain_energy(X)
    cert = certify(X, "riesz", lp=True)
    assert cert.scores["energy"] == pytest.approx(E, rel=1e-12)
    known = cert.comparison("known_optimum")
    assert known.kind == "best_known" and known.reference == pytest.approx(best[50], abs=5e-9)
    assert known.gap == pytest.approx(E - best[50], rel=1e-9) and known.gap > 0
    assert cert.verdict.startswith("below_best_known") and cert.ok
    lp = cert.comparison("yudin_energy")
    assert lp.kind == "energy_lower" and lp.reference <= best[50]
    assert lp.gap == pytest.approx(E - lp.reference, rel=1e-12)
    assert lp.rel_gap == pytest.approx(lp.gap / lp.reference, rel=1e-12)
    assert (best[50] - lp.reference) / best[50] < 1e-3  # the bound is within 0.1% of the best known energy
    assert "yudin_energy" in cert.table() and "rel gap" in cert.table()


# ----------------------------------------------------------------------------- duplicates
def test_duplicate_points_make_the_certificate_invalid_and_name_the_pair():
    X = sc.construct_points("icosahedron", 3, 12)
    Y = np.vstack([X, X[4]])
    for objective, params in (("riesz", {}), ("tammes", {}), ("softmax_code", {}), ("mgd", {"eps": 1.0})):
        cert = certify(Y, objective, lp=False, **params)
        assert not cert.ok and not cert.checks["distinct"]["ok"]
        assert cert.verdict.startswith("invalid (duplicate points: rows 4 and 12")
        assert "tol 1.5e-08" in cert.checks["distinct"]["reason"]
        assert "stationary" not in cert.checks and cert.rattlers == []  # no first-order analysis of such a code
        data = json.loads(json.dumps(cert.to_dict(), allow_nan=False))  # strict JSON even with energy = inf
        assert data["ok"] is False and data["checks"]["distinct"]["ok"] is False
    # near duplicates: 1e-9 apart counts as the same point, 1e-6 apart does not
    near = X[4] + np.array([0.0, 1e-9, 0.0])
    assert not certify(np.vstack([X, near / np.linalg.norm(near)]), lp=False).checks["distinct"]["ok"]
    far = X[4] + np.array([0.0, 1e-6, 0.0])
    cert = certify(np.vstack([X, far / np.linalg.norm(far)]), lp=False)
    assert cert.checks["distinct"]["ok"] and cert.ok


# ----------------------------------------------------------------------------- objectives: primary score decides
def test_tammes_verdict_uses_max_cosine_minimised():
    X = sc.construct_points("icosahedron", 3, 12)
    cert = certify(X, "tammes", lp=False)
    assert (cert.primary, cert.maximise) == ("max_cosine", False)
    assert cert.verdict == "optimal" and cert.comparison("known_optimum").verdict == "optimal"
    Y = X.copy()
    Y[0] = Y[0] + 0.05 * Y[1]  # pushes point 0 towards point 1: larger max cosine, worse
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    cert = certify(Y, "tammes", lp=False)
    G = Y @ Y.T
    np.fill_diagonal(G, -1.0)
    gap = G.max() - 1.0 / np.sqrt(5.0)
    assert gap > 0 and cert.verdict == f"gap={gap:.3g}"


def test_softmax_code_verdict_uses_one_vs_rest_maximised():
    cross = sc.construct_points("cross_polytope", 3, 6)
    cert = certify(cross, "softmax_code", lp=False)
    assert (cert.primary, cert.maximise) == ("one_vs_rest", True)
    assert cert.verdict == "optimal"  # Theorem 3.3: d + 1 < K <= 2d gives 1
    assert cert.scores["one_vs_rest"] == pytest.approx(1.0, abs=1e-9)
    ico = sc.construct_points("icosahedron", 3, 12)
    cert = certify(ico, "softmax_code", lp=False)
    upper = cert.comparison("softmax_code")
    # no known optimum at (3, 12): the verdict is the gap below the Theorem 3.9 upper bound (bound - value > 0),
    # even though the icosahedron attains Fejes Toth's bound on max_cosine, which is not this objective's score
    assert cert.comparison("fejes_toth").verdict.startswith("attains")
    assert upper.gap == pytest.approx(upper.reference - cert.scores["one_vs_rest"], rel=1e-12) and upper.gap > 0
    assert cert.verdict == f"gap={upper.gap:.3g}"


def test_mgd_verdict_uses_logdet_maximised():
    X = sc.construct_points("icosahedron", 3, 12)
    cert = certify(X, "mgd", lp=False, eps=1.0)
    assert (cert.primary, cert.maximise) == ("logdet", True)
    logdet = mgd_logdet(X, 1.0)
    assert cert.scores["logdet"] == pytest.approx(logdet, rel=1e-9)
    # Hadamard: logdet <= 0, so the gap is -logdet; not "optimal" although max_cosine attains Fejes Toth
    assert cert.comparison("hadamard").gap == pytest.approx(-logdet, rel=1e-9)
    assert cert.verdict == f"gap={-cert.scores['logdet']:.3g}"
    pair = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    cert = certify(pair, "mgd", lp=False, eps=0.5)
    assert cert.verdict == "optimal"
    assert cert.scores["logdet"] == pytest.approx(np.log1p(-np.exp(-8 * 0.25)), rel=1e-12)


# ----------------------------------------------------------------------------- interface, failures
def test_certify_interface_and_bad_input():
    import inspect

    sig = inspect.signature(sc.certify)
    assert list(sig.parameters)[:2] == ["code_or_points", "objective"]
    X = sc.construct_points("simplex", 3, 4)
    assert certify(X).objective == "riesz"  # a bare array defaults to riesz
    code = sc.construct("simplex", 3, 4)
    assert certify(code, "tammes", lp=False).objective == "tammes"
    from spherecodes.errors import InvalidParameterError, UnknownNameError

    with pytest.raises(UnknownNameError, match="riesz"):
        certify(X, "thomson")
    with pytest.raises(InvalidParameterError, match="unit norm"):
        certify(2.0 * X)
    with pytest.raises(InvalidParameterError, match="finite"):
        certify(np.full((3, 3), np.nan))
    with pytest.raises(InvalidParameterError):
        certify(X, "riesz", eps=1.0)


def test_a_failing_lp_bound_is_a_note_not_a_crash(monkeypatch):
    import spherecodes.validation.bounds as bounds_module
    from spherecodes.errors import SolverError

    def fail(*args, **kwargs):
        raise SolverError("LP solver SCIPY returned status 'numerical trouble'")

    monkeypatch.setattr(bounds_module, "yudin_energy_bound", fail)
    cert = certify(random_code(20, 3, seed=1), "riesz", lp=True)
    assert cert.comparison("yudin_energy") is None and cert.comparison("delsarte_lp") is not None
    assert any("yudin_energy not computed" in n and "numerical trouble" in n for n in cert.notes)
    assert cert.ok


# --- large-K behaviour: the KKT skip and the memory refusal ----------------------------------------------

@pytest.mark.parametrize("name,d,K", [("simplex", 6, 7), ("cross_polytope", 5, 10), ("orthoplex", 8, 12)])
def test_tammes_kkt_is_skipped_when_a_bound_proves_the_code_optimal(name, d, K):
    cert = certify(sc.construct(name, d, K, objective="tammes"))
    assert cert.verdict == "optimal"
    assert cert.stationarity is None
    assert cert.checks["stationary"]["ok"]
    assert cert.checks["stationary"]["reason"].startswith("skipped: optimal by the rankin bound")
    assert any("attains the rankin bound" in n for n in cert.notes)
    assert cert.rattlers == []


def test_tammes_kkt_is_computed_when_no_bound_is_attained():
    cert = certify(random_code(30, 3, seed=1), objective="tammes")
    assert cert.stationarity is not None and cert.stationarity > 0
    assert cert.checks["stationary"]["reason"].startswith("relative first-order residual")


def test_certify_refuses_before_allocating_when_memory_is_short(monkeypatch):
    from spherecodes.errors import ResourceError
    from spherecodes.validation import memory

    monkeypatch.setattr(memory, "free_memory_bytes", lambda: 10 * 2**20)
    X = random_code(2000, 64, seed=0)
    with pytest.raises(ResourceError) as info:
        certify(X, objective="tammes")
    msg = str(info.value)
    assert "stage needs about" in msg and "GiB free" in msg and "certify=False" in msg
    assert "d=64 K=2000" in msg
