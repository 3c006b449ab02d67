from __future__ import annotations

import pytest

from spherecodes.errors import InvalidParameterError
from spherecodes.keys import format_param, make_key, parse_key


def test_key_is_canonical_and_parses_back():
    key = make_key("riesz", {"s": 1.0, "metric": "euclidean", "half_space": False}, 3, 100)
    assert key == "riesz[half_space=false,metric=euclidean,s=1]/d=3/K=100"
    assert parse_key(key) == ("riesz", {"half_space": "false", "metric": "euclidean", "s": "1"}, 3, 100)


@pytest.mark.parametrize("value,text", [(1.0, "1"), (0.1, "0.1"), (-2.5, "-2.5"), (1e-20, "1e-20"), (True, "true")])
def test_float_formatting_round_trips(value, text):
    assert format_param(value) == text
    if not isinstance(value, bool):
        assert float(text) == value


def test_bad_keys_and_values():
    with pytest.raises(InvalidParameterError):
        parse_key("riesz/d=3")
    with pytest.raises(InvalidParameterError):
        format_param(float("nan"))
    with pytest.raises(InvalidParameterError):
        format_param("a/b")
