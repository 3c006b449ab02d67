"""Blocked neighbour search (spherecodes.kernels.neighbours) against plain numpy on the full Gram matrix."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from _helpers import random_code

from spherecodes.constructions import construct_points
from spherecodes.kernels.neighbours import (
    float32_dot_error,
    near_pairs,
    nearest_neighbours,
    neighbours_memory_bytes,
    row_max_cosine,
)


def plain_gram(X):
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    return G


@pytest.mark.parametrize("K,d,block", [(2, 3, None), (57, 4, 5), (300, 16, 64), (301, 16, None)])
def test_row_max_cosine_matches_plain_numpy(K, d, block):
    X = random_code(K, d, seed=K)
    c, arg = row_max_cosine(X, block=block)
    G = plain_gram(X)
    np.testing.assert_allclose(c, G.max(axis=1), rtol=0, atol=4 * np.finfo(float).eps * d)
    np.testing.assert_array_equal(arg, G.argmax(axis=1))


@pytest.mark.parametrize("K,d", [(120, 3), (400, 8), (250, 40)])
@pytest.mark.parametrize("block", [1, 7, None])
def test_near_pairs_match_plain_numpy(K, d, block):
    X = random_code(K, d, seed=K + d)
    G = np.triu(X @ X.T, 1)
    # a threshold half way between two consecutive inner products: no pair sits on it
    vals = np.sort(G[np.triu_indices(K, 1)])[::-1]
    t = 0.5 * (vals[40] + vals[41])
    pairs, cos = near_pairs(X, t, block=block)
    i, j = np.nonzero(np.triu(np.ones((K, K), dtype=bool), 1) & (X @ X.T >= t))
    np.testing.assert_array_equal(pairs, np.column_stack([i, j]))
    np.testing.assert_allclose(cos, (X @ X.T)[i, j], rtol=0, atol=1e-14)
    assert pairs.shape == (41, 2)


def test_near_pairs_of_the_cross_polytope_are_exact_at_zero():
    X = construct_points("cross_polytope", 6, 12)
    pairs, cos = near_pairs(X, 0.0, block=5)
    # every pair but the 6 antipodal ones has inner product exactly 0
    assert pairs.shape[0] == 12 * 11 // 2 - 6
    assert np.all(cos == 0.0)
    assert not near_pairs(X, 1e-300)[0].size


def test_near_pairs_resolve_what_float32_cannot():
    # 30 points within 1e-5 of each other: inner products 1 - O(1e-10), all equal in float32;
    # the float64 recomputation still splits them at a threshold between two of them
    rng = np.random.default_rng(3)
    base = random_code(1, 5, seed=1)[0]
    X = base + 1e-5 * rng.normal(size=(30, 5))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    G = X @ X.T
    vals = np.sort(G[np.triu_indices(30, 1)])
    assert np.unique(vals.astype(np.float32)).size < 5
    t = 0.5 * (vals[200] + vals[201])
    assert vals[201] - vals[200] > 1e-14  # well above the float64 rounding of the inner products
    pairs, _ = near_pairs(X, t, block=4)
    i, j = np.nonzero(np.triu(G >= t, 1))
    np.testing.assert_array_equal(pairs, np.column_stack([i, j]))
    assert pairs.shape[0] == vals.size - 201


@pytest.mark.parametrize("m", [1, 5, 59])
def test_nearest_neighbours_match_argsort(m):
    X = random_code(60, 6, seed=m)
    rows = np.array([0, 7, 59, 7])
    idx, cos = nearest_neighbours(X, rows, m, block=3)
    G = plain_gram(X)
    for r, row in enumerate(rows):
        ref = np.argsort(-G[row], kind="stable")[:m]
        np.testing.assert_array_equal(idx[r], ref)
        np.testing.assert_allclose(cos[r], G[row, ref], rtol=0, atol=1e-15)
        assert row not in idx[r]


def test_bad_arguments_raise():
    X = random_code(10, 3)
    with pytest.raises(ValueError, match="m must be"):
        nearest_neighbours(X, [0], 10)
    with pytest.raises(ValueError, match="block"):
        row_max_cosine(X, block=0)
    with pytest.raises(ValueError, match="threshold"):
        near_pairs(X, float("nan"))


def test_float32_dot_error_covers_float32_products():
    X = random_code(500, 64, seed=9)
    exact = X @ X.T
    X32 = X.astype(np.float32)
    approx = (X32 @ X32.T).astype(np.float64)
    assert np.max(np.abs(approx - exact)) <= float32_dot_error(64)


@pytest.mark.parametrize("K,d", [(2000, 16), (3000, 8)])
def test_memory_estimate_covers_the_measured_peak(K, d):
    X = random_code(K, d, seed=1)
    near_pairs(X[:50], 0.5)  # compile outside the measurement
    nearest_neighbours(X[:50], [0], 3)
    for run in (lambda: row_max_cosine(X), lambda: nearest_neighbours(X, np.arange(K), 5),
                lambda: near_pairs(X, 0.9)):
        tracemalloc.start()
        out = run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        pairs = out[0].shape[0] if out[0].ndim == 2 and out[0].shape[1] == 2 else 0
        est = neighbours_memory_bytes(K, d, pairs=pairs)
        assert peak <= est <= 10 * peak, (peak, est)
