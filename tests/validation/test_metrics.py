"""spherecodes.validation.metrics against independent plain-numpy computations written here.

Every metric is recomputed from its definition (double loops or dense numpy, no spherecodes kernels),
checked for invariance under a random rotation, and the stationarity measures are checked against
finite differences of the energies / of ``mgd_logdet`` along the sphere.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _helpers import random_code, random_rotation

from spherecodes.errors import InvalidParameterError
from spherecodes.validation import metrics


# ----------------------------------------------------------------------------- plain numpy references
def ref_pairs(X):
    return list(itertools.combinations(range(len(X)), 2))


def ref_energy(X, s=1.0, metric="euclidean", half_space=False):
    """sum_{i<j} f(rho(x_i, x_j)) by a double loop; half_space: over the 2K points {x_k} U {-x_k}."""
    P = np.vstack([X, -X]) if half_space else X
    total = 0.0
    for i, j in ref_pairs(P):
        rho = (np.linalg.norm(P[i] - P[j]) if metric == "euclidean"
               else math.acos(max(-1.0, min(1.0, float(P[i] @ P[j])))))
        total += rho ** (-s) if s > 0 else (-math.log(rho) if s == 0 else -(rho ** (-s)))
    return total


def ref_logdet(X, eps):
    """log det of exp(-eps^2 |x_i - x_j|^2) with numpy's slogdet (LU), not Cholesky."""
    sq = np.array([[np.sum((a - b) ** 2) for b in X] for a in X])
    sign, val = np.linalg.slogdet(np.exp(-(eps**2) * sq))
    assert sign > 0
    return val


def tangent_basis(x):
    """Orthonormal basis (d - 1, d) of the tangent space at the unit vector x."""
    Q, _ = np.linalg.qr(np.column_stack([x, np.eye(len(x))]))
    return Q[:, 1:len(x)].T


def retract(X, i, v, h):
    Y = X.copy()
    Y[i] = (X[i] + h * v) / np.linalg.norm(X[i] + h * v)
    return Y


def fd_riemannian_gradient(f, X, h=1e-5):
    """Riemannian gradient (K, d) of f at X by central differences along tangent directions."""
    G = np.zeros_like(X)
    for i in range(len(X)):
        for v in tangent_basis(X[i]):
            G[i] += (f(retract(X, i, v, h)) - f(retract(X, i, v, -h))) / (2 * h) * v
    return G


def fd_euclidean_gradient(f, X, h=1e-6):
    """Plain gradient (K, d) of a function defined on all of R^{K x d}."""
    G = np.zeros_like(X)
    for i in range(X.shape[0]):
        for k in range(X.shape[1]):
            E = np.zeros_like(X)
            E[i, k] = h
            G[i, k] = (f(X + E) - f(X - E)) / (2 * h)
    return G


def simplex(K, d):
    """Regular simplex with K <= d + 1 vertices: the centred basis of R^K in K - 1 coordinates."""
    U, S, _ = np.linalg.svd(np.eye(K) - 1.0 / K)
    X = np.zeros((K, d))
    X[:, : K - 1] = U[:, : K - 1] * S[: K - 1]
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# ----------------------------------------------------------------------------- checks
def test_check_finite_counts_bad_coordinates():
    X = random_code(6, 3, seed=1)
    assert metrics.check_finite(X) == (True, "all coordinates finite")
    Y = X.copy()
    Y[1, 2] = np.nan
    Y[4, 0] = np.inf
    ok, reason = metrics.check_finite(Y)
    assert not ok and reason.startswith("2 coordinates")


def test_check_unit_norm_reports_the_worst_deviation_and_the_tolerance():
    X = random_code(5, 4, seed=3)
    ok, reason = metrics.check_unit_norm(X)
    assert ok and "tol 2.2e-10" in reason
    Y = X.copy()
    Y[2] *= 1.0 + 3e-7
    ok, reason = metrics.check_unit_norm(Y)
    assert not ok and "= 3e-07 > tol 2.2e-10" in reason
    ok, _ = metrics.check_unit_norm(Y, tol=1e-6)
    assert ok


def test_check_distinct_names_the_pair_distance_and_tolerance():
    X = random_code(10, 3, seed=5)
    ok, reason = metrics.check_distinct(X)
    assert ok and "min distance" in reason
    Y = np.vstack([X, X[7]])
    ok, reason = metrics.check_distinct(Y)
    assert not ok
    assert "rows 7 and 10" in reason and "distance 0 <=" in reason and "1.5e-08" in reason


