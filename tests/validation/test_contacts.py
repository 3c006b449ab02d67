"""Tests for spherecodes.validation.contacts: contact graphs, rattlers, the Tammes KKT residual.

Configurations are built here: the icosahedron, octahedron, regular simplex and cross-polytope, and
Schutte & van der Waerden's optimal square antiprism for K = 8 (two squares at heights +-h turned by 45
degrees, all 16 edges equal; its max cosine is sqrt(2)/(4 + sqrt(2)) = 0.26120..., the value of the Tammes
table). These are rigid optimal codes, so the residual is ~1e-14; perturbed or non-optimal ones are not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import plain_max_cosine as max_cosine
from _helpers import random_code, random_rotation

from spherecodes.errors import InvalidParameterError
from spherecodes.validation.contacts import (
    assert_tammes_kkt,
    check_tammes_kkt,
    contact_graph,
    rattlers,
    tammes_kkt_residual,
)

PHI = (1.0 + math.sqrt(5.0)) / 2.0


def unit(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def icosahedron() -> np.ndarray:
    pts = []
    for a in (1.0, -1.0):
        for b in (1.0, -1.0):
            pts += [[0.0, a, b * PHI], [a, b * PHI, 0.0], [b * PHI, 0.0, a]]
    return unit(pts)


def cross_polytope(d: int) -> np.ndarray:
    return np.vstack([np.eye(d), -np.eye(d)])


def simplex(d: int) -> np.ndarray:
    K = d + 1
    E = np.eye(K) - 1.0 / K
    U, S, _ = np.linalg.svd(E)
    return unit(U[:, :d] * S[:d])


def square_antiprism(h: float | None = None) -> np.ndarray:
    """Square antiprism on S^2; by default the height making all 16 edges equal (the Tammes optimum)."""
    if h is None:
        r2 = 1.0 / (1.0 + math.sqrt(2.0) / 4.0)  # 2 r^2 = r^2 (2 - sqrt 2) + 4 h^2 and r^2 + h^2 = 1
        h = math.sqrt(1.0 - r2)
    r = math.sqrt(1.0 - h * h)
    top = [[r * math.cos(k * math.pi / 2), r * math.sin(k * math.pi / 2), h] for k in range(4)]
    bottom = [[r * math.cos(k * math.pi / 2 + math.pi / 4), r * math.sin(k * math.pi / 2 + math.pi / 4), -h]
              for k in range(4)]
    return np.array(top + bottom)


# ----------------------------------------------------------------------------- contact graph
def test_contact_graph_of_the_icosahedron():
    X = icosahedron() @ random_rotation(3, seed=1).T
    pairs, dmin = contact_graph(X)
    assert pairs.shape == (30, 2) and pairs.dtype == np.int64
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert [tuple(p) for p in pairs] == sorted(tuple(p) for p in pairs)
    assert np.bincount(pairs.ravel(), minlength=12).tolist() == [5] * 12
    assert dmin == pytest.approx(math.sqrt(2 - 2 / math.sqrt(5)), rel=1e-14)


def test_contact_tolerance_is_relative():
    X = unit([[1.0, 0, 0], [0, 1.0, 0], [-1.0, 0.001, 0], [0, 0, 1.0]])
    d01 = math.sqrt(2)
    d12 = np.linalg.norm(X[1] - X[2])
    assert d12 < d01
    assert contact_graph(X, tol=0.0)[0].tolist() == [[1, 2]]
    assert contact_graph(X, tol=(d01 / d12 - 1) * 0.99)[0].tolist() == [[1, 2]]
    assert contact_graph(X, tol=(d01 / d12 - 1) * 1.01)[0].shape[0] == 5  # every pair at sqrt(2) joins
    assert contact_graph(X, tol=0.0)[1] == pytest.approx(min(np.linalg.norm(X[i] - X[j])
                                                             for i in range(4) for j in range(i + 1, 4)))


# ----------------------------------------------------------------------------- KKT at optimal codes
@pytest.mark.parametrize("name,X,m", [
    ("icosahedron", icosahedron(), 30),
    ("octahedron", cross_polytope(3), 12),
    ("square antiprism", square_antiprism(), 16),
    ("simplex d=5", simplex(5), 15),
    ("cross-polytope d=4", cross_polytope(4), 24),
])
def test_optimal_codes_are_balanced(name, X, m):
    X = X @ random_rotation(X.shape[1], seed=2).T
    pairs, _ = contact_graph(X)
    assert pairs.shape[0] == m, name
    assert rattlers(X).size == 0, name
    residual, forces = tammes_kkt_residual(X)
    assert residual < 1e-12, name
    assert forces.shape == (m,) and np.all(forces >= 0) and forces.sum() == pytest.approx(1.0)
    ok, reason = check_tammes_kkt(X)
    assert ok, reason
    assert_tammes_kkt(X)


def test_square_antiprism_is_the_tammes_value():
    assert max_cosine(square_antiprism()) == pytest.approx(math.sqrt(2) / (4 + math.sqrt(2)), abs=1e-15)


def test_forces_balance_each_point():
    X = square_antiprism()
    pairs, _ = contact_graph(X)
    _, lam = tammes_kkt_residual(X)
    net = np.zeros_like(X)
    for (i, j), f in zip(pairs, lam):
        dij = X[i] - X[j]
        net[i] += f * (dij - (dij @ X[i]) * X[i])
        net[j] += f * (-dij - (-dij @ X[j]) * X[j])
    assert np.abs(net).max() < 1e-12


# ----------------------------------------------------------------------------- non-optimal codes
def test_perturbed_icosahedron_is_not_a_kkt_point():
    rng = np.random.default_rng(0)
    X = unit(icosahedron() + 1e-3 * rng.standard_normal((12, 3)))
    residual, _ = tammes_kkt_residual(X)
    assert residual > 0.1
    ok, reason = check_tammes_kkt(X)
    assert not ok and "kkt_tol" in reason
    with pytest.raises(AssertionError, match="KKT residual"):
        assert_tammes_kkt(X)


def test_too_tall_antiprism_has_only_rattlers():
    # squares at h = 1/sqrt(2): only the 8 square edges are contacts, each point can move away from both
    X = square_antiprism(h=1 / math.sqrt(2))
    assert contact_graph(X)[0].shape[0] == 8
    assert rattlers(X).tolist() == list(range(8))
    assert tammes_kkt_residual(X)[0] > 0.1


def test_rattlers_of_an_octahedron_with_a_face_point():
    # a 7th point at a face centre touches the 3 vertices of that face and nothing else is that close:
    # the new point is locked (its 3 contact directions surround it), the 3 vertices can move away
    X = np.vstack([cross_polytope(3), unit([[1.0, 1.0, 1.0]])])
    pairs, _ = contact_graph(X)
    assert sorted(map(tuple, pairs)) == [(0, 6), (1, 6), (2, 6)]
    assert rattlers(X).tolist() == [0, 1, 2, 3, 4, 5]  # 3, 4, 5 have no contact at all
    assert tammes_kkt_residual(X)[0] > 0.1


def test_random_codes_are_not_kkt_points():
    for seed in range(3):
        X = random_code(20, 4, seed)
        assert tammes_kkt_residual(X)[0] > 1e-3
        assert not check_tammes_kkt(X)[0]


def test_antipodal_pair():
    X = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    residual, forces = tammes_kkt_residual(X)
    assert residual == 0.0 and forces.tolist() == [1.0]
    assert rattlers(X).size == 0
    assert check_tammes_kkt(X)[0]


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call", [
    lambda: contact_graph([[1.0, 0.0], [0.5, 0.5]]),  # not unit norm
    lambda: contact_graph([[1.0, 0.0]]),  # one point
    lambda: contact_graph(np.eye(3), tol=-1.0),
    lambda: contact_graph(np.eye(3), tol=float("nan")),
    lambda: rattlers(np.eye(3), hull_tol=-1.0),
    lambda: tammes_kkt_residual([1.0, 0.0]),
    lambda: check_tammes_kkt(np.eye(3), kkt_tol=-1.0),
])
def test_bad_inputs_raise(call):
    with pytest.raises(InvalidParameterError):
        call()


# ----------------------------------------------------------------------------- many contacts: projected gradient
def test_projected_gradient_path_agrees_with_nnls():
    # random codes with a loose contact tolerance: the minimum residual is far from 0; both paths must find it
    rng = np.random.default_rng(1)
    for _ in range(2):
        X = rng.standard_normal((30, 5))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        exact, lam_exact = tammes_kkt_residual(X, tol=0.5)
        approx, lam = tammes_kkt_residual(X, tol=0.5, max_nnls_contacts=1)
        assert lam.shape == lam_exact.shape and np.all(lam >= 0) and lam.sum() == pytest.approx(1.0, abs=1e-12)
        assert exact > 0.1 and approx == pytest.approx(exact, rel=1e-9)


def test_projected_gradient_path_certifies_a_large_simplex():
    # d = 40 simplex: 820 contact pairs, above MAX_NNLS_CONTACTS; every contact carries the same force
    from spherecodes.validation.contacts import MAX_NNLS_CONTACTS

    X = simplex(40)
    assert 41 * 40 // 2 > MAX_NNLS_CONTACTS
    residual, lam = tammes_kkt_residual(X)
    assert residual <= 1e-12
    assert check_tammes_kkt(X)[0]


def test_project_to_simplex_matches_a_qp():
    from spherecodes.validation.contacts import project_to_simplex

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 50):
        v = rng.standard_normal(n) * 3
        p = project_to_simplex(v)
        assert np.all(p >= 0) and p.sum() == pytest.approx(1.0, abs=1e-12)
        # optimality: v - p is constant on the support and no larger off it
        g = v - p
        on = p > 0
        assert np.ptp(g[on]) <= 1e-12 and (not np.any(~on) or g[~on].max() <= g[on].min() + 1e-12)
