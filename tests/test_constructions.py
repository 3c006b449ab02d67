"""Tests for spherecodes.constructions: the exact configurations and their registry.

Reference values come from /work/shared/reference (universally_optimal.csv, codes_d4_d5.csv),
read at test time; exact expressions there such as ``(1+sqrt(5))/4`` are parsed by a small
whitelisting evaluator below.
"""

from __future__ import annotations

import ast
import csv
import math

import numpy as np
import pytest
from _helpers import REFERENCE
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import eval_chebyt, eval_gegenbauer

from spherecodes.constructions import (
    ALIASES,
    CONSTRUCTIONS,
    Construction,
    available_constructions,
    construct_points,
    constructions_for,
    get_construction,
)
from spherecodes.errors import InvalidParameterError, UnknownNameError

EPS = np.finfo(np.float64).eps

# Sizes each construction is exercised at (inputs, not results). Every registry name must appear.
SAMPLES = {
    "polygon": [(2, 2), (2, 3), (2, 4), (2, 5), (2, 7), (2, 12), (2, 100), (2, 1000)],
    "simplex": [(2, 2), (2, 3), (3, 4), (4, 3), (8, 9), (10, 5), (50, 51)],
    "cross_polytope": [(2, 4), (3, 6), (7, 14), (40, 80)],
    "orthoplex": [(2, 4), (3, 5), (3, 6), (8, 10), (8, 16), (40, 45)],
    "icosahedron": [(3, 12)],
    "24-cell": [(4, 24)],
    "600-cell": [(4, 120)],
    "hemicube5": [(5, 16)],
    "schlafli": [(6, 27)],
    "gosset": [(7, 56)],
    "e8": [(8, 240)],
}
CASES = [(name, d, K) for name, sizes in SAMPLES.items() for d, K in sizes]

# The universal optima with a row in universally_optimal.csv, and the (d, N) of that row.
UNIVERSAL = {"icosahedron": (3, 12), "600-cell": (4, 120), "hemicube5": (5, 16), "schlafli": (6, 27),
             "gosset": (7, 56), "e8": (8, 240)}


# ----------------------------------------------------------------------------- helpers


def exact(expr: str) -> float:
    """Evaluate an exact expression like ``-1/sqrt(5)`` or ``(1+sqrt(5))/4`` (integers, + - * /, sqrt)."""

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = ev(node.left), ev(node.right)
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op), a / b if b else math.nan)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt"
                and len(node.args) == 1 and not node.keywords):
            return math.sqrt(ev(node.args[0]))
        raise ValueError(f"unsupported expression {expr!r}")

    return ev(ast.parse(expr.strip(), mode="eval"))


def parse_distribution(text: str) -> "list[tuple[float, int]]":
    """``"-1:1; -1/sqrt(5):5"`` -> [(-1.0, 1), (-0.447..., 5)]: per-point multiplicities."""
    out = []
    for part in text.split(";"):
        t, m = part.strip().rsplit(":", 1)
        out.append((exact(t), int(m)))
    return out


def read_reference(filename: str) -> "list[dict[str, str]]":
    path = REFERENCE / filename
    if not path.is_file():
        pytest.skip(f"reference file {path} not found (expected shared/reference beside the repository)")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def reference_row(filename: str, d: int, N: int) -> "dict[str, str]":
    rows = [r for r in read_reference(filename) if r["d"] == str(d) and r["N"] == str(N)]
    assert len(rows) == 1, f"expected one row d={d}, N={N} in {filename}, found {len(rows)}"
    return rows[0]


def gram(X: np.ndarray) -> np.ndarray:
    return X @ X.T


def off_diagonal(G: np.ndarray) -> np.ndarray:
    return G[~np.eye(G.shape[0], dtype=bool)]


def design_sums(X: np.ndarray, degrees) -> np.ndarray:
    """sum_{i,j} P_k(<x_i, x_j>) / (K^2 P_k(1)) for each degree k; zero for 1 <= k <= t iff X is a t-design.

    P_k is the Gegenbauer polynomial C_k^{(d-2)/2} (Chebyshev T_k for d = 2). The sums are >= 0
    because these polynomials are positive definite on the sphere (Delsarte-Goethals-Seidel 1977).
    """
    K, d = X.shape
    G = np.clip(gram(X), -1.0, 1.0)
    out = []
    for k in degrees:
        if d == 2:
            out.append(eval_chebyt(k, G).sum() / K**2)
        else:
            a = (d - 2) / 2
            out.append(eval_gegenbauer(k, a, G).sum() / (K**2 * eval_gegenbauer(k, a, 1.0)))
    return np.array(out)