def test_close_pairs_matches_a_double_loop():
    rng = np.random.default_rng(0)
    X = random_code(40, 3, seed=6)
    # a few near-duplicates at known distances around the threshold
    Y = np.vstack([X, X[3], X[5] + 1e-9 * rng.normal(size=3), X[8] + 1e-6 * rng.normal(size=3)])
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    tol = metrics.duplicate_tolerance()
    assert tol == pytest.approx(math.sqrt(np.finfo(np.float64).eps))
    expected = sorted((i, j) for i, j in ref_pairs(Y) if np.linalg.norm(Y[i] - Y[j]) <= tol)
    pairs, dist = metrics.close_pairs(Y, chunk=7)  # small chunks: exercise the blocking
    assert sorted(map(tuple, pairs.tolist())) == expected == [(3, 40), (5, 41)]
    assert np.all(np.diff(dist) >= 0) and dist[0] == 0.0
    # a larger tolerance finds the 1e-6 pair as well
    pairs, _ = metrics.close_pairs(Y, tol=1e-4)
    assert (8, 42) in map(tuple, pairs.tolist())


def test_duplicate_tolerance_is_where_the_inner_product_rounds_to_one():
    x = np.array([1.0, 0.0, 0.0])
    for r, rounds in ((0.5e-8, True), (3e-8, False)):
        y = np.array([math.cos(r), math.sin(r), 0.0])  # chord ~ r
        assert (float(x @ y) == 1.0) is rounds
        assert metrics.check_distinct(np.vstack([x, y]))[0] is not rounds


# ----------------------------------------------------------------------------- scores
@pytest.mark.parametrize("K,d,seed", [(7, 3, 0), (20, 5, 1), (2, 2, 2)])
def test_separation_matches_plain_numpy(K, d, seed):
    X = random_code(K, d, seed)
    pairs = ref_pairs(X)
    dmin = min(np.linalg.norm(X[i] - X[j]) for i, j in pairs)
    cmax = max(float(X[i] @ X[j]) for i, j in pairs)
    got = metrics.separation(X)
    assert got["min_distance"] == pytest.approx(dmin, rel=1e-14)
    assert got["max_cosine"] == pytest.approx(cmax, rel=1e-14, abs=1e-15)
    assert got["min_angle_deg"] == pytest.approx(math.degrees(math.acos(cmax)), rel=1e-10)


@pytest.mark.parametrize("s,metric,half", [(1.0, "euclidean", False), (0.0, "euclidean", False),
                                           (-1.0, "euclidean", False), (2.0, "geodesic", False),
                                           (1.0, "euclidean", True)])
def test_energy_matches_a_double_loop(s, metric, half):
    X = random_code(9, 4, seed=7)
    params = {"s": s, "metric": metric, "half_space": half}
    assert metrics.energy(X, params) == pytest.approx(ref_energy(X, s, metric, half), rel=1e-12)


