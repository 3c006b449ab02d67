"""Tests for spherecodes.validation.bounds.

Every bound is checked (i) to hold on explicit constructions and on random codes, whose scores are
computed here with plain numpy, (ii) to be sharp where the literature says so, and (iii) to reproduce
published numbers:

* Delsarte LP / Levenshtein: 240 for (d, s) = (8, 1/2) and 196560 for (24, 1/2) (Levenshtein, Soviet Math.
  Dokl. 20 (1979); Odlyzko & Sloane, J. Combin. Theory A 26 (1979) 210-214), 13.158 for the kissing
  problem in d = 3 (Odlyzko & Sloane 1979, Table 1), and the sharp configurations of
  /work/shared/reference/codes_d4_d5.csv (Cohn & Kumar 2007, Table 1), which attain Levenshtein's bound.
* Yudin: sharp for the simplex, cross-polytope, icosahedron, E8 (Cohn & Kumar 2007).
* Fejes Toth: sharp for K = 3, 4, 6, 12 on S^2 (Fejes Toth 1943).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import plain_max_cosine as max_cosine
from _helpers import random_code, reference_rows
from scipy.optimize import nnls

import spherecodes.validation.bounds as bounds_module
from spherecodes.errors import InvalidParameterError, SolverError, UnknownNameError
from spherecodes.validation.bounds import (
    BOUNDS,
    KINDS,
    KUIJLAARS_SAFF_CONSTANT,
    BoundValue,
    assert_bound,
    bounds_for,
    check_bound,
    coulomb_asymptotic_energy,
    delsarte_lp_max_cosine_bound,
    delsarte_lp_size,
    delsarte_lp_size_bound,
    fejes_toth_bound,
    gegenbauer,
    get_bound,
    levenshtein_max_cosine_bound,
    levenshtein_size_bound,
    rankin_bound,
    riesz_energy_lower_bound,
    riesz_kernel,
    softmax_code_bounds,
    yudin_degree,
    yudin_energy_bound,
)

PHI = (1.0 + math.sqrt(5.0)) / 2.0


# ----------------------------------------------------------------------------- constructions (built here)
def unit(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def simplex(d: int, K: int) -> np.ndarray:
    """Regular simplex with K <= d + 1 vertices in R^d: centred basis vectors of R^K, in K - 1 coordinates."""
    E = np.eye(K) - 1.0 / K
    U, S, _ = np.linalg.svd(E)
    Y = U[:, : K - 1] * S[: K - 1]
    X = np.zeros((K, d))
    X[:, : K - 1] = Y
    return unit(X)


def cross_polytope(d: int) -> np.ndarray:
    return np.vstack([np.eye(d), -np.eye(d)])


def polygon(K: int) -> np.ndarray:
    a = 2.0 * np.pi * np.arange(K) / K
    return np.column_stack([np.cos(a), np.sin(a)])


def icosahedron() -> np.ndarray:
    pts = []
    for a in (1.0, -1.0):
        for b in (1.0, -1.0):
            pts += [[0.0, a, b * PHI], [a, b * PHI, 0.0], [b * PHI, 0.0, a]]
    return unit(pts)


def e8_roots() -> np.ndarray:
    pts = []
    for i in range(8):
        for j in range(i + 1, 8):
            for si in (1.0, -1.0):
                for sj in (1.0, -1.0):
                    v = np.zeros(8)
                    v[i], v[j] = si, sj
                    pts.append(v)
    for mask in range(256):
        signs = np.array([-1.0 if mask >> k & 1 else 1.0 for k in range(8)])
        if np.sum(signs < 0) % 2 == 0:
            pts.append(0.5 * signs)
    return unit(pts)


def energy(X: np.ndarray, s: float, metric: str = "euclidean", half_space: bool = False) -> float:
    """Riesz energy over unordered pairs (half_space: of the 2K points X and -X)."""
    if half_space:
        X = np.vstack([X, -X])
    iu = np.triu_indices(X.shape[0], 1)
    if metric == "euclidean":
        r = np.linalg.norm(X[iu[0]] - X[iu[1]], axis=1)
    else:
        r = np.arccos(np.clip(np.sum(X[iu[0]] * X[iu[1]], axis=1), -1.0, 1.0))
    if s > 0:
        return float(np.sum(r ** -s))
    if s == 0:
        return float(np.sum(-np.log(r)))
    return float(-np.sum(r ** -s))


def one_vs_rest(X: np.ndarray) -> float:
    """min_k dist(x_k, conv(others)) by NNLS with a heavily weighted sum-to-one row."""
    best = np.inf
    for k in range(X.shape[0]):
        P = np.delete(X, k, axis=0)
        w = 1e4
        A = np.vstack([P.T, w * np.ones((1, P.shape[0]))])
        b = np.concatenate([X[k], [w]])
        lam, _ = nnls(A, b)
        lam /= lam.sum()
        best = min(best, float(np.linalg.norm(X[k] - lam @ P)))
    return best


# ----------------------------------------------------------------------------- Gegenbauer / kernel
def test_gegenbauer_normalisation_and_known_families():
    t = np.linspace(-1, 1, 101)
    G2 = gegenbauer(2, 8, t)
    theta = np.arccos(t)
    for k in range(9):
        np.testing.assert_allclose(G2[k], np.cos(k * theta), atol=1e-12)  # Chebyshev T_k
    G3 = gegenbauer(3, 8, t)
    for k in range(9):
        np.testing.assert_allclose(G3[k], np.polynomial.legendre.Legendre.basis(k)(t), atol=1e-12)
    for d in (4, 8, 24):
        np.testing.assert_allclose(gegenbauer(d, 12, [1.0])[:, 0], 1.0, rtol=1e-13)


def test_gegenbauer_gram_matrices_are_positive_semidefinite():
    X = random_code(40, 5, seed=3)
    G = gegenbauer(5, 10, (X @ X.T).ravel()).reshape(11, 40, 40)
    for k in range(11):
        assert np.linalg.eigvalsh(G[k]).min() > -1e-9


def test_riesz_kernel_conventions():
    t = np.array([-1.0, 0.0, 0.5])
    r = np.sqrt(2 - 2 * t)
    np.testing.assert_allclose(riesz_kernel(t, 1.0), 1 / r)
    np.testing.assert_allclose(riesz_kernel(t, 0.0), -np.log(r))
    np.testing.assert_allclose(riesz_kernel(t, -1.0), -r)
    np.testing.assert_allclose(riesz_kernel(t, 2.0, "geodesic"), np.arccos(t) ** -2.0)
    assert riesz_kernel(1.0, 1.0) == np.inf


# ----------------------------------------------------------------------------- Rankin
@pytest.mark.parametrize("d", [2, 3, 5, 8])
def test_rankin_sharp_for_simplex_and_cross_polytope(d):
    for K in range(2, d + 2):
        assert rankin_bound(d, K) == pytest.approx(max_cosine(simplex(d, K)), abs=1e-14)
    assert rankin_bound(d, 2 * d) == pytest.approx(max_cosine(cross_polytope(d)), abs=1e-15)


@pytest.mark.parametrize("d,K", [(3, 3), (3, 5), (4, 7), (4, 30), (6, 7), (10, 200)])
def test_rankin_holds_on_random_codes(d, K):
    for seed in range(5):
        assert max_cosine(random_code(K, d, seed)) >= rankin_bound(d, K)


# ----------------------------------------------------------------------------- Fejes Toth
def test_fejes_toth_sharp_cases():
    tri = np.array([[1.0, 0, 0], [-0.5, math.sqrt(3) / 2, 0], [-0.5, -math.sqrt(3) / 2, 0]])
    for K, X in [(3, tri), (4, simplex(3, 4)), (6, cross_polytope(3)), (12, icosahedron())]:
        assert fejes_toth_bound(K) == pytest.approx(max_cosine(X), abs=1e-14), K


def test_fejes_toth_holds_on_random_codes_and_on_the_tammes_table():
    for K in range(3, 31):
        assert max_cosine(random_code(K, 3, seed=K)) >= fejes_toth_bound(K)
    for row in reference_rows("tammes_s2.csv"):
        N = int(row["N"])
        if N >= 3:
            # best-known codes are codes: their max cosine (7-decimal angle) respects the bound
            assert math.cos(math.radians(float(row["min_angle_deg"]))) >= fejes_toth_bound(N) - 1e-8, N


def test_fejes_toth_applies_only_on_s2():
    b = get_bound("fejes_toth")
    assert b.compute(4, 12) is None and "S^2" in b.applies(4, 12)
    assert b.compute(3, 2) is None
    assert b.applies(3, 12) is None


# ----------------------------------------------------------------------------- Levenshtein
def test_levenshtein_kissing_e8_and_leech():
    assert levenshtein_size_bound(8, 0.5) == pytest.approx(240, rel=1e-12)
    assert levenshtein_size_bound(24, 0.5) == pytest.approx(196560, rel=1e-12)


def test_levenshtein_attained_by_sharp_configurations():
    rows = [r for r in reference_rows("codes_d4_d5.csv") if r["status"].startswith("optimal (sharp")]
    assert len(rows) >= 10
    from spherecodes.validation.known import parse_exact

    for r in rows:
        d, N, s = int(r["d"]), int(r["N"]), parse_exact(r["max_inner_product"])
        assert levenshtein_size_bound(d, s) == pytest.approx(N, rel=1e-10), (d, N)
    assert levenshtein_size_bound(3, 1 / math.sqrt(5)) == pytest.approx(12, rel=1e-12)  # icosahedron
    # the 600-cell is universally optimal but not sharp: the bound is not attained
    assert levenshtein_size_bound(4, (1 + math.sqrt(5)) / 4) > 120.5


@pytest.mark.parametrize("d", [2, 3, 5, 9])
def test_levenshtein_first_two_pieces_closed_form(d):
    # L_1 = (s - 1)/s on [-1, -1/d] (simplex bound) and L_2 = 2d(1 - s)/(1 - d s) on [-1/d, 0]
    for s in np.linspace(-1, -1 / d, 7):
        assert levenshtein_size_bound(d, s) == pytest.approx((s - 1) / s, rel=1e-12)
    for s in np.linspace(-1 / d, 0, 7):
        assert levenshtein_size_bound(d, s) == pytest.approx(2 * d * (1 - s) / (1 - d * s), rel=1e-12)


def test_levenshtein_regular_polygon_in_the_plane():
    for K in range(3, 12):
        assert levenshtein_size_bound(2, math.cos(2 * math.pi / K)) == pytest.approx(K, rel=1e-12)


def test_levenshtein_is_increasing_and_infinite_at_one():
    s = np.linspace(-1, 0.95, 60)
    L = [levenshtein_size_bound(4, x) for x in s]
    assert np.all(np.diff(L) > 0)
    assert levenshtein_size_bound(4, 1.0) == math.inf


def test_levenshtein_max_cosine_sharp_and_valid():
    assert levenshtein_max_cosine_bound(8, 240) == pytest.approx(0.5, abs=1e-10)
    assert levenshtein_max_cosine_bound(24, 196560) == pytest.approx(0.5, abs=1e-10)
    assert levenshtein_max_cosine_bound(3, 12) == pytest.approx(1 / math.sqrt(5), abs=1e-10)
    assert levenshtein_max_cosine_bound(3, 12) <= 1 / math.sqrt(5)
    assert levenshtein_max_cosine_bound(5, 4) == -1 / 3
    for d, K in [(3, 20), (4, 30), (6, 50), (8, 300)]:
        for seed in range(3):
            assert max_cosine(random_code(K, d, seed)) >= levenshtein_max_cosine_bound(d, K)
    assert max_cosine(e8_roots()) >= levenshtein_max_cosine_bound(8, 240) - 1e-12


# ----------------------------------------------------------------------------- Delsarte LP
def test_delsarte_lp_e8_kissing_is_240():
    value, coef = delsarte_lp_size_bound(8, 0.5, n_max=7, return_coefficients=True)
    assert value == pytest.approx(240.0, abs=1e-6)
    assert value >= 240.0 - 1e-9  # a valid bound cannot be below a code that exists
    assert coef[0] == 1.0 and np.all(coef[1:] >= 0)
    t = np.linspace(-1, 0.5, 3001)
    assert np.max(coef @ gegenbauer(8, 7, t)) <= 1e-8 * value  # the certificate is (almost) feasible


def test_delsarte_lp_leech_kissing_is_196560():
    value = delsarte_lp_size_bound(24, 0.5, n_max=11)
    assert value == pytest.approx(196560.0, rel=1e-8)
    assert value >= 196560.0 * (1 - 1e-12)


def test_delsarte_lp_icosahedron_and_three_dimensional_kissing():
    assert delsarte_lp_size_bound(3, 1 / math.sqrt(5), n_max=6) == pytest.approx(12.0, rel=1e-8)
    # Odlyzko & Sloane (1979): the LP bound for the kissing number in R^3 is 13.158...
    value = delsarte_lp_size_bound(3, 0.5, n_max=10)
    assert 13.1575 < value < 13.1590
    assert value <= levenshtein_size_bound(3, 0.5)  # 13.2857: the LP is stronger


def test_delsarte_lp_below_levenshtein_and_above_real_codes():
    for d, s in [(4, 0.3), (3, 0.8)]:
        assert delsarte_lp_size_bound(d, s, n_max=12) <= levenshtein_size_bound(d, s) * (1 + 1e-9)
    X = random_code(25, 4, seed=11)
    assert delsarte_lp_size_bound(4, max_cosine(X), n_max=8) >= 25


def test_delsarte_lp_infeasible_degree_gives_infinity():
    # degree 1: 1 + f_1 t <= 0 on [-1, 1/2] is impossible with f_1 >= 0
    assert delsarte_lp_size_bound(5, 0.5, n_max=1) == math.inf
    # for s < 0 degree 1 suffices: 1 - 1/s
    assert delsarte_lp_size_bound(5, -0.25, n_max=1) == pytest.approx(5.0, rel=1e-9)


def test_delsarte_lp_max_cosine_sharp_for_e8():
    value = delsarte_lp_max_cosine_bound(8, 240, n_max=6, tol=1e-6)
    assert 0.5 - 2e-6 <= value <= 0.5


def test_delsarte_lp_max_cosine_holds_on_codes():
    bound = delsarte_lp_max_cosine_bound(3, 13, n_max=8, tol=1e-5)
    assert bound >= levenshtein_max_cosine_bound(3, 13) - 1e-5  # degree 8 covers Levenshtein's polynomial
    for seed in range(5):
        assert max_cosine(random_code(13, 3, seed)) >= bound
    assert delsarte_lp_max_cosine_bound(6, 5) == -0.25  # K <= d + 1: Rankin, exact


# ----------------------------------------------------------------------------- Yudin
@pytest.mark.parametrize("d,K,s", [(3, 4, 1.0), (3, 4, 0.0), (3, 4, -1.0), (5, 4, 2.5), (6, 7, 1.0), (6, 7, -0.5)])
def test_yudin_sharp_for_the_simplex(d, K, s):
    bound = yudin_energy_bound(d, K, s, n_max=2)
    exact = energy(simplex(d, K), s)
    assert bound <= exact + 1e-9 * abs(exact)
    assert bound == pytest.approx(exact, rel=1e-8, abs=1e-9)


def test_yudin_sharp_for_cross_polytope_icosahedron_and_e8():
    X = cross_polytope(4)
    assert yudin_energy_bound(4, 8, 1.0, n_max=4) == pytest.approx(energy(X, 1.0), rel=1e-8)
    ico = icosahedron()
    for s in (1.0, 0.0, -1.0):
        b = yudin_energy_bound(3, 12, s, n_max=6)
        assert b <= energy(ico, s) + 1e-9 * abs(energy(ico, s))
        assert b == pytest.approx(energy(ico, s), rel=1e-8)
    E8 = e8_roots()
    assert yudin_energy_bound(8, 240, 1.0, n_max=8) == pytest.approx(energy(E8, 1.0), rel=1e-8)


def test_yudin_half_space_is_the_bound_for_the_doubled_code():
    # six lines of the icosahedron: the doubled code is the icosahedron, which is sharp
    lines = icosahedron()[[0, 1, 2, 6, 7, 8]]
    assert np.allclose(np.sort(np.abs(lines @ lines.T).ravel())[-6:], 1.0)  # six distinct lines
    b = yudin_energy_bound(3, 6, 1.0, half_space=True, n_max=6)
    assert b == pytest.approx(energy(lines, 1.0, half_space=True), rel=1e-8)


@pytest.mark.parametrize("d,K,s,metric,half", [
    (3, 10, 1.0, "euclidean", False), (4, 30, 2.0, "euclidean", False), (3, 20, 0.0, "euclidean", False),
    (5, 12, -1.0, "euclidean", False), (3, 9, 1.0, "geodesic", False), (3, 7, 1.0, "euclidean", True),
])
def test_yudin_holds_on_random_codes(d, K, s, metric, half):
    bound = yudin_energy_bound(d, K, s, metric=metric, half_space=half, n_max=8)
    for seed in range(4):
        X = random_code(K, d, seed)
        assert energy(X, s, metric, half) >= bound


def test_yudin_below_the_thomson_table():
    for row in reference_rows("thomson_s2.csv"):
        N = int(row["N"])
        if N in (5, 32):
            assert float(row["energy"]) >= yudin_energy_bound(3, N, 1.0, n_max=10)


# ----------------------------------------------------------------------------- softmax codes
def _theorem_3_9(d, K):
    lo = 0.5 * (math.sqrt(math.pi) / K * math.gamma((d + 1) / 2) / math.gamma(d / 2 + 1)) ** (2 / (d - 1))
    hi = 2.0 * (2 * math.sqrt(math.pi) / K * math.gamma((d + 1) / 2) / math.gamma(d / 2)) ** (1 / (d - 1))
    return lo, hi


def test_softmax_bounds_match_equation_13_and_their_assumption():
    for d, K in [(2, 4), (3, 12), (10, 100), (20, 1000)]:
        lo, hi = softmax_code_bounds(d, K)
        rlo, rhi = _theorem_3_9(d, K)
        assert lo == pytest.approx(rlo, rel=1e-12) and hi == pytest.approx(rhi, rel=1e-12)
    # assumption K >= sqrt(2 pi sqrt(e d)): 3.83 for d = 2, 4.24 for d = 3
    assert softmax_code_bounds(2, 3) is None and softmax_code_bounds(2, 4) is not None
    assert softmax_code_bounds(3, 4) is None and softmax_code_bounds(3, 5) is not None
    assert get_bound("softmax_code").compute(3, 4) is None
    assert "assumes" in get_bound("softmax_code_lower").applies(3, 4)


def test_softmax_bounds_sandwich_theorem_3_3_values():
    # Theorem 3.3 optima (distances): polygon 1 - cos(2 pi/K), simplex K/(K-1), orthoplex range 1
    cases = [(2, K, one_vs_rest(polygon(K))) for K in range(4, 12)]
    cases += [(d, d + 1, one_vs_rest(simplex(d, d + 1))) for d in range(6, 12)]
    cases += [(d, 2 * d, one_vs_rest(cross_polytope(d))) for d in range(3, 8)]
    for d, K, rho in cases:
        lo, hi = softmax_code_bounds(d, K)
        assert lo <= rho <= hi, (d, K)


def test_softmax_upper_bound_holds_on_codes():
    for d, K in [(3, 12), (3, 20), (4, 30)]:
        hi = get_bound("softmax_code").compute(d, K)
        for seed in range(3):
            assert one_vs_rest(random_code(K, d, seed)) <= hi
    assert one_vs_rest(icosahedron()) <= get_bound("softmax_code").compute(3, 12)


# ----------------------------------------------------------------------------- Coulomb estimate
def test_coulomb_constant_and_accuracy_against_thomson_table():
    assert KUIJLAARS_SAFF_CONSTANT == pytest.approx(-0.553051, abs=5e-7)
    for row in reference_rows("thomson_s2.csv"):
        N, E = int(row["N"]), float(row["energy"])
        if N >= 20:  # the missing O(N^1/2) term is positive: the estimate is low, by < 0.3% from N = 20
            assert E * (1 - 3e-3) < coulomb_asymptotic_energy(N) < E, N
        if N >= 40:
            assert coulomb_asymptotic_energy(N) == pytest.approx(E, rel=1e-3), N
    b = get_bound("coulomb_asymptotic")
    assert b.kind == "estimate"
    assert b.compute(4, 20) is None and b.compute(3, 20, s=2.0) is None and b.compute(3, 20, half_space=True) is None


# ----------------------------------------------------------------------------- registry, bounds_for, checks
def test_registry_entries_are_well_formed():
    assert {"rankin", "fejes_toth", "levenshtein", "delsarte_lp", "yudin_energy", "softmax_code",
            "coulomb_asymptotic"} <= set(BOUNDS)
    for name, b in BOUNDS.items():
        assert b.name == name and b.kind in KINDS and b.citation and b.description
    with pytest.raises(UnknownNameError, match="rankin"):
        get_bound("nope")


def test_bounds_for_riesz_on_the_icosahedron_holds_and_is_sharp():
    X = icosahedron()
    values = bounds_for("riesz", 3, 12, s=1.0, n_max=8)
    names = {v.name for v in values}
    assert {"rankin", "fejes_toth", "levenshtein", "delsarte_lp", "yudin_energy", "coulomb_asymptotic"} == names
    scores = {"max_cosine": max_cosine(X), "energy": energy(X, 1.0)}
    for v in values:
        assert isinstance(v, BoundValue)
        ok, reason = check_bound(v, scores[v.score_key], rtol=1e-9)
        assert ok, reason
    assert next(v for v in values if v.name == "yudin_energy").value == pytest.approx(scores["energy"], rel=1e-8)


def test_bounds_for_other_objectives_and_lp_switch():
    names = {v.name for v in bounds_for("tammes", 4, 10, lp=False)}
    assert names == {"rankin", "levenshtein"}
    names = {v.name for v in bounds_for("softmax_code", 3, 12, lp=False)}
    assert names == {"rankin", "fejes_toth", "levenshtein", "softmax_code", "softmax_code_lower"}
    names = {v.name for v in bounds_for("mgd", 5, 3, eps=0.5, lp=False)}
    assert names == {"rankin", "levenshtein", "hadamard"}


def test_check_and_assert_bound():
    lower = BoundValue("x", 0.5, "max_cosine_lower", "max_cosine", "c")
    assert check_bound(lower, 0.6)[0] and not check_bound(lower, 0.4)[0]
    assert "rtol" in check_bound(lower, 0.4)[1]
    upper = BoundValue("y", 1.0, "softmax_upper", "one_vs_rest", "c")
    assert check_bound(upper, 0.9)[0] and not check_bound(upper, 1.1)[0]
    estimate = BoundValue("z", 1.0, "estimate", "energy", "c")
    assert check_bound(estimate, 99.0)[0]
    with pytest.raises(AssertionError, match="lower bound"):
        assert_bound(lower, 0.0)


@pytest.mark.parametrize("call", [
    lambda: rankin_bound(1, 3),
    lambda: rankin_bound(3, 1),
    lambda: rankin_bound(3, 2.5),
    lambda: rankin_bound(True, 3),
    lambda: fejes_toth_bound(2),
    lambda: levenshtein_size_bound(3, 1.5),
    lambda: levenshtein_size_bound(3, float("nan")),
    lambda: delsarte_lp_size_bound(3, 0.5, n_max=0),
    lambda: delsarte_lp_size_bound(3, 0.5, solver="GLPK"),
    lambda: yudin_energy_bound(3, 5, float("inf")),
    lambda: yudin_energy_bound(3, 5, 1.0, metric="chordal"),
    lambda: yudin_energy_bound(3, 5, 1.0, half_space="yes"),
    lambda: bounds_for("thomson", 3, 5),
    lambda: bounds_for("tammes", 3, 5, s=1.0),
    lambda: bounds_for("mgd", 3, 5, eps=-1.0),
    lambda: bounds_for("riesz", 3, 5, metric="manhattan"),
    lambda: get_bound("rankin").compute(0, 5),
    lambda: delsarte_lp_size(1, 0.5),
    lambda: delsarte_lp_size(3, 1.5),
    lambda: riesz_energy_lower_bound(3, 1, 1.0),
    lambda: riesz_energy_lower_bound(3, 5, float("nan")),
    lambda: riesz_energy_lower_bound(3, 5, 1.0, n_max=0),
    lambda: yudin_degree(3, 1),
])
def test_bad_inputs_raise_invalid_parameter_error(call):
    with pytest.raises(InvalidParameterError):
        call()


# ----------------------------------------------------------------------------- the interface
# Best-known Thomson energy for N = 200 (s = 1, unordered pairs): Wikipedia, "Thomson problem", table of
# configurations (en.wikipedia.org/wiki/Thomson_problem), row N = 200: 18438.842717530. The bundled table
# /work/shared/reference/thomson_s2.csv stops at N = 100.
THOMSON_200 = 18438.842717530


def test_riesz_energy_lower_bound_is_within_0_1_percent_of_best_known_thomson_energies():
    """The LP bound with its default degree: valid (below the best known) and within 0.1% of it.

    N = 200 also guards the LP scaling: with the cost (N^2 - N, N, ..., N) unscaled, HiGHS stopped without
    a status at N = 200, n_max = 30.
    """
    best = {int(r["N"]): float(r["energy"]) for r in reference_rows("thomson_s2.csv")}
    best[200] = THOMSON_200
    for N in (25, 50, 100, 200):
        bound = riesz_energy_lower_bound(3, N, 1.0)
        assert bound <= best[N]
        assert (best[N] - bound) / best[N] < 1e-3, (N, bound, best[N])


def test_riesz_energy_lower_bound_is_yudin_with_the_default_degree_and_sharp_for_the_icosahedron():
    assert yudin_degree(3, 12) == 30 and yudin_degree(3, 200) == 30
    assert yudin_degree(3, 400) == 40 and yudin_degree(3, 10**6) == bounds_module.YUDIN_MAX_AUTO_DEGREE
    assert yudin_degree(8, 240) == 30
    X = icosahedron()
    assert riesz_energy_lower_bound(3, 12, 1.0) == yudin_energy_bound(3, 12, 1.0, n_max=yudin_degree(3, 12))
    for s in (1.0, -1.0):
        b = riesz_energy_lower_bound(3, 12, s)
        assert b == pytest.approx(energy(X, s), rel=1e-8) and b <= energy(X, s) + 1e-9 * abs(energy(X, s))
    # half space: the bound for the 2K points, i.e. for 12 points here (sharp: the icosahedron is antipodal)
    assert riesz_energy_lower_bound(3, 6, 1.0, half_space=True) == pytest.approx(energy(X, 1.0), rel=1e-8)


def test_delsarte_lp_size_is_the_lp_bound_on_code_sizes():
    value = delsarte_lp_size(8, 0.5, n_max=8)
    assert value == delsarte_lp_size_bound(8, 0.5, n_max=8)
    assert 240.0 <= value < 240.0 + 1e-6  # E8 kissing configuration: sharp (Levenshtein 1979)
    assert delsarte_lp_size(3, 1.0) == math.inf
    # a bound on every code whose inner products are <= t, attained by the icosahedron at t = 1/sqrt(5)
    X = icosahedron()
    assert delsarte_lp_size(3, max_cosine(X), n_max=10) == pytest.approx(12.0, rel=1e-6)
    assert delsarte_lp_size(3, max_cosine(X), n_max=10) >= 12.0 - 1e-9


def test_bounds_for_can_leave_out_a_failing_lp_bound(monkeypatch):
    def fail(*args, **kwargs):
        raise SolverError("LP solver SCIPY returned status 'numerical trouble'")

    monkeypatch.setattr(bounds_module, "yudin_energy_bound", fail)
    with pytest.raises(SolverError):
        bounds_for("riesz", 3, 12, n_max=6)
    failures = []
    values = bounds_for("riesz", 3, 12, n_max=6, failures=failures)
    assert "yudin_energy" not in {v.name for v in values} and "delsarte_lp" in {v.name for v in values}
    assert failures == [("yudin_energy", "LP solver SCIPY returned status 'numerical trouble'")]


def test_mgd_eps_defaults_to_the_objectives_default():
    """bounds_for reads the parameter defaults from the objective (mgd eps = 1), not from a copy of its own."""
    from spherecodes.objectives import get_objective

    default = get_objective("mgd").normalise_params()["eps"]
    assert [b.name for b in bounds_for("mgd", 3, 5, lp=False)] == \
        [b.name for b in bounds_for("mgd", 3, 5, lp=False, eps=default)]
