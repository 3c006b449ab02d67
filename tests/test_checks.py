"""spherecodes.checks: check_* returns (ok, reason), assert_* raises naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from spherecodes.checks import assert_integer, assert_size, check_integer
from spherecodes.errors import InvalidParameterError


@pytest.mark.parametrize("value,minimum,integral_float,ok", [
    (3, None, True, True), (np.int64(3), 2, True, True), (3.0, 2, True, True), (3.0, 2, False, False),
    (1, 2, True, False), (True, None, True, False), (np.bool_(True), None, True, False), (2.5, None, True, False),
    ("3", None, True, False), (None, None, True, False), (float("inf"), None, True, False),
])
def test_check_integer(value, minimum, integral_float, ok):
    got, reason = check_integer(value, minimum, integral_float=integral_float)
    assert got is ok and isinstance(reason, str) and reason


def test_assert_integer_returns_int_or_raises_naming_the_parameter():
    assert assert_integer("K", np.int32(5), 2) == 5 and type(assert_integer("K", 5.0, 2)) is int
    with pytest.raises(InvalidParameterError, match="K.*must be >= 2"):
        assert_integer("K", 1, 2, "K must be >= 2")
    with pytest.raises(InvalidParameterError, match="pass an integer; K must be >= 2"):
        assert_integer("K", "many", 2, "K must be >= 2")
    with pytest.raises(InvalidParameterError, match="pass an integer >= 2"):
        assert_integer("d", 2.0, 2, integral_float=False)
    assert assert_size(3.0, 12) == (3, 12)
    with pytest.raises(InvalidParameterError, match="ambient dimension"):
        assert_size(1, 12)