def test_pairwise_angles_all_pairs_and_sampled():
    X = random_code(15, 3, seed=8)
    ref = np.array([math.degrees(math.acos(np.clip(X[i] @ X[j], -1, 1))) for i, j in ref_pairs(X)])
    got = metrics.pairwise_angles_deg(X)
    assert got.shape == (15 * 14 // 2,)
    np.testing.assert_allclose(got, ref, rtol=1e-11)
    # sampled: every angle is the angle of a real pair i != j
    sample = metrics.pairwise_angles_deg(X, max_pairs=30, seed=1)
    assert sample.shape == (30,)
    assert all(np.min(np.abs(ref - a)) < 1e-9 for a in sample)
    # accurate at 0 and 180 degrees, where arccos is not
    Y = np.array([[1.0, 0.0], [-1.0, 0.0], [math.cos(1e-9), math.sin(1e-9)]])
    angles = metrics.pairwise_angles_deg(Y)
    assert angles[0] == 180.0 and angles[1] == pytest.approx(math.degrees(1e-9), rel=1e-6)


@pytest.mark.parametrize("eps", [0.5, 1.0, 2.0])
def test_mgd_logdet_matches_slogdet(eps):
    X = random_code(12, 4, seed=9)
    assert metrics.mgd_logdet(X, eps) == pytest.approx(ref_logdet(X, eps), rel=1e-10)


# ----------------------------------------------------------------------------- invariance
def test_every_metric_is_rotation_invariant():
    X = random_code(11, 4, seed=10)
    Q = random_rotation(4, seed=11)
    Y = X @ Q.T
    for key, value in metrics.separation(X).items():
        assert metrics.separation(Y)[key] == pytest.approx(value, rel=1e-12), key
    params = {"s": 1.5, "metric": "euclidean", "half_space": False}
    assert metrics.energy(Y, params) == pytest.approx(metrics.energy(X, params), rel=1e-12)
    assert metrics.mgd_logdet(Y, 0.7) == pytest.approx(metrics.mgd_logdet(X, 0.7), rel=1e-11)
    assert metrics.riesz_stationarity(Y, 1.5) == pytest.approx(metrics.riesz_stationarity(X, 1.5), rel=1e-9)
    assert metrics.mgd_stationarity(Y, 0.7) == pytest.approx(metrics.mgd_stationarity(X, 0.7), rel=1e-9)
    np.testing.assert_allclose(metrics.pairwise_angles_deg(Y), metrics.pairwise_angles_deg(X), rtol=1e-10)
    assert metrics.check_distinct(Y)[0] and metrics.check_unit_norm(Y)[0]


# ----------------------------------------------------------------------------- stationarity vs finite differences
def _ratio(full, X):
    tang = full - np.sum(full * X, axis=1, keepdims=True) * X
    return np.max(np.linalg.norm(tang, axis=1)) / np.mean(np.linalg.norm(full, axis=1))


@pytest.mark.parametrize("eps", [0.8, 1.3])
def test_mgd_stationarity_matches_finite_differences_of_mgd_logdet(eps):
    X = random_code(6, 4, seed=12)
    # tangential part: finite differences of mgd_logdet itself along the sphere
    riem = fd_riemannian_gradient(lambda Y: metrics.mgd_logdet(Y, eps), X)
    # full gradient (the scale of the measure, as documented: 4 eps^2 sum_{j != i} (G^-1)_ij G_ij x_j): the gradient
    # in R^{K x d} of log det M(Y), M_ij = exp(-eps^2 (2 - 2 <y_i, y_j>)) off the diagonal and M_ii = 1, which
    # equals G on the sphere; its tangential part must be the Riemannian gradient above
    def logdet_ext(Y):
        M = np.exp(-(eps**2) * (2.0 - 2.0 * Y @ Y.T))
        np.fill_diagonal(M, 1.0)
        return np.linalg.slogdet(M)[1]

    full = fd_euclidean_gradient(logdet_ext, X)
    tang_full = full - np.sum(full * X, axis=1, keepdims=True) * X
    np.testing.assert_allclose(tang_full, riem, rtol=1e-5, atol=1e-7)
    expected = np.max(np.linalg.norm(riem, axis=1)) / np.mean(np.linalg.norm(full, axis=1))
    assert expected > 1e-2  # a clearly non-stationary code
    assert metrics.mgd_stationarity(X, eps) == pytest.approx(expected, rel=1e-5)


def test_mgd_stationarity_vanishes_at_the_simplex_where_the_gradient_does():
    X = simplex(5, 4)
    riem = fd_riemannian_gradient(lambda Y: metrics.mgd_logdet(Y, 1.0), X)
    assert np.max(np.abs(riem)) < 1e-8
    assert metrics.mgd_stationarity(X, 1.0) < 1e-12


@pytest.mark.parametrize("s", [1.0, 0.0, -1.0])
def test_riesz_stationarity_matches_finite_differences_of_the_energy(s):
    X = random_code(7, 3, seed=13)
    riem = fd_riemannian_gradient(lambda Y: ref_energy(Y, s), X)
    # scale: the plain gradient of sum_{i<j} f(|y_i - y_j|) in R^{K x d} (the forces); the double loop accepts
    # points off the sphere, and the tangential part of this gradient must be the Riemannian gradient above
    full = fd_euclidean_gradient(lambda Y: ref_energy(Y, s), X)
    tang_full = full - np.sum(full * X, axis=1, keepdims=True) * X
    np.testing.assert_allclose(tang_full, riem, rtol=1e-5, atol=1e-6)
    assert metrics.riesz_stationarity(X, s) == pytest.approx(_ratio(full, X), rel=1e-5)


def test_riesz_stationarity_is_infinite_for_coincident_points():
    X = random_code(5, 3, seed=14)
    assert metrics.riesz_stationarity(np.vstack([X, X[0]]), 1.0) == math.inf


def test_metrics_reject_arrays_that_are_not_codes():
    with pytest.raises(InvalidParameterError):
        metrics.separation(np.ones(3))
    with pytest.raises(InvalidParameterError):
        metrics.check_distinct(2.0 * np.eye(3))