# ----------------------------------------------------------------------------- registry


def test_samples_cover_registry():
    assert set(SAMPLES) == set(available_constructions())


def test_registry_entries_are_consistent():
    assert available_constructions() == list(CONSTRUCTIONS)
    for name, c in CONSTRUCTIONS.items():
        assert isinstance(c, Construction)
        assert c.name == name
        assert c.description and c.sizes and c.optimal_for
        assert get_construction(name) is c
    with pytest.raises(AttributeError):  # frozen
        CONSTRUCTIONS["simplex"].name = "other"


def test_required_names_exist():
    for name in ["polygon", "simplex", "cross_polytope", "orthoplex", "icosahedron", "24-cell", "600-cell", "e8",
                 "hemicube5", "schlafli", "gosset"]:
        assert name in CONSTRUCTIONS


def test_aliases_resolve_to_registry_names():
    for alias, target in ALIASES.items():
        assert target in CONSTRUCTIONS
        assert get_construction(alias) is CONSTRUCTIONS[target]
    assert get_construction(" E8 ") is CONSTRUCTIONS["e8"]
    np.testing.assert_array_equal(construct_points("3_21", 7, 56), construct_points("gosset", 7, 56))


# ----------------------------------------------------------------------------- every construction


@pytest.mark.parametrize("name,d,K", CASES)
def test_points_are_unit_rows_without_duplicates(name, d, K):
    X = construct_points(name, d, K)
    assert X.shape == (K, d)
    assert X.dtype == np.float64
    assert X.flags.c_contiguous
    assert np.all(np.isfinite(X))
    assert np.max(np.abs(np.linalg.norm(X, axis=1) - 1.0)) <= 4 * EPS
    # distinct points: squared chord |x_i - x_j|^2 = 2 - 2 <x_i, x_j> bounded away from 0
    assert np.max(off_diagonal(gram(X))) < 1.0 - 1e-6
    np.testing.assert_array_equal(X, construct_points(name, d, K))  # deterministic


@pytest.mark.parametrize("name,d,K", CASES)
def test_applies_and_constructions_for(name, d, K):
    c = get_construction(name)
    assert c.applies(d, K) is None
    assert name in constructions_for(d, K)
    for d2, K2 in [(d, K + 1), (d + 1, K), (d, 2 * d + 2)]:
        reason = c.applies(d2, K2)
        if reason is None:  # a family that covers the neighbour too must build it
            assert construct_points(name, d2, K2).shape == (K2, d2)
        else:
            assert isinstance(reason, str) and reason
            assert name not in constructions_for(d2, K2)
            with pytest.raises(InvalidParameterError) as info:
                construct_points(name, d2, K2)
            assert c.sizes in str(info.value)


def test_applies_reasons_for_known_sizes():
    assert CONSTRUCTIONS["simplex"].applies(4, 5) is None
    assert "K" in CONSTRUCTIONS["simplex"].applies(4, 6)
    assert CONSTRUCTIONS["orthoplex"].applies(4, 5) is not None  # K = d+1 belongs to the simplex
    assert CONSTRUCTIONS["orthoplex"].applies(4, 9) is not None
    assert CONSTRUCTIONS["cross_polytope"].applies(4, 7) is not None
    assert "d = 3" in CONSTRUCTIONS["icosahedron"].applies(4, 12)
    assert CONSTRUCTIONS["polygon"].applies(3, 5) is not None
    assert constructions_for(4, 24) == ["24-cell"]
    assert constructions_for(4, 8) == ["cross_polytope", "orthoplex"]
    assert constructions_for(9, 100) == []


# ----------------------------------------------------------------------------- bad input


def test_simplex_K_too_large_names_K():
    with pytest.raises(InvalidParameterError) as info:
        construct_points("simplex", 4, 6)
    assert info.value.param == "K"
    assert "K=6" in str(info.value) and "K <= d+1" in str(info.value)
    assert "orthoplex" in str(info.value)  # what does apply at (4, 6)


def test_icosahedron_wrong_d_names_d():
    with pytest.raises(InvalidParameterError) as info:
        construct_points("icosahedron", 4, 12)
    assert info.value.param == "d"
    assert "d=4" in str(info.value) and "d = 3" in str(info.value)


def test_fixed_construction_wrong_K_names_K():
    with pytest.raises(InvalidParameterError) as info:
        construct_points("e8", 8, 239)
    assert info.value.param == "K"


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        construct_points("dodecahedron", 3, 20)
    msg = str(info.value)
    assert "dodecahedron" in msg
    for name in available_constructions():
        assert name in msg
    with pytest.raises(KeyError):  # UnknownNameError is also a KeyError
        get_construction("nope")
    with pytest.raises(UnknownNameError):
        get_construction(None)


