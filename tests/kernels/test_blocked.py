"""Blocked-BLAS certificates against the numba pair-by-pair kernels (the float64 references)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _helpers import random_code

from spherecodes.kernels import min_distance_max_cosine, pairwise, riesz_energy
from spherecodes.kernels.blocked import (
    gram_error_bound,
    max_cosine_blocked,
    min_distance_max_cosine_blocked,
    pair_statistics_blocked,
    riesz_energy_blocked,
)


def numba_energy(X, s=1.0, metric="euclidean", half_space=False):
    """The numba kernel alone (riesz_energy itself switches to the blocked kernel for large K)."""
    total = float(pairwise._pick(pairwise._ENERGY, len(X))(np.ascontiguousarray(X), float(s),
                                                             pairwise.METRICS.index(metric), bool(half_space)))
    if math.isinf(total):
        return total
    if half_space:
        x = 2.0 if metric == "euclidean" else math.pi
        total = 2.0 * total + len(X) * (x ** (-s) if s > 0 else (-math.log(x) if s == 0 else -(x ** (-s))))
    return total


def numba_separation(X):
    r, c = pairwise._pick(pairwise._SEPARATION, len(X))(np.ascontiguousarray(X))
    return float(r), float(c)


@pytest.mark.parametrize("K,d", [(37, 3), (120, 40)])
@pytest.mark.parametrize("block", [5, 16, None])
def test_separation_is_bit_identical_to_the_numba_kernel(K, d, block):
    X = random_code(K, d, seed=K + d)
    assert min_distance_max_cosine_blocked(X, block=block) == numba_separation(X)
    assert max_cosine_blocked(X, block=block) == numba_separation(X)[1]


def test_separation_with_many_near_ties_and_duplicates_is_exact():
    # the 24-cell-like code of +-e_i +- e_j (d=5, 40 points, many equal distances), slightly rotated,
    # plus a duplicated point: min distance exactly 0
    d = 5
    pts = []
    for i, j in itertools.combinations(range(d), 2):
        for a, b in itertools.product((1.0, -1.0), repeat=2):
            v = np.zeros(d)
            v[i], v[j] = a, b
            pts.append(v / math.sqrt(2))
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(d, d)))
    X = np.array(pts) @ Q.T
    for block in (3, 7, None):
        assert min_distance_max_cosine_blocked(X, block=block) == numba_separation(X)
    Y = np.concatenate([X, X[5:6]])
    r, c = min_distance_max_cosine_blocked(Y, block=4)
    assert (r, c) == numba_separation(Y) and r == 0.0


@pytest.mark.parametrize("s,metric,half_space",
                         list(itertools.product((-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 6.0), ("euclidean", "geodesic"),
                                                (False, True))))
def test_energy_matches_the_numba_kernel(s, metric, half_space):
    X = random_code(45, 4, seed=9)
    want = numba_energy(X, s, metric, half_space)
    for block in (6, None):
        got = riesz_energy_blocked(X, s, metric, half_space, block=block)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_close_pairs_keep_full_relative_accuracy():
    # chord 1e-9: sqrt(2 - 2 <a, b>) would have no correct digit; the exact recomputation does
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([math.cos(1e-9), math.sin(1e-9), 0.0])
    c = np.array([0.0, 0.0, 1.0])
    X = np.stack([a, b, c])
    r = float(np.linalg.norm(a - b))
    want = 1.0 / r + 1.0 / float(np.linalg.norm(a - c)) + 1.0 / float(np.linalg.norm(b - c))
    assert riesz_energy_blocked(X, 1.0, block=2) == pytest.approx(want, rel=1e-13)
    assert min_distance_max_cosine_blocked(X, block=2) == numba_separation(X)


def test_coincident_points_give_infinite_energy_like_the_numba_kernel():
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    for s in (1.0, 0.0):
        assert riesz_energy_blocked(X, s, block=2) == math.inf == numba_energy(X, s)
    assert riesz_energy_blocked(X, -1.0, block=2) == pytest.approx(numba_energy(X, -1.0), rel=1e-14)


def test_one_pass_statistics_equal_the_separate_functions():
    X = random_code(70, 6, seed=4)
    st = pair_statistics_blocked(X, 1.0, block=16)
    assert st["energy"] == riesz_energy_blocked(X, 1.0, block=16)
    assert (st["min_distance"], st["max_cosine"]) == min_distance_max_cosine_blocked(X, block=16)
    assert pair_statistics_blocked(X[:1]) == {"energy": 0.0, "min_distance": math.inf, "max_cosine": -math.inf}


def test_public_kernels_switch_to_blocks_for_large_k_with_the_same_results():
    K = max(pairwise.BLOCKED_ENERGY_MIN_K, pairwise.BLOCKED_SEPARATION_MIN_K) + 3
    X = random_code(K, pairwise.BLOCKED_SEPARATION_MIN_D, seed=12)
    assert riesz_energy(X, 1.0) == pytest.approx(numba_energy(X, 1.0), rel=1e-12)
    assert min_distance_max_cosine(X) == numba_separation(X)


def test_gram_error_bound_holds_for_blas_products():
    rng = np.random.default_rng(5)
    for d in (3, 128):
        A = rng.normal(size=(200, d))
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        G = A[:100] @ A[100:].T
        exact = np.array([[math.fsum(A[i] * A[100 + j]) for j in range(100)] for i in range(100)])
        assert np.abs(G - exact).max() <= gram_error_bound(d)
