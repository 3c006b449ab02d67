"""Candidate-set one-vs-rest solver (spherecodes.kernels.one_vs_rest) against the dense Wolfe kernel."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from _helpers import random_code, random_rotation
from hypothesis import given, settings
from hypothesis import strategies as st

from spherecodes.constructions import construct_points
from spherecodes.kernels.one_vs_rest import (
    WOLFE_GAP_TOL,
    _wolfe_many,
    hull_distances_blocked,
    hull_distances_memory_bytes,
    min_hull_distance,
)
from spherecodes.validation.one_vs_rest import solver_agreement_atol


def dense(X):
    X = np.ascontiguousarray(X, dtype=np.float64)
    dist, lam, _ = _wolfe_many(X, X @ X.T, WOLFE_GAP_TOL, np.arange(len(X), dtype=np.int64))
    return dist


def assert_agree(X, **kwargs):
    ref = dense(X)
    dist, supports = hull_distances_blocked(X, np.arange(len(X)), **kwargs)
    np.testing.assert_array_less(np.abs(dist - ref), solver_agreement_atol(ref))
    for k, (rows, w) in enumerate(supports):
        assert k not in rows
        assert np.all(w > 0) and math.isclose(w.sum(), 1.0, rel_tol=1e-12)
        # the weights reproduce the reported distance
        assert abs(np.linalg.norm(X[k] - w @ X[rows]) - dist[k]) <= 1e-12
    return dist


@pytest.mark.parametrize("K,d", [(30, 3), (80, 5), (120, 20), (60, 70)])
@pytest.mark.parametrize("candidates", [1, 3, None])
def test_random_codes_agree_with_the_dense_solver(K, d, candidates):
    # candidates=1: nearly every active point enters through the blocked check
    assert_agree(random_code(K, d, seed=K * d), candidates=candidates, block=7)


@pytest.mark.parametrize("name,d,K,rho", [("simplex", 5, 6, 6 / 5), ("simplex", 9, 7, 7 / 6),
                                          ("cross_polytope", 4, 8, 1.0), ("orthoplex", 7, 11, 1.0),
                                          ("polygon", 2, 9, 1 - math.cos(2 * math.pi / 9))])
def test_structured_codes_match_closed_forms(name, d, K, rho):
    X = construct_points(name, d, K) @ random_rotation(d, seed=K).T
    dist = assert_agree(X, candidates=2)
    np.testing.assert_allclose(dist, rho, rtol=0, atol=1e-13)
    assert math.isclose(min_hull_distance(X, candidates=2), rho, abs_tol=1e-13)


@settings(max_examples=25, deadline=None)
@given(K=st.integers(2, 40), d=st.integers(2, 12), seed=st.integers(0, 10**6),
       candidates=st.integers(1, 8), block=st.integers(1, 50))
def test_any_code_agrees_with_the_dense_solver(K, d, seed, candidates, block):
    assert_agree(random_code(K, d, seed=seed), candidates=candidates, block=block)


@pytest.mark.parametrize("K,d", [(50, 3), (200, 8), (150, 40)])
def test_min_hull_distance_is_the_dense_minimum(K, d):
    X = random_code(K, d, seed=K + 1)
    ref = dense(X)
    got = min_hull_distance(X, candidates=4, block=16)
    assert abs(got - ref.min()) <= solver_agreement_atol(ref.min())


def test_two_points():
    X = random_code(2, 3, seed=0)
    dist, supports = hull_distances_blocked(X, [0, 1])
    np.testing.assert_allclose(dist, np.linalg.norm(X[0] - X[1]), rtol=0, atol=1e-15)
    assert supports[0][0].tolist() == [1]


def test_fewer_than_two_points_raise():
    with pytest.raises(ValueError, match="at least 2"):
        hull_distances_blocked(np.ones((1, 3)), [0])


@pytest.mark.parametrize("K,d", [(4000, 16), (3000, 40)])
def test_memory_estimate_covers_the_measured_peak(K, d):
    X = random_code(K, d, seed=2)
    hull_distances_blocked(X[:100], np.arange(3))  # compile outside the measurement
    ks = np.arange(300)
    tracemalloc.start()
    hull_distances_blocked(X, ks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est = hull_distances_memory_bytes(K, d)
    assert peak <= est <= 10 * peak, (peak, est)