@pytest.mark.parametrize("d,K,param", [(3.0, 4, "d"), (3.5, 4, "d"), ("3", 4, "d"), (True, 4, "d"),
                                       (3, 4.0, "K"), (3, None, "K"), (1, 2, "d"), (0, 2, "d"), (3, 1, "K"),
                                       (3, -2, "K")])
def test_bad_sizes_name_the_parameter(d, K, param):
    for call in (lambda: construct_points("simplex", d, K), lambda: constructions_for(d, K)):
        with pytest.raises(InvalidParameterError) as info:
            call()
        assert info.value.param == param
        assert f"{param}=" in str(info.value)


def test_numpy_integers_are_accepted():
    X = construct_points("simplex", np.int64(5), np.int32(6))
    assert X.shape == (6, 5)
    assert constructions_for(np.int64(3), np.int64(12)) == ["icosahedron"]


# ----------------------------------------------------------------------------- reference distributions


@pytest.mark.parametrize("name", list(UNIVERSAL))
def test_inner_product_distribution_matches_reference(name):
    d, K = UNIVERSAL[name]
    row = reference_row("universally_optimal.csv", d, K)
    dist = parse_distribution(row["inner_products_t:m"])
    assert sum(m for _, m in dist) == K - 1
    expected = np.sort(np.repeat([t for t, _ in dist], [m for _, m in dist]))
    X = construct_points(name, d, K)
    G = gram(X)
    for i in range(K):
        others = np.sort(np.delete(G[i], i))
        np.testing.assert_allclose(others, expected, rtol=0, atol=1e-12, err_msg=f"{name}, point {i}")
    assert abs(np.max(off_diagonal(G)) - exact(row["max_inner_product"])) <= 1e-12


@pytest.mark.parametrize("name", list(UNIVERSAL))
def test_design_strength_matches_reference(name):
    d, K = UNIVERSAL[name]
    t = int(reference_row("universally_optimal.csv", d, K)["design_strength"])
    sums = design_sums(construct_points(name, d, K), range(1, t + 2))
    np.testing.assert_allclose(sums[:t], 0.0, rtol=0, atol=1e-12, err_msg=f"{name} is not a {t}-design")
    assert sums[t] > 1e-6, f"{name} is also a {t + 1}-design, but the reference gives strength {t}"


def test_every_small_universal_optimum_has_a_construction():
    for row in read_reference("universally_optimal.csv"):
        if row["d"].isdigit() and row["N"].isdigit() and int(row["d"]) <= 8:
            assert constructions_for(int(row["d"]), int(row["N"])), row["name"]


def test_codes_d4_d5_reference_rows():
    checked = 0
    for row in read_reference("codes_d4_d5.csv"):
        d, N = int(row["d"]), int(row["N"])
        for name in constructions_for(d, N):
            t = np.max(off_diagonal(gram(construct_points(name, d, N))))
            if row["max_inner_product"] and not row["max_inner_product"].startswith(("<", ">")):
                assert abs(t - exact(row["max_inner_product"])) <= 1e-12, (name, d, N)
            if row["min_angle_rad"]:  # printed to 5 decimals
                assert abs(math.acos(t) - float(row["min_angle_rad"])) <= 5e-6, (name, d, N)
            if row["min_sq_chord"] and not row["min_sq_chord"].startswith(("<", ">")):
                assert abs((2 - 2 * t) - exact(row["min_sq_chord"])) <= 1e-12, (name, d, N)
            checked += 1
    assert checked >= 8


# ----------------------------------------------------------------------------- simplex


@pytest.mark.parametrize("d,K", [(2, 2), (2, 3), (3, 3), (3, 4), (5, 2), (7, 4), (10, 11), (33, 20), (64, 65),
                                 (100, 37), (257, 258), (512, 2), (512, 300), (512, 512), (512, 513)])
