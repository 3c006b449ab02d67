"""Tests for spherecodes.training.metrics: NC1/NC2/NC3 on collapsed sets, one-vs-rest distances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from spherecodes.errors import InvalidParameterError
from spherecodes.training.metrics import average_energy, gnc2_energy, nc_metrics, one_vs_rest_distances, reverse_energy


def simplex(K: int, d: int) -> np.ndarray:
    centred = np.eye(K) - 1.0 / K
    basis = np.linalg.svd(centred)[0][:, : K - 1]
    pts = np.zeros((K, d))
    pts[:, : K - 1] = centred @ basis
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def collapsed(points: np.ndarray, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features equal to their class proxy times random positive norms (perfect collapse after normalising)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(points.shape[0]), per_class)
    rng.shuffle(labels)
    norms = rng.uniform(0.5, 4.0, size=labels.size)
    return points[labels] * norms[:, None], labels


@pytest.mark.parametrize("K", [3, 4, 6, 10])
def test_one_vs_rest_of_simplex_is_K_over_K_minus_1(K):
    got = one_vs_rest_distances(simplex(K, K + 1))
    assert np.allclose(got, K / (K - 1), rtol=0, atol=1e-9)


def test_one_vs_rest_of_square_and_cross_polytope_is_1():
    square = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=float)
    assert np.allclose(one_vs_rest_distances(square), 1.0, atol=1e-9)
    cross = np.vstack([np.eye(3), -np.eye(3)])
    assert np.allclose(one_vs_rest_distances(cross), 1.0, atol=1e-9)


def reference_distance(p: np.ndarray, Q: np.ndarray) -> float:
    """SLSQP on the simplex, a solver independent of the one under test."""
    n = Q.shape[0]
    res = minimize(lambda l: float(np.sum((p - Q.T @ l) ** 2)), np.full(n, 1.0 / n),
                   jac=lambda l: -2.0 * Q @ (p - Q.T @ l), bounds=[(0, 1)] * n,
                   constraints=[{"type": "eq", "fun": lambda l: l.sum() - 1.0, "jac": lambda l: np.ones(n)}],
                   method="SLSQP", options={"ftol": 1e-16, "maxiter": 1000})
    return float(np.linalg.norm(p - Q.T @ res.x))


@pytest.mark.parametrize("seed,K,d", [(0, 7, 3), (1, 10, 4), (2, 12, 2), (3, 5, 6)])
def test_one_vs_rest_matches_an_independent_solver(seed, K, d):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(K, d))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    got = one_vs_rest_distances(P)
    ref = np.array([reference_distance(P[k], np.delete(P, k, axis=0)) for k in range(K)])
    assert np.allclose(got, ref, rtol=0, atol=1e-6)


def test_one_vs_rest_point_inside_hull_is_zero():
    P = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [0.0, -1.0]])  # the origin lies inside the others' hull
    assert one_vs_rest_distances(P)[0] == pytest.approx(0.0, abs=1e-6)


def test_perfectly_collapsed_simplex_set():
    K, d = 10, 12
    P = simplex(K, d)
    X, y = collapsed(P, per_class=7)
    m = nc_metrics(X, y, weights=P)
    assert m["nc1"] == pytest.approx(0.0, abs=1e-20)
    assert m["nc3"] == pytest.approx(0.0, abs=1e-14)
    assert m["reverse_energy"] == pytest.approx(0.0, abs=1e-10)
    assert m["nc2_one_vs_rest"] == pytest.approx(K / (K - 1), abs=1e-9)
    assert m["nc2_one_vs_rest_mean"] == pytest.approx(K / (K - 1), abs=1e-9)
    # Riesz s=2 over unordered pairs: K(K-1)/2 pairs at squared distance 2K/(K-1)
    assert m["nc2_riesz_energy"] == pytest.approx(K * (K - 1) / 2 * (K - 1) / (2 * K), rel=1e-12)
    assert m["nc2_min_angle_deg"] == pytest.approx(math.degrees(math.acos(-1 / (K - 1))), rel=1e-12)
    # the same with the global mean subtracted (the simplex has zero mean) and with torch inputs
    mt = nc_metrics(torch.tensor(X), torch.tensor(y), torch.tensor(P), center=True)
    assert mt["nc1"] == pytest.approx(0.0, abs=1e-20)
    assert mt["nc3"] == pytest.approx(0.0, abs=1e-12)


def test_noisy_features_have_positive_nc1_and_misaligned_weights_positive_nc3():
    K, d = 4, 3
    P = simplex(K, d)
    X, y = collapsed(P, per_class=20, seed=1)
    X = X + 0.2 * np.random.default_rng(2).normal(size=X.shape)
    m = nc_metrics(X, y, weights=P)
    assert m["nc1"] > 1e-3 and m["reverse_energy"] > 1.0
    rotated = P @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    assert nc_metrics(X, y, weights=rotated)["nc3"] > 0.5


def test_nc1_matches_direct_formula():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    y = np.repeat(np.arange(4), 10)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    means = np.stack([Xn[y == c].mean(axis=0) for c in range(4)])
    g = Xn.mean(axis=0)
    SW = sum(np.outer(Xn[i] - means[y[i]], Xn[i] - means[y[i]]) for i in range(40)) / 40
    SB = sum(np.outer(means[c] - g, means[c] - g) for c in range(4)) / 4
    assert nc_metrics(X, y)["nc1"] == pytest.approx(np.trace(SW @ np.linalg.pinv(SB)) / 4, rel=1e-10)


def test_reverse_energy_matches_double_loop():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(15, 4))
    y = rng.integers(0, 3, size=15)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    brute = sum(np.sum((Xn[i] - Xn[j]) ** 2) for i in range(15) for j in range(15) if i != j and y[i] == y[j])
    pairs = sum(int(np.sum(y == c)) * (int(np.sum(y == c)) - 1) for c in range(3))
    assert reverse_energy(X, y) == pytest.approx(brute, rel=1e-12)
    assert reverse_energy(X, y, mean=True) == pytest.approx(brute / pairs, rel=1e-12)


def test_metric_inputs_are_checked():
    P = simplex(3, 2)
    X, y = collapsed(P, 2)
    with pytest.raises(InvalidParameterError, match="labels"):
        nc_metrics(X, y[:-1])
    with pytest.raises(InvalidParameterError, match="class"):
        nc_metrics(X, y, num_classes=4)  # class 3 has no samples
    with pytest.raises(InvalidParameterError, match="weights"):
        nc_metrics(X, y, weights=np.ones((3, 3)))
    with pytest.raises(InvalidParameterError):
        one_vs_rest_distances(np.ones((1, 3)))


# ------------------------------------------------------------ HUG average energy (GNC(2), Eq. 1)


def regular_polygon(C: int, phase: float = 0.0) -> np.ndarray:
    t = phase + 2 * np.pi * np.arange(C) / C
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def polygon_average_energy_by_chords(C: int) -> float:
    """(1 / (C (C - 1))) sum_{i != j} |u_i - u_j|^-2 for the regular C-gon, from the chord lengths 2 sin(pi k / C).

    Every vertex sees the other C - 1 vertices at chords 2 sin(pi k / C), k = 1..C-1, so the ordered-pair
    sum is C * sum_k 1 / (4 sin^2(pi k / C)); no coordinates involved.
    """
    return C * sum(1.0 / (4.0 * math.sin(math.pi * k / C) ** 2) for k in range(1, C)) / (C * (C - 1))


def test_average_energy_of_regular_polygons_matches_the_hug_paper():
    # HUG paper, Sec. 2: minimal energy on S^1 is 2 for C = 3 ("1/3 for average energy") and about 82.5 for
    # C = 10 ("about 0.917 for average energy"); csc^2 identity: average = (C + 1) / 12 exactly
    decagon = average_energy(regular_polygon(10, phase=0.3))
    triangle = average_energy(regular_polygon(3, phase=1.1))
    assert decagon == pytest.approx(polygon_average_energy_by_chords(10), rel=1e-13)
    assert decagon == pytest.approx(11 / 12, rel=1e-13)
    assert round(decagon, 3) == 0.917 and decagon * 90 == pytest.approx(82.5, rel=1e-13)
    assert triangle == pytest.approx(1 / 3, rel=1e-13) and triangle * 6 == pytest.approx(2.0, rel=1e-13)
    for C in (4, 7, 12):
        assert average_energy(regular_polygon(C)) == pytest.approx(polygon_average_energy_by_chords(C), rel=1e-12)


def test_average_energy_normalises_rows_and_is_the_mean_over_pairs():
    P = regular_polygon(10)
    scaled = P * np.random.default_rng(0).uniform(0.5, 3.0, size=(10, 1))
    assert average_energy(scaled) == pytest.approx(11 / 12, rel=1e-13)
    X = np.random.default_rng(1).normal(size=(6, 3))
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    brute = np.mean([np.linalg.norm(U[a] - U[b]) ** -1.5 for a in range(6) for b in range(6) if a != b])
    assert average_energy(torch.tensor(X), s=1.5) == pytest.approx(brute, rel=1e-12)
    with pytest.raises(InvalidParameterError):
        average_energy(np.zeros((3, 2)))


def test_a_perturbed_decagon_has_a_higher_average_energy():
    # the regular polygon minimises the s = 2 energy on S^1: any move of one vertex raises it
    t = 2 * np.pi * np.arange(10) / 10
    t[3] += 0.05
    moved = np.stack([np.cos(t), np.sin(t)], axis=1)
    assert average_energy(moved) > 11 / 12 + 1e-4


@pytest.mark.parametrize("C", [3, 10])
def test_gnc2_energy_of_collapsed_polygon_features(C):
    P = regular_polygon(C, phase=0.2)
    labels = np.repeat(np.arange(C), 9)
    X = 2.5 * P[labels]  # balanced classes, one norm: the global mean is 0
    expected = polygon_average_energy_by_chords(C)
    assert gnc2_energy(X, labels) == pytest.approx(expected, rel=1e-12)
    assert gnc2_energy(X, labels, mean=False) == pytest.approx(expected * C * (C - 1), rel=1e-12)
    # centring by the global mean (Eq. 1) makes it invariant to a common offset of all features ...
    shifted = X + np.array([3.0, -1.0])
    assert gnc2_energy(shifted, labels) == pytest.approx(expected, rel=1e-12)
    # ... which the uncentred energy is not
    assert gnc2_energy(shifted, labels, center=False) > expected + 1e-3
    m = nc_metrics(shifted, labels)
    assert m["gnc2_energy_mean"] == pytest.approx(expected, rel=1e-12)
    assert m["nc2_riesz_energy_mean"] == pytest.approx(average_energy(
        np.stack([shifted[labels == c][0] for c in range(C)])), rel=1e-12)  # normalised, uncentred means


def test_nc_metrics_energy_mean_is_the_sum_over_pairs():
    X = np.random.default_rng(4).normal(size=(30, 3))
    y = np.arange(30) % 5
    m = nc_metrics(X, y)
    assert m["nc2_riesz_energy_mean"] == pytest.approx(m["nc2_riesz_energy"] / 10, rel=1e-13)


def test_gnc2_energy_inputs_are_checked():
    P = regular_polygon(3)
    X, y = P[[0, 1, 2, 0]], np.array([0, 1, 2, 0])
    with pytest.raises(InvalidParameterError, match="class"):
        gnc2_energy(X, y, num_classes=4)
    with pytest.raises(InvalidParameterError, match="origin"):
        gnc2_energy(np.ones((4, 2)), np.array([0, 1, 0, 1]))  # every class mean equals the global mean
    # nc_metrics reports that case as NaN instead of failing (a collapsed network still gets its other metrics)
    same = nc_metrics(np.tile([1.0, 2.0], (4, 1)), np.array([0, 1, 0, 1]))
    assert math.isnan(same["gnc2_energy_mean"]) and same["nc2_riesz_energy"] == math.inf


def test_labels_out_of_range_are_rejected():
    P = simplex(3, 2)
    X, y = collapsed(P, 2)
    with pytest.raises(InvalidParameterError, match="\\[0, 1\\]"):
        nc_metrics(X, y, num_classes=2)  # label 2 with 2 classes
    with pytest.raises(InvalidParameterError, match="labels"):
        gnc2_energy(X, np.where(y == 0, -1, y))
