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


# ------------------------------------------------------------- where a code came from (issue 15, item 1)

FAST = dict(use_constructions=False, certify=False)


def test_generate_says_where_the_code_came_from(tmp_path, monkeypatch):
    user, shipped = tmp_path / "user.h5", tmp_path / "builtin.h5"
    solved = sc.generate("riesz", 3, 7, seed=1, restarts=2, rounds=0, catalog=user, **FAST)
    assert solved.provenance["source"] == "solved"
    assert solved.provenance["call_time_s"] >= solved.provenance["time_s"] > 0
    hit = sc.generate("riesz", 3, 7, catalog=user, **FAST)
    assert hit.provenance["source"] == "catalog:user"
    # the stored search's time is kept apart from this call's
    assert hit.provenance["time_s"] == solved.provenance["time_s"]
    assert hit.provenance["call_time_s"] != hit.provenance["time_s"]
    Catalog(shipped).put(sc.generate("riesz", 3, 9, seed=2, restarts=2, rounds=0, catalog=False, **FAST))
    monkeypatch.setenv("SPHERECODES_BUILTIN_CATALOG", str(shipped))
    assert sc.generate("riesz", 3, 9, catalog=user, **FAST).provenance["source"] == "catalog:builtin"
    made = sc.generate("riesz", 3, 6, restarts=2, rounds=0, catalog=False, certify=False)
    assert made.provenance["source"] == "construction"  # the octahedron is the proven optimum
    assert set(sc.api.SOURCES) == {"catalog:user", "catalog:builtin", "construction", "solved"}


@pytest.mark.parametrize("option", [dict(restarts=0), dict(restarts=-5), dict(device="cuda:7"), dict(device="tpu"),
                                    dict(seed=-1), dict(time_budget=0), dict(rounds=-1), dict(dtype="int8")])
def test_every_option_is_checked_before_the_catalog_is_read(tmp_path, option):
    """A catalog hit does not hide a bad option (it used to return the stored code, silently)."""
    path = tmp_path / "cat.h5"
    sc.generate("riesz", 3, 7, seed=1, restarts=2, rounds=0, catalog=path, **FAST)
    if option.get("device") == "cuda:7":
        import torch

        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
    with pytest.raises(InvalidParameterError, match=next(iter(option))):
        sc.generate("riesz", 3, 7, catalog=path, **FAST, **option)


def test_a_search_option_on_a_hit_searches_and_keeps_the_better(tmp_path):
    """The rule: a search option given on a catalog hit means "search"; the better code is returned."""
    from _helpers import random_code

    path = tmp_path / "cat.h5"
    riesz = sc.get_objective("riesz")
    params = riesz.normalise_params()
    points = random_code(13, 3, seed=4)  # a poor stored code: a random configuration
    poor = sc.Code(points=points, objective="riesz", params=params, scores=riesz.score(points, params))
    Catalog(path).put(poor)
    served = sc.generate("riesz", 3, 13, catalog=path, **FAST)
    assert served.provenance["source"] == "catalog:user" and np.array_equal(served.points, poor.points)
    searched = sc.generate("riesz", 3, 13, seed=5, restarts=2, rounds=0, catalog=path, **FAST)
    assert searched.provenance["source"] == "solved" and searched.provenance["seed"] == 5
    assert searched.scores["energy"] < poor.scores["energy"]
    # and the better one is now what the catalog serves
    assert np.array_equal(sc.generate("riesz", 3, 13, catalog=path, **FAST).points, searched.points)
    # a search that does not beat the stored code returns the stored one, saying so
    again = sc.generate("riesz", 3, 13, seed=6, restarts=1, rounds=0, catalog=path, **FAST)
    best = min((searched, again), key=lambda c: c.scores["energy"])
    assert again.scores["energy"] <= best.scores["energy"]
    if not np.array_equal(again.points, searched.points):
        assert again.provenance["source"] == "solved"
    else:
        assert again.provenance["source"] == "catalog:user"


def test_a_catalog_certificate_is_a_certificate(tmp_path):
    """README tour: code.certificate.table() works on a catalog hit (it was a plain mapping)."""
    from spherecodes.validation import Certificate

    path = tmp_path / "cat.h5"
    made = sc.generate("riesz", 3, 7, seed=1, restarts=2, rounds=0, catalog=path, use_constructions=False)
    hit = sc.generate("riesz", 3, 7, catalog=path)
    assert isinstance(hit.certificate, Certificate) and isinstance(made.certificate, Certificate)
    assert hit.certificate.to_dict() == made.certificate.to_dict()
    assert sorted(hit.certificate.table().splitlines()[1:]) == sorted(made.certificate.table().splitlines()[1:])
    assert hit.certificate.ok is made.certificate.ok is True


def test_validation_is_reachable_right_after_import_spherecodes():
    import subprocess
    import sys

    code = ("import spherecodes; c = spherecodes.construct('icosahedron', 3, 12); "
            "print(spherecodes.validation.certify(c, lp=False).verdict)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "optimal"


def test_a_search_that_does_not_beat_the_stored_code_returns_it_and_stores_nothing(tmp_path):
    path = tmp_path / "cat.h5"
    optimum = sc.construct("icosahedron", 3, 12)
    Catalog(path).put(optimum)
    before = Catalog(path, "r").info(optimum.key).sha256
    code = sc.generate("riesz", 3, 12, seed=1, restarts=2, rounds=0, catalog=path, **FAST)
    assert code.provenance["source"] == "catalog:user" and np.array_equal(code.points, optimum.points)
    assert Catalog(path, "r").info(optimum.key).sha256 == before