def test_simplex_inner_products(d, K):
    X = construct_points("simplex", d, K)
    assert X.shape == (K, d)
    assert np.max(np.abs(np.linalg.norm(X, axis=1) - 1.0)) <= 4 * EPS
    np.testing.assert_allclose(off_diagonal(gram(X)), -1.0 / (K - 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(X.sum(axis=0), 0.0, rtol=0, atol=1e-12)  # centred: sum of the Gram = 0


@pytest.mark.parametrize("d,K", [(4096, 3), (300, 301)])
def test_simplex_large_is_exact(d, K):
    X = construct_points("simplex", d, K)
    assert X.shape == (K, d)
    assert np.max(np.abs(np.linalg.norm(X, axis=1) - 1.0)) <= 4 * EPS
    np.testing.assert_allclose(off_diagonal(gram(X)), -1.0 / (K - 1), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 80).flatmap(lambda d: st.tuples(st.just(d), st.integers(2, d + 1))))
def test_simplex_property(dK):
    d, K = dK
    X = construct_points("simplex", d, K)
    np.testing.assert_allclose(gram(X), np.where(np.eye(K, dtype=bool), 1.0, -1.0 / (K - 1)), rtol=0, atol=1e-13)


def test_simplex_is_a_2_design_only_at_K_d_plus_1():
    # the full simplex in R^d is a 2-design; with K < d+1 it lies in a subspace and is only a 1-design
    assert np.max(np.abs(design_sums(construct_points("simplex", 6, 7), [1, 2]))) <= 1e-13
    sums = design_sums(construct_points("simplex", 6, 5), [1, 2])
    assert abs(sums[0]) <= 1e-13 and sums[1] > 1e-3


# ----------------------------------------------------------------------------- cross polytope, polygon, 4-d


@pytest.mark.parametrize("name,d,K", [c for c in CASES if c[0] in ("cross_polytope", "orthoplex")])
def test_cross_polytope_and_orthoplex_max_inner_product_is_zero(name, d, K):
    X = construct_points(name, d, K)
    G = gram(X)
    assert np.max(off_diagonal(G)) == 0.0
    assert set(np.unique(off_diagonal(G))) <= {0.0, -1.0}
    assert np.count_nonzero(np.isclose(G, -1.0)) == 2 * (K - d)  # antipodal pairs (counted twice)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60).flatmap(lambda d: st.tuples(st.just(d), st.integers(d + 2, 2 * d))))
def test_orthoplex_property(dK):
    d, K = dK
    G = gram(construct_points("orthoplex", d, K))
    assert np.max(off_diagonal(G)) == 0.0
    assert np.all(np.diag(G) == 1.0)


def test_cross_polytope_is_the_full_orthoplex():
    np.testing.assert_array_equal(construct_points("cross_polytope", 6, 12), construct_points("orthoplex", 6, 12))


@pytest.mark.parametrize("K", [2, 3, 4, 5, 6, 7, 8, 12, 13, 100, 1000, 4097])
def test_polygon_consecutive_angle(K):
    X = construct_points("polygon", 2, K)
    Y = np.roll(X, -1, axis=0)
    cross = X[:, 0] * Y[:, 1] - X[:, 1] * Y[:, 0]
    dot = np.sum(X * Y, axis=1)
    np.testing.assert_allclose(np.arctan2(cross, dot), 2 * np.pi / K, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.arctan2(X[:, 1], X[:, 0]) % (2 * np.pi), 2 * np.pi * np.arange(K) / K,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("K", [2, 3, 5, 8, 31])
def test_polygon_design_strength_is_K_minus_1(K):
    sums = design_sums(construct_points("polygon", 2, K), range(1, K + 1))
    np.testing.assert_allclose(sums[:-1], 0.0, rtol=0, atol=1e-12)
    assert sums[-1] == pytest.approx(1.0, abs=1e-12)  # |sum_k exp(i K theta_k)|^2 / K^2 = 1


def test_24_cell_max_inner_product():
    G = gram(construct_points("24-cell", 4, 24))
    assert abs(np.max(off_diagonal(G)) - 0.5) <= 1e-15
    # kissing configuration: every point has 8 neighbours at 60 degrees
    assert np.all(np.sum(np.isclose(G, 0.5, atol=1e-12), axis=1) == 8)


def test_24_cell_is_a_5_design():
    # the D4 roots form a spherical 5-design (antipodal, and a 4-design by Venkov's theorem)
    sums = design_sums(construct_points("24-cell", 4, 24), range(1, 7))
    np.testing.assert_allclose(sums[:5], 0.0, rtol=0, atol=1e-12)
    assert sums[5] > 1e-6


def test_600_cell_max_inner_product_and_contains_24_cell():
    X = construct_points("600-cell", 4, 120)
    assert abs(np.max(off_diagonal(gram(X))) - (1 + math.sqrt(5)) / 4) <= 1e-15
    Y = construct_points("24-cell", 4, 24)
    # every 24-cell point is a 600-cell point
    assert np.all(np.max(Y @ X.T, axis=1) >= 1 - 1e-15)
