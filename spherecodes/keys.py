"""Canonical catalog keys: the one function that turns a request into a string.

A key looks like ``riesz[half_space=false,metric=euclidean,s=1]/d=3/K=100``:
objective name, its parameters in sorted order (after the objective filled in
defaults and normalised values), the ambient dimension d and the number of points K.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .errors import InvalidParameterError

__all__ = ["make_key", "parse_key", "format_param"]


def format_param(value: Any) -> str:
    """Shortest exact text for a parameter value: floats via ``%.17g`` (1.0 -> ``1``), bools lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidParameterError("param", value, "catalog keys need finite parameter values")
        text = f"{value:.17g}"
        # prefer the shortest representation that round-trips exactly
        for digits in range(1, 18):
            short = f"{value:.{digits}g}"
            if float(short) == value:
                text = short
                break
        return text
    text = str(value)
    if re.search(r"[\[\]/,=\s]", text):
        raise InvalidParameterError("param", value,
                                    "parameter values in keys cannot contain '[', ']', '/', ',', '=' or spaces")
    return text


def make_key(objective: str, params: Mapping[str, Any], d: int, K: int) -> str:
    """Build the canonical key of (objective, params, d, K).

    Parameters are sorted by name; callers should pass parameters already normalised by
    the objective (``Objective.normalise_params``) so that equal requests give equal keys.
    """
    inner = ",".join(f"{name}={format_param(params[name])}" for name in sorted(params))
    return f"{objective}[{inner}]/d={int(d)}/K={int(K)}"


_KEY_RE = re.compile(r"^(?P<obj>[A-Za-z0-9_\-]+)\[(?P<params>[^\]]*)\]/d=(?P<d>\d+)/K=(?P<K>\d+)$")


def parse_key(key: str) -> tuple[str, dict[str, str], int, int]:
    """Split a key into (objective, params as strings, d, K); the inverse of :func:`make_key`."""
    match = _KEY_RE.match(key)
    if not match:
        raise InvalidParameterError("key", key, "keys look like 'riesz[metric=euclidean,s=1]/d=3/K=100'")
    params: dict[str, str] = {}
    if match["params"]:
        for item in match["params"].split(","):
            name, _, value = item.partition("=")
            params[name] = value
    return match["obj"], params, int(match["d"]), int(match["K"])
