"""generate / construct: the public entry points, catalog round trips, certificates."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import random_rotation

import spherecodes as sc
from spherecodes.catalog import Catalog
from spherecodes.errors import InvalidParameterError, UnknownNameError


def test_generate_returns_a_scored_certified_code():
    code = sc.generate("riesz", d=3, K=10, s=1.0, seed=0, catalog=False)
    assert code.points.shape == (10, 3) and code.objective == "riesz"
    assert {"energy", "min_angle_deg", "max_cosine"} <= set(code.scores)
    assert code.provenance["seed"] == 0 and code.provenance["restarts"] >= 1
    assert code.certificate.verdict == "matches_best_known"
    assert code.scores["energy"] == pytest.approx(32.716949460, abs=5e-9)


@pytest.mark.parametrize("d,K,name", [(5, 4, "simplex"), (6, 7, "simplex"), (4, 8, "cross_polytope"),
                                      (2, 9, "polygon"), (8, 240, "e8")])
def test_exact_optima_come_back_exactly(d, K, name):
    code = sc.generate("riesz", d=d, K=K, seed=0, restarts=2, rounds=0, catalog=False)
    assert code.provenance["construction"] == name
    if name == "simplex":
        assert code.scores["max_cosine"] == pytest.approx(-1.0 / (K - 1), abs=1e-12)
    if name == "cross_polytope":
        assert code.scores["max_cosine"] == 0.0
    assert code.certificate.verdict == "optimal"


def test_generate_stores_and_then_serves_from_the_catalog(tmp_path):
    path = tmp_path / "cat.h5"
    first = sc.generate("riesz", d=3, K=8, seed=1, catalog=path)
    again = sc.generate("riesz", d=3, K=8, seed=99, catalog=path)
    assert np.array_equal(first.points, again.points)  # served, not recomputed
    assert Catalog(path, "r").get(first.key) is not None
    forced = sc.generate("riesz", d=3, K=8, seed=2, catalog=path, force=True)
    # the better (or the stored, on a tie) is kept and returned
    assert forced.scores["energy"] <= first.scores["energy"] + 1e-12


def test_lookup_after_generate_is_bit_exact(tmp_path):
    path = tmp_path / "cat.h5"
    code = sc.generate("riesz", d=4, K=9, seed=3, catalog=path)
    back = sc.lookup("riesz", d=4, K=9, catalog=path)
    assert np.array_equal(back.points, code.points)
    assert back.scores["energy"] == code.scores["energy"]


def test_construct_and_rotation_invariance_of_scores():
    code = sc.construct("icosahedron", 3, 12)
    Q = random_rotation(3, seed=1)
    rotated = sc.Code(points=code.points @ Q.T, objective="riesz", params=dict(code.params))
    scores = sc.get_objective("riesz").score(rotated.points, code.params)
    for key, value in code.scores.items():
        assert scores[key] == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_bad_requests():
    with pytest.raises(UnknownNameError):
        sc.generate("nope", 3, 5)
    with pytest.raises(InvalidParameterError, match="K"):
        sc.generate("riesz", 3, 1)
    with pytest.raises(UnknownNameError):
        sc.construct("dodecahedron", 3, 20)
    with pytest.raises(InvalidParameterError):
        sc.construct("icosahedron", 4, 12)
