"""Tests of the large-K class-to-codeword assignment (spherecodes.assignment)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from spherecodes.assignment import (
    _linearised_step,
    assign_classes_sparse,
    assignment_value,
    candidate_codewords,
    exchange_gains,
)
from spherecodes.errors import InvalidParameterError
from spherecodes.export import assign_classes, assignment_objective, class_similarity_from_means


def _problem(K: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    S = class_similarity_from_means(rng.standard_normal((K, 6)))
    return W, S, rng


def test_value_equals_dense_objective():
    W, S, rng = _problem(40, 5)
    perm = rng.permutation(40)
    assert assignment_value(S, W, perm) == pytest.approx(assignment_objective(S, W, perm), rel=1e-12)
    assert assignment_value(sp.csr_matrix(S), W, perm) == pytest.approx(assignment_objective(S, W, perm), rel=1e-12)


def test_exchange_gains_equal_brute_force():
    W, S, rng = _problem(30, 4, seed=1)
    perm = rng.permutation(30)
    X = W[perm]
    A = S @ X
    a = rng.integers(0, 30, 50)
    b = (a + rng.integers(1, 30, 50)) % 30
    gains = exchange_gains(S, X, A, a, b)
    base = assignment_value(S, W, perm)
    for n in range(50):
        q = perm.copy()
        q[[a[n], b[n]]] = q[[b[n], a[n]]]
        assert gains[n] == pytest.approx(assignment_value(S, W, q) - base, abs=1e-10)


def test_candidates_are_the_top_k():
    W, S, rng = _problem(50, 6, seed=2)
    A = rng.standard_normal((50, 6))
    cand = candidate_codewords(A, W, 7, block=8)
    M = A @ W.T
    for a in range(50):
        assert set(cand[a]) == set(np.argsort(-M[a])[:7])


def test_linearised_step_with_all_candidates_is_the_dense_lap():
    W, S, rng = _problem(35, 5, seed=3)
    perm = rng.permutation(35)
    M = (S @ W[perm]) @ W.T
    rows, cols = linear_sum_assignment(M, maximize=True)
    step = _linearised_step(S, W, perm, 35)
    assert np.array_equal(np.sort(step), np.arange(35))
    assert M[np.arange(35), step].sum() == pytest.approx(M[rows, cols].sum(), rel=1e-12)


def test_sparse_and_dense_similarity_give_the_same_assignment():
    W, S, _ = _problem(60, 6, seed=4)
    S[np.abs(S) < 0.5] = 0.0
    dense = assign_classes_sparse(W, S, candidates=8)
    sparse = assign_classes_sparse(W, sp.csr_matrix(S), candidates=8)
    assert np.array_equal(dense.permutation, sparse.permutation)
    assert dense.objective_value == pytest.approx(sparse.objective_value, rel=1e-12)


@pytest.mark.parametrize("K", [60, 150])
def test_against_dense_lsa(K):
    W, S, _ = _problem(K, 8, seed=K)
    ours = assign_classes_sparse(W, S, candidates=16)
    ref = assign_classes(W, S, restarts=0)
    assert np.array_equal(np.sort(ours.permutation), np.arange(K))
    assert ours.objective_value == pytest.approx(assignment_objective(S, W, ours.permutation), rel=1e-12)
    assert ours.objective_value >= ours.identity_value
    # the gain over the identity is within 10 % of the dense method's gain
    gain_ratio = (ours.objective_value - ours.identity_value) / (ref.objective_value - ref.identity_value)
    assert gain_ratio > 0.9


def test_bad_similarity_is_refused():
    W, S, _ = _problem(10, 3)
    with pytest.raises(InvalidParameterError, match="similarity"):
        assign_classes_sparse(W, S[:, :9])
    S[0, 1] += 1.0
    with pytest.raises(InvalidParameterError, match="symmetric"):
        assign_classes_sparse(W, S)
    with pytest.raises(InvalidParameterError, match="candidates"):
        assign_classes_sparse(W, np.eye(10), candidates=0)
