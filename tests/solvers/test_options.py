"""SearchOptions: one object for the search settings of solve, generate and solve_distributed."""

from __future__ import annotations

import numpy as np
import pytest

from spherecodes.errors import InvalidParameterError
from spherecodes.solvers import SearchOptions, solve
from spherecodes.solvers.options import DEFAULTS


def test_build_overrides_only_given_keywords():
    base = SearchOptions(restarts=3, seed=7, rounds=2)
    assert SearchOptions.build(base) is base
    assert SearchOptions.build(base, seed=None, resume=False) is base  # "not given" keeps the field
    out = SearchOptions.build(base, seed=9, time_budget=1.5)
    assert (out.restarts, out.seed, out.rounds, out.time_budget) == (3, 9, 2, 1.5)
    assert SearchOptions.build(None, restarts=2) == SearchOptions(restarts=2)
    with pytest.raises(InvalidParameterError, match="search options are"):
        SearchOptions.build(None, restrats=2)
    with pytest.raises(InvalidParameterError, match="SearchOptions"):
        SearchOptions.build({"restarts": 2})


def test_checked_fills_defaults_and_names_the_bad_option():
    c = SearchOptions().checked()
    assert (c.restarts, c.rounds, c.patience, c.max_iter) == tuple(DEFAULTS[k] for k in
                                                                   ("restarts", "rounds", "patience", "max_iter"))
    assert SearchOptions(restarts=4.0).checked().restarts == 4  # integral floats are integers
    for field, value in (("restarts", 0), ("rounds", -1), ("patience", 0), ("max_iter", 1.5), ("time_budget", 0),
                         ("time_budget", True), ("progress", 3), ("resume", "yes"), ("tile", 0)):
        with pytest.raises(InvalidParameterError, match=field):
            SearchOptions(**{field: value}).checked()


def test_solve_with_options_equals_solve_with_keywords():
    kw = dict(restarts=2, seed=3, rounds=1, patience=1)
    a = solve("riesz", 3, 7, **kw)
    b = solve("riesz", 3, 7, options=SearchOptions(**kw))
    c = solve("riesz", 3, 7, options=SearchOptions(restarts=2, seed=99, rounds=1, patience=1), seed=3)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.points, c.points)
    assert a.seed == b.seed == c.seed == 3
