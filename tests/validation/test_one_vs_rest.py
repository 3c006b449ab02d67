"""Tests for spherecodes.validation.one_vs_rest: Wolfe's solver vs an independent cvxpy reference and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import random_code, random_rotation

from spherecodes.constructions import construct_points
from spherecodes.errors import InvalidParameterError, SolverError
from spherecodes.kernels import hull_distance as hull_mod
from spherecodes.validation import one_vs_rest as ovr_mod
from spherecodes.validation.one_vs_rest import (
    assert_one_vs_rest,
    check_one_vs_rest,
    one_vs_rest,
    one_vs_rest_distances,
    one_vs_rest_distances_exact,
    one_vs_rest_projection,
)


def _brute_force_distance(X: np.ndarray, k: int) -> float:
    """Independent reference for tiny K: the nearest point of a polytope lies in the relative interior of
    some face, so minimise over every subset of the other points (affine projection, kept when its
    barycentric weights are >= 0)."""
    import itertools

    others = np.delete(X, k, axis=0)
    best = math.inf
    for r in range(1, len(others) + 1):
        for S in itertools.combinations(range(len(others)), r):
            P = others[list(S)]
            # minimise |x - P^T a| s.t. sum a = 1: KKT system
            M = np.zeros((r + 1, r + 1))
            M[:r, :r] = P @ P.T
            M[:r, r] = 1.0
            M[r, :r] = 1.0
            rhs = np.concatenate([P @ X[k], [1.0]])
            sol, *_ = np.linalg.lstsq(M, rhs, rcond=None)
            a = sol[:r]
            if np.all(a >= -1e-12):
                best = min(best, float(np.linalg.norm(X[k] - a @ P)))
    return best


@pytest.mark.parametrize("K,d,seed", [(5, 3, 0), (6, 2, 1), (7, 4, 2)])
def test_fast_matches_brute_force(K, d, seed):
    X = random_code(K, d, seed)
    fast = one_vs_rest_distances(X)
    ref = np.array([_brute_force_distance(X, k) for k in range(K)])
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("K,d,seed", [(12, 3, 3), (25, 5, 4), (40, 8, 5)])
def test_fast_matches_cvxpy_reference(K, d, seed):
    X = random_code(K, d, seed)
    fast = one_vs_rest_distances(X)
    ref = one_vs_rest_distances_exact(X)
    assert np.max(np.abs(fast - ref)) <= 1e-9
    # the reference evaluates a feasible point, so it can only be above the true distance
    assert np.all(fast <= ref + 1e-13)
    ok, reason = check_one_vs_rest(X, atol=1e-9)
    assert ok, reason
    assert "atol=1e-09" in reason


def test_weights_are_on_the_simplex_and_give_the_distance():
    X = random_code(30, 4, 6)
    dist, lam = one_vs_rest_projection(X)
    assert np.all(lam >= 0)
    np.testing.assert_allclose(lam.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.diag(lam) == 0)
    np.testing.assert_allclose(np.linalg.norm(X - lam @ X, axis=1), dist, atol=1e-14)
    # certificate: every other point lies beyond the separating hyperplane through the nearest point
    for k in range(len(X)):
        y = X[k] - lam[k] @ X
        u = y / np.linalg.norm(y)
        margins = (X[k] - np.delete(X, k, axis=0)) @ u
        assert margins.min() >= dist[k] - 1e-12


def test_min_with_pruning_equals_min_of_all():
    for seed in range(3):
        X = random_code(60, 3, 10 + seed)
        assert one_vs_rest(X) == pytest.approx(float(one_vs_rest_distances(X).min()), abs=1e-15)


@pytest.mark.parametrize("K", [3, 4, 5, 7, 12, 50])
def test_polygon_closed_form(K):
    # vertex to the chord through its two neighbours: 1 - cos(2 pi / K) (a distance, not squared)
    X = construct_points("polygon", 2, K)
    np.testing.assert_allclose(one_vs_rest_distances(X), 1.0 - math.cos(2.0 * math.pi / K), rtol=0, atol=1e-12)


@pytest.mark.parametrize("d,K", [(2, 2), (2, 3), (3, 4), (5, 6), (8, 5), (20, 21)])
def test_simplex_closed_form(d, K):
    X = construct_points("simplex", d, K) @ random_rotation(d, K)
    np.testing.assert_allclose(one_vs_rest_distances(X), K / (K - 1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("d,K", [(3, 5), (3, 6), (4, 7), (6, 12)])
def test_orthoplex_closed_form(d, K):
    X = construct_points("orthoplex", d, K) @ random_rotation(d, K)
    assert one_vs_rest(X) == pytest.approx(1.0, abs=1e-12)


def test_rotation_invariance():
    X = random_code(20, 5, 7)
    Q = random_rotation(5, 8)
    np.testing.assert_allclose(one_vs_rest_distances(X @ Q), one_vs_rest_distances(X), atol=1e-12)


def test_coincident_points_give_zero_not_nan():
    X = random_code(8, 3, 9)
    X[5] = X[2]
    fast = one_vs_rest_distances(X)
    assert not np.any(np.isnan(fast))
    assert fast[2] == 0.0 and fast[5] == 0.0
    assert np.all(fast[[0, 1, 3, 4, 6, 7]] > 0)
    assert one_vs_rest(X) == 0.0
    ref = one_vs_rest_distances_exact(X)
    assert ref[2] == 0.0 and ref[5] == 0.0
    np.testing.assert_allclose(fast, ref, atol=1e-9)


def test_nearly_coincident_points_are_small_and_finite():
    X = random_code(6, 3, 11)
    X[1] = X[0] + 1e-9 * np.array([1.0, -2.0, 0.5])
    X[1] /= np.linalg.norm(X[1])
    dist = one_vs_rest_distances(X)
    assert np.all(np.isfinite(dist))
    assert 0 < dist[0] <= np.linalg.norm(X[0] - X[1]) * (1 + 1e-6)


def test_single_point_and_bad_input():
    assert np.isinf(one_vs_rest_distances(np.array([[1.0, 0.0]]))).all()
    with pytest.raises(InvalidParameterError):
        one_vs_rest_distances(np.zeros(3))
    with pytest.raises(InvalidParameterError):
        one_vs_rest_distances(np.array([[np.nan, 1.0], [1.0, 0.0]]))


def test_reference_raises_solver_error_with_status(monkeypatch):
    # a tolerance ladder the solver cannot meet in its iteration budget must raise, never return a number
    monkeypatch.setattr(ovr_mod, "_TOLERANCE_LADDER", (1e-300,))
    X = random_code(10, 3, 12)
    with pytest.raises(SolverError, match="status"):
        one_vs_rest_distances_exact(X)


def test_assert_raises_on_disagreement(monkeypatch):
    X = random_code(6, 3, 13)
    monkeypatch.setattr(ovr_mod, "one_vs_rest_distances", lambda P: one_vs_rest_distances(P) + 1e-6)
    ok, reason = ovr_mod.check_one_vs_rest(X, atol=1e-9)
    assert not ok and "atol=1e-09" in reason
    with pytest.raises(AssertionError):
        ovr_mod.assert_one_vs_rest(X, atol=1e-9)


def test_assert_passes_on_agreement():
    assert_one_vs_rest(random_code(6, 3, 14), atol=1e-9)


# --- blocked solver (no K x K Gram) against the dense one -----------------------------------------------

from spherecodes.validation.one_vs_rest import solver_agreement_atol  # noqa: E402


@pytest.mark.parametrize("name,d,K", [("simplex", 7, 8), ("cross_polytope", 5, 10), ("orthoplex", 6, 9),
                                      ("polygon", 2, 11), ("icosahedron", 3, 12), ("600-cell", 4, 120)])
def test_blocked_distances_equal_the_dense_ones_on_structured_codes(name, d, K):
    X = construct_points(name, d, K) @ random_rotation(d, seed=K).T
    dense = one_vs_rest_distances(X, method="dense")
    blocked = one_vs_rest_distances(X, method="blocked")
    np.testing.assert_array_less(np.abs(blocked - dense), solver_agreement_atol(dense))
    assert abs(one_vs_rest(X, method="blocked") - one_vs_rest(X, method="dense")) <= solver_agreement_atol(dense.min())


@pytest.mark.parametrize("K,d,seed", [(40, 3, 0), (200, 6, 1), (150, 30, 2)])
def test_blocked_distances_equal_the_dense_ones_on_random_codes(K, d, seed):
    X = random_code(K, d, seed)
    dense = one_vs_rest_distances(X, method="dense")
    blocked = one_vs_rest_distances(X, method="blocked")
    np.testing.assert_array_less(np.abs(blocked - dense), solver_agreement_atol(dense))
    assert abs(one_vs_rest(X, method="blocked") - dense.min()) <= solver_agreement_atol(dense.min())


def test_coincident_points_get_zero_in_the_blocked_solver():
    X = random_code(30, 4, seed=3)
    X[7] = X[2]
    dist = one_vs_rest_distances(X, method="blocked")
    assert dist[7] == 0.0 and dist[2] == 0.0
    assert one_vs_rest(X, method="blocked") == 0.0


def test_auto_uses_the_blocked_solver_above_the_threshold(monkeypatch):
    X = random_code(60, 5, seed=4)
    dense = one_vs_rest_distances(X, method="dense")
    # the solvers live in kernels.hull_distance (validation.one_vs_rest re-exports them)
    monkeypatch.setattr(hull_mod, "DENSE_MAX_K", 10)

    def no_gram(*args, **kwargs):
        raise AssertionError("the dense kernel must not run above DENSE_MAX_K")

    monkeypatch.setattr(hull_mod, "_wolfe_many", no_gram)
    np.testing.assert_array_less(np.abs(one_vs_rest_distances(X) - dense), solver_agreement_atol(dense))
    assert abs(one_vs_rest(X) - dense.min()) <= solver_agreement_atol(dense.min())


def test_unknown_method_is_refused():
    with pytest.raises(InvalidParameterError, match="method"):
        one_vs_rest_distances(random_code(5, 3), method="sparse")
    with pytest.raises(InvalidParameterError, match="method"):
        one_vs_rest(random_code(5, 3), method="gram")
