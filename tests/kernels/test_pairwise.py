"""The numba float64 kernels against plain-numpy references written here."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _helpers import random_code, random_rotation

from spherecodes.kernels import min_distance_max_cosine, riesz_energy, riesz_gradient

S_VALUES = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 6.0]
METRICS = ["euclidean", "geodesic"]


def reference_energy(X: np.ndarray, s: float, metric: str, half_space: bool) -> float:
    """Sum over unordered pairs of the 2K (or K) points, with math.fsum for an exact-ish total."""
    P = np.concatenate([X, -X]) if half_space else X
    terms = []
    for i, j in itertools.combinations(range(len(P)), 2):
        r = float(np.linalg.norm(P[i] - P[j]))
        # asin is ill-conditioned near 1: use the supplementary chord |a + b| past 90 degrees
        rp = float(np.linalg.norm(P[i] + P[j]))
        theta = 2.0 * math.asin(r / 2.0) if r <= rp else math.pi - 2.0 * math.asin(rp / 2.0)
        x = r if metric == "euclidean" else theta
        terms.append(x ** (-s) if s > 0 else (-math.log(x) if s == 0 else -(x ** (-s))))
    return math.fsum(terms)


@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("s", S_VALUES)
def test_energy_matches_numpy_reference(s, metric, half_space):
    X = random_code(23, 4, seed=1)
    got = riesz_energy(X, s=s, metric=metric, half_space=half_space)
    want = reference_energy(X, s, metric, half_space)
    # the reference takes the angle from the chord too, so both agree to rounding
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def _retract(X, V):
    Y = X + V
    return Y / np.linalg.norm(Y, axis=1, keepdims=True)


@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("s", S_VALUES)
def test_riemannian_gradient_matches_finite_differences(s, metric, half_space):
    X = random_code(15, 3, seed=2)
    rng = np.random.default_rng(3)
    V = rng.normal(size=X.shape)
    V -= np.sum(V * X, axis=1, keepdims=True) * X
    G = riesz_gradient(X, s=s, metric=metric, half_space=half_space)
    h = 1e-6
    fd = (riesz_energy(_retract(X, h * V), s, metric, half_space)
          - riesz_energy(_retract(X, -h * V), s, metric, half_space)) / (2 * h)
    assert np.sum(G * V) == pytest.approx(fd, rel=1e-6, abs=1e-6)
    # Riemannian: tangent to the sphere at every point
    assert np.max(np.abs(np.sum(G * X, axis=1))) < 1e-10 * max(1.0, np.abs(G).max())


def test_min_distance_and_max_cosine_match_numpy():
    X = random_code(40, 5, seed=4)
    r, c = min_distance_max_cosine(X)
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    C = X @ X.T
    iu = np.triu_indices(len(X), 1)
    assert r == pytest.approx(D[iu].min(), rel=1e-14)
    assert c == pytest.approx(C[iu].max(), rel=1e-14)


def test_scores_are_rotation_invariant():
    X = random_code(30, 6, seed=5)
    Q = random_rotation(6, seed=6)
    for s in (0.0, 1.0, -1.0):
        for metric in METRICS:
            a = riesz_energy(X, s, metric)
            b = riesz_energy(X @ Q.T, s, metric)
            assert b == pytest.approx(a, rel=1e-13)
    assert min_distance_max_cosine(X @ Q.T)[1] == pytest.approx(min_distance_max_cosine(X)[1], abs=1e-14)


def test_close_points_keep_relative_accuracy():
    # two points 1e-9 apart: chord from coordinates, not sqrt(2 - 2 cos), which would lose all digits
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([math.cos(1e-9), math.sin(1e-9), 0.0])
    X = np.stack([a, b])
    r, _ = min_distance_max_cosine(X)
    assert r == pytest.approx(2 * math.sin(0.5e-9), rel=1e-6)
    assert riesz_energy(X, 1.0) == pytest.approx(1.0 / r, rel=1e-12)


def test_coincident_points_give_infinite_energy_not_nan():
    X = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert riesz_energy(X, 1.0) == math.inf
    assert riesz_energy(X, 0.0) == math.inf
    assert math.isfinite(riesz_energy(X, -1.0))


def test_compensated_sum_beats_naive_float64_on_many_terms():
    # many equal-size terms: the compensated total equals fsum of the reference terms to 1 ulp scale
    X = random_code(400, 3, seed=7)
    got = riesz_energy(X, 1.0)
    iu = np.triu_indices(len(X), 1)
    terms = 1.0 / np.linalg.norm(X[iu[0]] - X[iu[1]], axis=1)
    assert abs(got - math.fsum(terms)) <= 4 * np.finfo(float).eps * got
