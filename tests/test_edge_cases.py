"""Numerical edge cases of the solver: degenerate starts, extreme sizes and exponents, float32 vs float64.

Closed forms (Riesz energy over unordered pairs, f_s(r) = r^-s, -log r, -r^|s| for s >0, =0, <0):

* K = 2: the antipodal pair, energy f_s(2), for every s (the largest distance minimises f_s).
* K = d + 1: the regular simplex, every inner product -1/d, energy C(K, 2) f_s(sqrt(2 + 2/d)), for
  s > -2. For s >= 0 it is universally optimal (Cohn and Kumar, JAMS 20 (2007), sharp configurations);
  for -2 < s < 0 it maximises the sum of distance powers (Bjorck, Ark. Mat. 3 (1956)).
* K = 2d: the cross-polytope, every inner product 0 or -1, energy d f_s(2) + 2d(d-1) f_s(sqrt 2), for
  s >= 0 (universally optimal, Cohn and Kumar 2007).
* s = -2, any K: sum_{i<j} |x_i - x_j|^2 = K^2 - |sum_i x_i|^2, so the minimum of the energy is -K^2,
  reached by every configuration with centroid 0 (not unique: no statement about the points).
* half_space with K = d: the orthonormal frame (its 2d points +-e_i form the cross-polytope).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spherecodes.constructions import construct_points
from spherecodes.kernels import riesz_energy
from spherecodes.solvers import solve

S_VALUES = [-2.0, -1.0, 0.0, 0.5, 10.0, 50.0]
ENERGY_RTOL = 1e-12  # the energy is stationary at the optimum: solver position errors enter squared
COSINE_ATOL = 1e-9  # position accuracy of the float64 polish (gradient tolerance 1e-11)


def f(s: float, r: float) -> float:
    if s > 0:
        return r ** (-s)
    if s == 0:
        return -math.log(r)
    return -(r ** (-s))


def simplex_energy(d: int, s: float) -> float:
    K = d + 1
    return K * (K - 1) / 2 * f(s, math.sqrt(2 + 2 / d))


def cross_polytope_energy(d: int, s: float) -> float:
    return d * f(s, 2.0) + 2 * d * (d - 1) * f(s, math.sqrt(2.0))


def _finite(r) -> None:
    assert np.all(np.isfinite(r.points))
    assert np.allclose(np.linalg.norm(r.points, axis=1), 1.0, rtol=0, atol=1e-12)
    assert all(math.isfinite(v) for v in r.scores.values()), r.scores


def _gram_offdiag(P: np.ndarray) -> np.ndarray:
    G = P @ P.T
    return G[~np.eye(len(P), dtype=bool)]


@pytest.mark.parametrize("s", S_VALUES)
def test_two_points_are_antipodal(s):
    r = solve("riesz", 3, 2, s=s, restarts=2, rounds=0, seed=0)
    _finite(r)
    assert r.scores["max_cosine"] == pytest.approx(-1.0, abs=COSINE_ATOL)
    assert r.scores["energy"] == pytest.approx(f(s, 2.0), rel=ENERGY_RTOL, abs=1e-300)


@pytest.mark.parametrize("d", [3, 4])
@pytest.mark.parametrize("s", S_VALUES)
def test_d_plus_one_points(d, s):
    K = d + 1
    r = solve("riesz", d, K, s=s, restarts=2, rounds=1, seed=0)
    _finite(r)
    if s == -2.0:
        assert r.scores["energy"] == pytest.approx(-K * K, rel=ENERGY_RTOL)
        assert np.linalg.norm(r.points.sum(axis=0)) < 1e-6  # centroid 0
    else:
        assert np.allclose(_gram_offdiag(r.points), -1.0 / d, rtol=0, atol=COSINE_ATOL)
        assert r.scores["energy"] == pytest.approx(simplex_energy(d, s), rel=ENERGY_RTOL)


@pytest.mark.parametrize("d", [3, 4])
@pytest.mark.parametrize("s", S_VALUES)
def test_two_d_points(d, s):
    K = 2 * d
    r = solve("riesz", d, K, s=s, restarts=2, rounds=1, seed=0)
    _finite(r)
    if s == -2.0:
        assert r.scores["energy"] == pytest.approx(-K * K, rel=ENERGY_RTOL)
    elif s >= 0:
        G = _gram_offdiag(r.points)
        assert np.all(np.minimum(np.abs(G), np.abs(G + 1.0)) <= COSINE_ATOL)  # inner products 0 or -1
        assert r.scores["energy"] == pytest.approx(cross_polytope_energy(d, s), rel=ENERGY_RTOL)
        assert r.scores["energy"] == pytest.approx(riesz_energy(construct_points("cross_polytope", d, K), s),
                                                   rel=ENERGY_RTOL)
    # s = -1: no closed form claimed; finite is what is checked


@pytest.mark.parametrize("s", [-2.0, 1.0])
def test_three_points_in_4096_dimensions(s):
    r = solve("riesz", 4096, 3, s=s, restarts=2, rounds=0, seed=0)
    _finite(r)
    assert r.points.shape == (3, 4096)
    if s == -2.0:
        assert r.scores["energy"] == pytest.approx(-9.0, rel=ENERGY_RTOL)
    else:
        # K = 3 <= d + 1: an equilateral triangle on a great circle
        assert np.allclose(_gram_offdiag(r.points), -0.5, rtol=0, atol=COSINE_ATOL)
        assert r.scores["energy"] == pytest.approx(3 * f(s, math.sqrt(3.0)), rel=ENERGY_RTOL)


# ------------------------------------------------------------------ degenerate starting points
@pytest.mark.parametrize("s", S_VALUES)
def test_coincident_start_is_separated(s):
    d, K = 3, 4
    init = np.tile([0.0, 0.0, 1.0], (K, 1))
    # restarts=1, rounds=0: the coincident start is the only configuration optimised
    r = solve("riesz", d, K, s=s, restarts=1, rounds=0, seed=0, init=init)
    _finite(r)
    assert r.scores["min_distance"] > 0.5
    if s == -2.0:
        assert r.scores["energy"] == pytest.approx(-K * K, rel=ENERGY_RTOL)
    else:
        assert r.scores["energy"] == pytest.approx(simplex_energy(d, s), rel=ENERGY_RTOL)


def test_partly_coincident_start_keeps_the_distinct_points_meaningful():
    init = construct_points("cross_polytope", 3, 6).copy()
    init[5] = init[0]  # two copies of one vertex, one vertex missing
    r = solve("riesz", 3, 6, s=1.0, restarts=1, rounds=0, seed=0, init=init)
    _finite(r)
    assert r.scores["energy"] == pytest.approx(cross_polytope_energy(3, 1.0), rel=ENERGY_RTOL)


@pytest.mark.parametrize("objective", ["tammes", "mgd", "softmax_code"])
def test_coincident_start_other_objectives(objective):
    init = np.tile([1.0, 0.0, 0.0], (4, 1))
    r = solve(objective, 3, 4, restarts=1, rounds=0, seed=0, init=init)
    _finite(r)
    # four points in R^3: the regular simplex is optimal for these too (max-min angle, logdet, one-vs-rest)
    assert r.scores["max_cosine"] == pytest.approx(-1.0 / 3.0, abs=1e-6)


@pytest.mark.parametrize("metric", ["euclidean", "geodesic"])
@pytest.mark.parametrize("s", S_VALUES)
def test_antipodal_start_stays_optimal(metric, s):
    init = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    r = solve("riesz", 3, 2, s=s, metric=metric, restarts=1, rounds=0, seed=0, init=init)
    _finite(r)
    assert np.array_equal(r.points, init)  # already optimal: not moved
    rho = 2.0 if metric == "euclidean" else math.pi
    assert r.scores["energy"] == pytest.approx(f(s, rho), rel=ENERGY_RTOL, abs=1e-300)


@pytest.mark.parametrize("s", [0.0, 1.0, 10.0])
def test_antipodal_start_of_a_half_space_energy_is_separated(s):
    # x and -x are the same line: the half-space energy is infinite there
    init = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    r = solve("riesz", 3, 3, s=s, half_space=True, restarts=1, rounds=0, seed=0, init=init)
    _finite(r)
    assert np.allclose(_gram_offdiag(r.points), 0.0, rtol=0, atol=COSINE_ATOL)  # an orthonormal frame
    assert r.scores["energy"] == pytest.approx(cross_polytope_energy(3, s), rel=ENERGY_RTOL)


def test_antipodal_pairs_are_kept_when_the_energy_is_finite():
    # +-e1, +-e2, +-e3 is the optimum itself: nothing is moved
    init = construct_points("cross_polytope", 3, 6)
    r = solve("riesz", 3, 6, s=1.0, restarts=1, rounds=0, seed=0, init=init)
    assert r.scores["energy"] == pytest.approx(cross_polytope_energy(3, 1.0), rel=1e-14)


# ------------------------------------------------------------------ float32 vs float64
@pytest.mark.parametrize("d,K,expected", [(3, 4, "simplex"), (4, 8, "cross"), (3, 2, "pair")])
@pytest.mark.parametrize("s", [0.0, 1.0, 10.0])
def test_float32_and_float64_paths_agree_on_closed_forms(d, K, expected, s):
    closed = {"simplex": simplex_energy(d, s), "cross": cross_polytope_energy(d, s), "pair": f(s, 2.0)}[expected]
    results = {dt: solve("riesz", d, K, s=s, restarts=2, rounds=0, seed=1, dtype=dt) for dt in ("float32", "float64")}
    for dt, r in results.items():
        _finite(r)
        assert r.dtype == dt
        assert r.scores["energy"] == pytest.approx(closed, rel=ENERGY_RTOL, abs=1e-300), dt
        # the float64 polish brings the float32 first phase to float64 accuracy
        cos = _gram_offdiag(r.points)
        target = {"simplex": -1.0 / d, "pair": -1.0}.get(expected)
        if target is not None:
            assert np.allclose(cos, target, rtol=0, atol=COSINE_ATOL), dt
        else:
            assert np.all(np.minimum(np.abs(cos), np.abs(cos + 1.0)) <= COSINE_ATOL), dt


def test_bfloat16_is_refused_where_torch_cannot_run_it():
    from spherecodes.errors import InvalidParameterError

    r = solve("riesz", 3, 4, restarts=1, rounds=0, seed=0, dtype="bfloat16")
    assert r.scores["max_cosine"] == pytest.approx(-1.0 / 3.0, abs=COSINE_ATOL)  # polished in float64
    with pytest.raises(InvalidParameterError, match="bfloat16") as info:
        solve("mgd", 3, 4, restarts=1, rounds=0, seed=0, dtype="bfloat16")
    assert info.value.param == "dtype"


@pytest.mark.parametrize("bad,match", [
    (np.full((4, 3), np.nan), "NaN"),
    (np.zeros((4, 3)), "zero row"),
    (np.ones((4, 2)), "shape"),
    ("points", "numeric"),
    (np.empty((0, 4, 3)), "shape"),
])
def test_bad_starting_points_are_refused(bad, match):
    from spherecodes.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=match) as info:
        solve("riesz", 3, 4, restarts=1, rounds=0, seed=0, init=bad)
    assert info.value.param == "init"


def test_huge_and_tiny_starting_rows_are_normalised():
    init = construct_points("simplex", 3, 4) * np.array([[1e300], [1e-300], [5e-324 * 1e10], [1.0]])
    r = solve("riesz", 3, 4, restarts=1, rounds=0, seed=0, init=init)
    _finite(r)
    assert r.scores["energy"] == pytest.approx(simplex_energy(3, 1.0), rel=ENERGY_RTOL)
