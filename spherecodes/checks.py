"""Checks of plain input values, shared by every layer (a leaf module: it imports only the errors).

The rule (as in geoopt): ``check_*`` returns ``(ok, reason)`` and never raises; ``assert_*`` raises
:class:`~spherecodes.errors.InvalidParameterError` naming the parameter, the value and the fix, and
returns the value converted (an ``int``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidParameterError

__all__ = ["check_integer", "assert_integer", "assert_size", "D_FIX", "K_FIX"]

#: the fixes named when d or K is not a valid size
D_FIX = "d is the ambient dimension (points on S^{d-1} in R^d) and must be >= 2"
K_FIX = "K is the number of points and must be >= 2"


def check_integer(value: Any, minimum: int | None = None, *, integral_float: bool = True) -> tuple[bool, str]:
    """Is ``value`` an integer (>= ``minimum`` when given)?

    Booleans are refused; with ``integral_float`` a float with an integral value (3.0) counts as an
    integer, otherwise only ``int`` and numpy integers do.

    Returns
    -------
    (ok, reason)
    """
    if isinstance(value, (bool, np.bool_)):
        return False, f"{value!r} is a boolean, not an integer"
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif integral_float and isinstance(value, (float, np.floating)) and float(value).is_integer():
        number = int(value)
    else:
        return False, f"{value!r} is not an integer"
    if minimum is not None and number < minimum:
        return False, f"{number} is below {minimum}"
    return True, f"{number} is an integer" + (f" >= {minimum}" if minimum is not None else "")


def assert_integer(name: str, value: Any, minimum: int | None = None, fix: str = "", *,
                   integral_float: bool = True) -> int:
    """``value`` as an ``int``, or :class:`InvalidParameterError` naming ``name``.

    ``fix`` is the advice shown when the value is an integer below ``minimum`` (default "pass an
    integer >= minimum"); a value that is not an integer gets "pass an integer; " + fix.
    """
    ok, _ = check_integer(value, None, integral_float=integral_float)
    default = f"pass an integer >= {minimum}" if minimum is not None else "pass an integer"
    if not ok:
        raise InvalidParameterError(name, value, f"pass an integer; {fix}" if fix else default)
    number = int(value)
    if minimum is not None and number < minimum:
        raise InvalidParameterError(name, value, fix or default)
    return number


def assert_size(d: Any, K: Any) -> tuple[int, int]:
    """(d, K) as ints: the ambient dimension d >= 2 and the number of points K >= 2."""
    return assert_integer("d", d, 2, D_FIX), assert_integer("K", K, 2, K_FIX)
