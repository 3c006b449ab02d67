"""Tests for spherecodes.validation.known.

Closed forms are checked against configurations built here (energies and max cosines computed with plain
numpy), against the bundled tables (which come from /work/shared/reference: Wikipedia's Thomson table,
Sloane's Tammes tables, Cohn-Kumar's universal optima), and against the bounds of
spherecodes.validation.bounds (a best-known value can never beat a valid bound).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from _helpers import REFERENCE
from _helpers import plain_max_cosine as max_cosine
from scipy.optimize import nnls

from spherecodes.errors import InvalidParameterError, UnknownNameError
from spherecodes.validation.bounds import fejes_toth_bound, levenshtein_max_cosine_bound, rankin_bound
from spherecodes.validation.known import (
    CHORD_TABLE_TOL,
    KNOWN_TABLES,
    TAMMES_S2_MAX_K,
    KnownValue,
    known_optimum,
    known_table,
    parse_exact,
    riesz_energy_from_distribution,
    softmax_code_optimum,
    universal_optima,
)

PHI = (1.0 + math.sqrt(5.0)) / 2.0


# ----------------------------------------------------------------------------- constructions (built here)
def unit(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def simplex(d: int, K: int) -> np.ndarray:
    E = np.eye(K) - 1.0 / K
    U, S, _ = np.linalg.svd(E)
    X = np.zeros((K, d))
    X[:, : K - 1] = U[:, : K - 1] * S[: K - 1]
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


def cell600() -> np.ndarray:
    pts = [s * np.eye(4)[i] for i in range(4) for s in (1.0, -1.0)]
    pts += [0.5 * np.array(signs) for signs in itertools.product((1.0, -1.0), repeat=4)]
    base = (PHI / 2, 0.5, 1 / (2 * PHI), 0.0)
    even = [p for p in itertools.permutations(range(4))
            if sum(p[i] > p[j] for i in range(4) for j in range(i + 1, 4)) % 2 == 0]
    for perm in even:
        for signs in itertools.product((1.0, -1.0), repeat=3):
            v = np.zeros(4)
            vals = [base[0] * signs[0], base[1] * signs[1], base[2] * signs[2], 0.0]
            for pos, val in zip(perm, vals):
                v[pos] = val
            pts.append(v)
    return unit(pts)


def energy(X: np.ndarray, s: float, half_space: bool = False) -> float:
    if half_space:
        X = np.vstack([X, -X])
    iu = np.triu_indices(X.shape[0], 1)
    r = np.linalg.norm(X[iu[0]] - X[iu[1]], axis=1)
    if s > 0:
        return float(np.sum(r ** -s))
    if s == 0:
        return float(np.sum(-np.log(r)))
    return float(-np.sum(r ** -s))


def one_vs_rest(X: np.ndarray) -> float:
    best = np.inf
    for k in range(X.shape[0]):
        P = np.delete(X, k, axis=0)
        A = np.vstack([P.T, 1e4 * np.ones((1, P.shape[0]))])
        lam, _ = nnls(A, np.concatenate([X[k], [1e4]]))
        lam /= lam.sum()
        best = min(best, float(np.linalg.norm(X[k] - lam @ P)))
    return best


# ----------------------------------------------------------------------------- bundled data
def test_tables_ship_in_the_package_and_match_the_reference():
    for name, fname in KNOWN_TABLES.items():
        rows = known_table(name)
        assert rows and "source" in rows[0]
        assert all(r["source"].strip() for r in rows)
        shipped = resources.files("spherecodes").joinpath("data", fname).read_text(encoding="utf-8")
        ref = REFERENCE / fname.removeprefix("known_").replace("universal_optima", "universally_optimal")
        if not Path(ref).exists():
            continue
        if name == "tammes_s2":
            # the bundled table extends the reference: the same rows and columns, then chord-only rows K > 60
            # and a value_from column saying which column gives the value
            ref_rows = list(csv.DictReader(io.StringIO(Path(ref).read_text(encoding="utf-8"))))
            assert [{k: r[k] for k in ref_rows[0]} for r in rows[: len(ref_rows)]] == ref_rows
            assert all(r["value_from"] in ("min_angle_deg", "cos_min_angle_hp", "min_chord") for r in rows)
        else:
            assert shipped == Path(ref).read_text(encoding="utf-8"), fname
    with pytest.raises(UnknownNameError):
        known_table("kissing")


def test_universal_optima_distributions_are_consistent():
    rows = universal_optima()
    assert {(r["d"], r["K"]) for r in rows} == {(3, 12), (4, 120), (5, 16), (6, 27), (7, 56), (8, 240)}
    for r in rows:
        d, K, dist = r["d"], r["K"], r["distribution"]
        assert sum(m for _, m in dist) == K - 1
        assert max(t for t, _ in dist if t > -1) == pytest.approx(r["max_inner_product"], abs=1e-15)
        # designs of strength >= 2: sum_j <x_i, x_j> = 0 and sum_j <x_i, x_j>^2 = K/d (incl. j = i)
        assert 1 + sum(m * t for t, m in dist) == pytest.approx(0.0, abs=1e-12)
        assert 1 + sum(m * t * t for t, m in dist) == pytest.approx(K / d, rel=1e-12)


@pytest.mark.parametrize("s", [1.0, 0.0, -1.0, 2.0])
def test_energies_from_distributions_match_explicit_constructions(s):
    for d, K, X in [(3, 12, icosahedron()), (4, 120, cell600())]:
        kv = known_optimum("riesz", d, K, s=s)
        assert kv.status == "proven_optimal" and kv.score_key == "energy"
        assert kv.value == pytest.approx(energy(X, s), rel=1e-12)
        assert max_cosine(X) == pytest.approx(known_optimum("tammes", d, K).value, abs=1e-14)
    for X, (d, K) in [(simplex(5, 4), (5, 4)), (simplex(4, 5), (4, 5)), (cross_polytope(4), (4, 8)),
                      (polygon(7), (2, 7))]:
        assert known_optimum("riesz", d, K, s=s).value == pytest.approx(energy(X, s), rel=1e-12)


def test_closed_forms_agree_with_the_thomson_table():
    table = {int(r["N"]): float(r["energy"]) for r in known_table("thomson_s2")}
    for N in (2, 3, 4, 6, 12):
        kv = known_optimum("riesz", 3, N, s=1.0)
        assert kv.abs_tol == 0.0  # a closed form, not the table
        assert kv.value == pytest.approx(table[N], abs=5e-9), N
    assert riesz_energy_from_distribution(12, [(-1.0, 1), (-1 / math.sqrt(5), 5), (1 / math.sqrt(5), 5)], 1.0) == \
        pytest.approx(table[12], abs=5e-9)


def test_thomson_table_lookup():
    kv = known_optimum("riesz", 3, 100)
    assert kv.status == "best_known" and kv.abs_tol == pytest.approx(5e-9)
    assert "Thomson" in kv.source
    assert known_optimum("riesz", 3, 5).status == "proven_optimal"  # Schwartz 2013
    assert known_optimum("riesz", 3, 7).status == "best_known"
    assert known_optimum("riesz", 3, 101) is None
    assert known_optimum("riesz", 3, 7, s=2.0) is None  # the table is for s = 1 only
    assert known_optimum("riesz", 3, 7, metric="geodesic") is None


def test_riesz_exponents_at_and_below_minus_two_are_not_unique():
    assert known_optimum("riesz", 3, 4, s=-2.0) is None
    assert known_optimum("riesz", 3, 6, s=-3.0) is None
    assert known_optimum("riesz", 3, 4, s=-1.99).value == pytest.approx(energy(simplex(3, 4), -1.99), rel=1e-12)
    # K = 2: the antipodal pair is optimal for every s
    assert known_optimum("riesz", 5, 2, s=-4.0).value == pytest.approx(-(2.0**4))


def test_half_space_energies():
    # 6 icosahedron lines: the doubled code is the icosahedron (antipodal); 3 lines in the plane: the hexagon
    lines = icosahedron()[[0, 1, 2, 6, 7, 8]]
    for s in (1.0, 0.0):
        assert known_optimum("riesz", 3, 6, s=s, half_space=True).value == pytest.approx(
            energy(lines, s, half_space=True), rel=1e-12)
        assert known_optimum("riesz", 2, 3, s=s, half_space=True).value == pytest.approx(
            energy(polygon(6)[:3], s, half_space=True), rel=1e-12)
    assert known_optimum("riesz", 4, 4, half_space=True).value == pytest.approx(
        energy(np.eye(4), 1.0, half_space=True), rel=1e-12)
    # the 4-point optimum in R^3 is the (non-antipodal) tetrahedron: nothing known for 2 lines there
    assert known_optimum("riesz", 3, 2, half_space=True) is None


def test_geodesic_only_for_two_points():
    kv = known_optimum("riesz", 3, 2, s=1.0, metric="geodesic")
    assert kv.value == pytest.approx(1 / math.pi)
    assert known_optimum("riesz", 3, 4, metric="geodesic") is None


# ----------------------------------------------------------------------------- Tammes
def test_tammes_table_columns_are_consistent():
    for row in known_table("tammes_s2"):
        N = int(row["N"])
        theta = math.radians(float(row["min_angle_deg"]))
        decimals = len(row["min_angle_deg"].split(".")[1])
        tol = math.radians(10.0**-decimals) + 1e-12  # printed values are rounded or truncated
        if row["min_chord"].strip() and len(row["min_chord"]) > 10:
            assert 2 * math.asin(float(row["min_chord"]) / 2) == pytest.approx(theta, abs=tol), N
        if row["cos_min_angle_hp"].strip():
            assert math.acos(float(row["cos_min_angle_hp"])) == pytest.approx(theta, abs=tol), N
        kv = known_optimum("tammes", 3, N)
        assert kv.score_key == "max_cosine"
        assert kv.value == pytest.approx(math.cos(theta), abs=kv.abs_tol + math.sin(theta) * tol), N


def test_tammes_known_values_respect_every_lower_bound():
    for N in range(3, TAMMES_S2_MAX_K + 1):
        kv = known_optimum("tammes", 3, N)
        slack = kv.abs_tol + 1e-12
        assert kv.value >= rankin_bound(3, N) - slack
        assert kv.value >= fejes_toth_bound(N) - slack, N
        assert kv.value >= levenshtein_max_cosine_bound(3, N) - slack, N
    for d, K in [(4, 24), (4, 120), (5, 16), (6, 27), (7, 56), (8, 240), (24, 196560)]:
        assert known_optimum("tammes", d, K).value >= levenshtein_max_cosine_bound(d, K) - 1e-12


def test_tammes_closed_forms_and_statuses():
    assert known_optimum("tammes", 2, 7).value == pytest.approx(max_cosine(polygon(7)), abs=1e-15)
    assert known_optimum("tammes", 6, 5).value == pytest.approx(max_cosine(simplex(6, 5)), abs=1e-15)
    assert known_optimum("tammes", 5, 7).value == 0.0  # orthoplex range, Rankin
    assert known_optimum("tammes", 3, 12).value == pytest.approx(max_cosine(icosahedron()), abs=1e-15)
    assert known_optimum("tammes", 3, 24).status == "proven_optimal"  # Robinson 1961
    assert known_optimum("tammes", 3, 30).status == "best_known"
    kv = known_optimum("tammes", 4, 24)
    assert kv.status == "best_known" and kv.value == 0.5
    assert known_optimum("tammes", 24, 196560).status == "proven_optimal"
    assert known_optimum("tammes", 5, 40) is None  # the table prints only a bound
    assert known_optimum("tammes", 3, 61).status == "best_known"
    assert known_optimum("tammes", 3, TAMMES_S2_MAX_K + 1) is None


def test_tammes_chord_rows_take_the_chord_and_decrease_with_n():
    """K = 61..130 come as chords: the value is 1 - chord^2/2 with CHORD_TABLE_TOL, and the angles fall with K."""
    rows = [r for r in known_table("tammes_s2") if r["value_from"] == "min_chord"]
    assert [int(r["N"]) for r in rows] == list(range(61, TAMMES_S2_MAX_K + 1))
    previous = -1.0
    for row in rows:
        kv = known_optimum("tammes", 3, int(row["N"]))
        chord = float(row["min_chord"])
        assert kv.value == 1.0 - chord * chord / 2.0 and kv.abs_tol == CHORD_TABLE_TOL
        # a best code with one more point cannot have a larger minimum angle (drop a point): non-decreasing cosine
        assert kv.value >= previous - CHORD_TABLE_TOL, row["N"]
        previous = kv.value


# ----------------------------------------------------------------------------- softmax codes, MGD
def test_softmax_code_closed_forms_match_constructions():
    for K in range(2, 10):
        assert softmax_code_optimum(2, K) == pytest.approx(one_vs_rest(polygon(K)), abs=1e-9)
    for d in range(3, 7):
        for K in range(2, d + 2):
            assert softmax_code_optimum(d, K) == pytest.approx(one_vs_rest(simplex(d, K)), abs=1e-9)
        for K in range(d + 2, 2 * d + 1):
            assert softmax_code_optimum(d, K) == 1.0
            assert one_vs_rest(cross_polytope(d)[:K]) == pytest.approx(1.0, abs=1e-9)
    # overlaps of the three cases agree (d = 2, K = 2, 3, 4)
    assert softmax_code_optimum(2, 3) == pytest.approx(3 / 2) and softmax_code_optimum(2, 4) == pytest.approx(1.0)
    assert softmax_code_optimum(3, 7) is None
    kv = known_optimum("softmax_code", 4, 7)
    assert kv == KnownValue(1.0, "one_vs_rest", "proven_optimal", kv.source, 0.0, kv.name)
    assert "Theorem 3.3" in kv.source


def test_mgd_two_points():
    eps = 0.7
    X = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    D2 = np.sum((X[:, None] - X[None]) ** 2, axis=-1)
    G = np.exp(-(eps**2) * D2)
    kv = known_optimum("mgd", 3, 2, eps=eps)
    assert kv.value == pytest.approx(np.linalg.slogdet(G)[1], rel=1e-12)
    assert kv.score_key == "logdet"
    assert known_optimum("mgd", 3, 3, eps=eps) is None


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call", [
    lambda: known_optimum("thomson", 3, 5),
    lambda: known_optimum("riesz", 1, 5),
    lambda: known_optimum("riesz", 3, 1),
    lambda: known_optimum("riesz", 3, 5, s="one"),
    lambda: known_optimum("riesz", 3, 5, p=2),
    lambda: known_optimum("riesz", 3, 5, half_space=1),
    lambda: known_optimum("tammes", 3, 5, s=1.0),
    lambda: known_optimum("mgd", 3, 2, eps=0.0),
    lambda: parse_exact("__import__('os').getcwd()"),
    lambda: parse_exact("2**10"),
])
def test_bad_inputs_raise(call):
    with pytest.raises(InvalidParameterError):
        call()


def test_parse_exact():
    assert parse_exact("(1+sqrt(5))/4") == pytest.approx(PHI / 2, abs=1e-16)
    assert parse_exact("-1/sqrt(5)") == pytest.approx(-1 / math.sqrt(5), abs=1e-16)
    assert parse_exact("3/2") == 1.5


def test_mgd_eps_default_is_the_objectives():
    """known_optimum fills the mgd eps default (1) from the objective's declaration."""
    assert known_optimum("mgd", 3, 2) == known_optimum("mgd", 3, 2, eps=1.0)
