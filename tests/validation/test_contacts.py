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


# --- sparse contact graph, rattlers and KKT residual against dense references -------------------------

from spherecodes.constructions import construct_points  # noqa: E402
from spherecodes.validation.contacts import (  # noqa: E402
    _ContactOperator,
    _hull_distance_linf,
    kkt_memory_bytes,
    kkt_residual_from_contacts,
    rattlers_from_contacts,
)


def dense_contact_graph(X, tol=1e-6):
    """The all-pairs reference: every chord from its difference vector."""
    iu, ju = np.triu_indices(len(X), 1)
    diff = X[iu] - X[ju]
    dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    dmin = float(dist.min())
    keep = dist <= dmin * (1 + tol)
    return np.column_stack([iu[keep], ju[keep]]), dmin


def lp_rattlers(X, pairs, hull_tol=1e-9):
    """The LP-only reference: every point with contacts decided by the L-infinity LP."""
    out = []
    for k in range(len(X)):
        nb = np.concatenate([pairs[pairs[:, 0] == k, 1], pairs[pairs[:, 1] == k, 0]])
        if nb.size == 0:
            out.append(k)
            continue
        diff = X[k] - X[nb]
        dirs = diff - (diff @ X[k])[:, None] * X[k]
        norms = np.linalg.norm(dirs, axis=1)
        if np.any(norms <= 1e-12):
            continue
        if _hull_distance_linf(dirs / norms[:, None]) > hull_tol:
            out.append(k)
    return out


STRUCTURED = [icosahedron(), construct_points("cross_polytope", 5, 10), construct_points("simplex", 6, 7),
              construct_points("orthoplex", 6, 9), construct_points("600-cell", 4, 120)]


@pytest.mark.parametrize("X", STRUCTURED + [random_code(300, 4, seed=1), random_code(50, 3, seed=2)],
                         ids=["icosahedron", "cross_polytope", "simplex", "orthoplex", "600-cell", "random4",
                              "random3"])
def test_sparse_contact_graph_equals_the_dense_one(X):
    X = X @ random_rotation(X.shape[1], seed=len(X)).T
    pairs, dmin = contact_graph(X)
    ref_pairs, ref_dmin = dense_contact_graph(X)
    np.testing.assert_array_equal(pairs, ref_pairs)
    assert abs(dmin - ref_dmin) <= 4 * np.finfo(float).eps * ref_dmin
    again, _ = contact_graph(X, min_distance=dmin)
    np.testing.assert_array_equal(again, pairs)


@pytest.mark.parametrize("seed", range(4))
def test_rattlers_from_contacts_equal_the_lp_decision(seed):
    # random codes in S^2 and S^3 after a few separation steps have both rattlers and held points
    X = random_code(40, 3 + seed % 2, seed=seed)
    pairs, _ = contact_graph(X, 0.3)  # a loose tolerance: points with several contacts
    assert rattlers_from_contacts(X, pairs).tolist() == lp_rattlers(X, pairs)


def test_rattlers_of_structured_codes_match_the_lp():
    for X in STRUCTURED:
        pairs, _ = contact_graph(X)
        assert rattlers_from_contacts(X, pairs).tolist() == lp_rattlers(X, pairs) == []


def dense_A(X, pairs):
    K, d = X.shape
    A = np.zeros((K * d, len(pairs)))
    for p, (i, j) in enumerate(pairs):
        for a, b in ((i, j), (j, i)):
            diff = X[a] - X[b]
            A[a * d:(a + 1) * d, p] += diff - (diff @ X[a]) * X[a]
    return A


def test_matrix_free_operator_equals_the_dense_matrix():
    X = random_code(30, 5, seed=4)
    pairs, _ = contact_graph(X, 2.0)
    op = _ContactOperator(X, pairs[:, 0].copy(), pairs[:, 1].copy())
    A = dense_A(X, pairs)
    rng = np.random.default_rng(0)
    lam, r = rng.random(len(pairs)), rng.normal(size=X.size)
    np.testing.assert_allclose(op.dot(lam), A @ lam, rtol=0, atol=1e-13)
    np.testing.assert_allclose(op.tdot(r), A.T @ r, rtol=0, atol=1e-13)


@pytest.mark.parametrize("X", [icosahedron(), construct_points("simplex", 4, 5)], ids=["icosahedron", "simplex"])
def test_matrix_free_path_proves_balanced_codes_stationary(X):
    pairs, _ = contact_graph(X)
    nnls_res, _ = kkt_residual_from_contacts(X, pairs)
    pg_res, forces = kkt_residual_from_contacts(X, pairs, max_nnls_contacts=0)
    assert nnls_res < 1e-13 and pg_res < 1e-12
    assert forces.shape == (len(pairs),) and math.isclose(forces.sum(), 1.0)


def test_nnls_on_touched_rows_equals_the_full_matrix():
    # a random code with a loose tolerance: contacts among some of the points only
    X = random_code(25, 3, seed=7)
    pairs, _ = contact_graph(X, 0.2)
    assert np.unique(pairs).size < len(X)
    res, lam = kkt_residual_from_contacts(X, pairs)
    A = dense_A(X, pairs)
    assert abs(res - np.linalg.norm(A @ lam)) <= 1e-14
    # the minimum over the simplex: no vertex of the simplex (one contact alone) is better
    assert res <= np.min(np.linalg.norm(A, axis=0)) + 1e-14


@pytest.mark.parametrize("path", ["nnls", "matrix_free"])
def test_kkt_memory_estimate_covers_the_measured_peak(path):
    import tracemalloc

    X = random_code(400, 6, seed=5) if path == "matrix_free" else random_code(100, 3, seed=5)
    pairs, _ = contact_graph(X, 2.0 if path == "matrix_free" else 10.0)
    assert len(pairs) > 50
    cap = 0 if path == "matrix_free" else 10**6
    kkt_residual_from_contacts(X[:10], contact_graph(X[:10])[0], max_nnls_contacts=cap)  # compile
    tracemalloc.start()
    kkt_residual_from_contacts(X, pairs, max_nnls_contacts=cap)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est = kkt_memory_bytes(*X.shape, len(pairs), np.unique(pairs).size, max_nnls_contacts=cap)
    assert peak <= est <= 10 * peak, (peak, est)
