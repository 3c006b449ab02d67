"""Certificate.from_dict (a stored certificate read back) and what Certificate.table() says about loose bounds,
rattlers and a failed stationarity check."""

from __future__ import annotations

import json

import numpy as np
from _helpers import random_code

import spherecodes as sc
from spherecodes.validation import Certificate, certify


def test_from_dict_reads_back_what_to_dict_wrote_through_json():
    cert = certify(sc.construct("icosahedron", 3, 12), lp=False)
    back = Certificate.from_dict(json.loads(cert.to_json()))
    assert back.to_dict() == cert.to_dict()
    assert back.ok is cert.ok and back.verdict == cert.verdict == "optimal"
    assert back.comparison("known_optimum").reference == cert.comparison("known_optimum").reference
    assert back.table() == cert.table()


def test_from_dict_turns_non_finite_strings_back_into_floats_and_ignores_unknown_keys():
    data = certify(sc.construct("icosahedron", 3, 12), lp=False).to_dict()
    data["comparisons"][0]["gap"] = "inf"
    data["stationarity"] = "nan"
    data["added_by_a_later_version"] = 1
    back = Certificate.from_dict(data)
    assert back.comparisons[0].gap == float("inf") and np.isnan(back.stationarity)


def test_a_gap_to_the_trivial_hadamard_bound_is_said_to_be_no_shortfall():
    code = sc.generate("mgd", 3, 8, seed=0, restarts=2, rounds=0, catalog=False, certify=False)
    cert = certify(code, lp=False)
    assert cert.verdict.startswith("gap=")
    assert "trivial bound" in cert.verdict_note() and "not a shortfall" in cert.verdict_note()
    assert "not a shortfall" in cert.table()


def test_a_tight_gap_has_no_such_note():
    rough = sc.Code(points=random_code(12, 3, seed=1), objective="riesz")
    assert certify(rough, lp=False).verdict_note() is None


def test_rattlers_are_listed_for_tammes_codes_only():
    points = random_code(30, 3, seed=2)
    as_tammes, as_softmax = certify(points, "tammes", lp=False), certify(points, "softmax_code", lp=False)
    assert as_tammes.rattlers and "rattlers" in as_tammes.table()
    assert "rattlers" not in as_softmax.table()


def test_a_failed_stationarity_check_says_what_it_means():
    table = certify(sc.Code(points=random_code(12, 3, seed=1), objective="riesz"), lp=False).table()
    line = next(row for row in table.splitlines() if "check stationary" in row)
    assert "FAILED" in line and "not a local optimum yet" in line and "time budget" in line
