"""Catalog keys: the canonical form, requests turned into keys, and the stored keys nearest to a missing one.

The key syntax itself (``objective[params]/d=D/K=N``) is :mod:`spherecodes.keys`; this module adds what
the catalog needs on top: the objective's normalisation of the parameters and suggestions for misses.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from ..keys import make_key, parse_key

__all__ = ["canonical_key", "as_size", "request_key", "nearest_keys", "MAX_SUGGESTIONS"]

#: How many near keys are suggested by default.
MAX_SUGGESTIONS = 5


def _registry():
    """The objectives registry, imported lazily (it pulls in torch)."""
    from .. import objectives

    return objectives


def canonical_key(key: str) -> str:
    """Canonical form of a key: parameters normalised by the objective when it is registered.

    ``riesz[s=1.0]/d=3/K=5`` becomes ``riesz[half_space=false,metric=euclidean,s=1]/d=3/K=5``.
    Keys of objectives that are not registered are only checked for syntax and returned unchanged.
    """
    objective, params, d, K = parse_key(key)
    reg = _registry()
    if objective not in reg.OBJECTIVES:
        return key
    obj = reg.get_objective(objective)
    return make_key(obj.name, obj.normalise_params(**params), d, K)


def as_size(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (integral floats such as 3.0 accepted, bools refused).

    Raises
    ------
    InvalidParameterError
        Naming ``name`` and the value, for anything else.
    """
    try:
        out = int(value)
        ok = out == value and not isinstance(value, (bool, np.bool_))
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        ok = False
    if not ok or out < minimum:
        raise InvalidParameterError(name, value, f"pass an integer >= {minimum}")
    return out


def canonical_request(objective: str, d: Any, K: Any, params: dict[str, Any]) -> tuple[Any, int, int, dict, str]:
    """(objective object, d, K, normalised params, canonical key) for a request; every argument checked.

    Raises
    ------
    InvalidParameterError
        Unknown objective (UnknownNameError, listing the valid ones), invalid parameters, d or K.
    """
    obj = _registry().get_objective(objective)
    d = as_size("d", d, 2)
    K = as_size("K", K, 1)
    norm = obj.normalise_params(**params)
    obj.validate_size(d, K, norm)
    return obj, d, K, norm, make_key(obj.name, norm, d, K)


def request_key(request: Any, d: Any = None, K: Any = None, params: dict[str, Any] | None = None) -> tuple[str, bool]:
    """(key, canonical) for the request forms :meth:`Catalog.get` accepts.

    A key string is returned as given (syntax-checked); an objective name with ``d``, ``K`` and
    ``params``, or a tuple ``(objective, d, K[, params])``, gives the canonical key built from the
    parameters as the objective normalises them.

    Raises
    ------
    InvalidParameterError
        A malformed key, a key given together with d/K/params, a missing d or K, or anything
        :func:`canonical_request` refuses.
    """
    params = dict(params or {})
    if d is not None or K is not None or params:
        if not isinstance(request, str):
            raise InvalidParameterError("objective", request, "pass an objective name such as 'riesz' "
                                        "together with d and K")
        if "/" in request or "[" in request:
            raise InvalidParameterError("key", request, "pass either a full key alone or an objective "
                                        "name with d, K and parameters, not both")
        if d is None or K is None:
            missing = "d" if d is None else "K"
            raise InvalidParameterError(missing, None, f"pass both d and K with the objective name {request!r}")
        objective = request
    elif isinstance(request, str):
        parse_key(request)  # syntax check with a helpful message
        return request, False
    elif isinstance(request, (tuple, list)) and len(request) in (3, 4):
        objective, d, K = request[0], request[1], request[2]
        params = dict(request[3]) if len(request) == 4 and request[3] is not None else {}
    else:
        raise InvalidParameterError("key", request, "pass a key string like 'riesz[s=1]/d=3/K=12', "
                                    "an objective with d and K, or a tuple (objective, d, K, params)")
    return canonical_request(objective, d, K, params)[4], True


def nearest_keys(key: str, stored: Iterable[str], n: int = MAX_SUGGESTIONS, *,
                 same_params: bool = False) -> list[str]:
    """The stored keys nearest to ``key``, nearest first: suggestions for a key that is not stored.

    For a well-formed key (canonicalised first, so ``riesz[s=1]/d=3/K=13`` counts as its full
    form) the distance to a stored key ``o'[p']/d=d'/K=K'`` is

        2 (1 - r(o, o')) + 0.5 * #(parameters that differ) + |log(d'/d)| + |log(K'/K)|,

    where ``r`` is :class:`difflib.SequenceMatcher`'s similarity ratio of the objective names
    (1 for equal names, so a typo such as ``reisz`` still finds ``riesz``); stored keys whose
    objective name has r < 0.6 are not suggested. A malformed string that still names an objective,
    d and K (``riesz/d=3/K=12``) is read as that objective with default parameters; any other string
    gets :func:`difflib.get_close_matches` on the whole strings (cutoff 0.5). ``key`` itself (as
    spelled) is never suggested.

    Parameters
    ----------
    key : str
    stored : iterable of str
        Candidate keys (e.g. :meth:`Catalog.keys`); duplicates are suggested once.
    n : int
        At most this many are returned.
    same_params : bool
        Only keys with the same objective and parameters, those in the same dimension d first (a code
        in another dimension is rarely a substitute): the suggestions of a lookup miss.

    Returns
    -------
    list of str
    """
    stored = sorted({k for k in stored if k != key})
    try:
        canon = canonical_key(key)
    except InvalidParameterError:  # malformed, or a registered objective with invalid parameter values
        canon = key
    try:
        parse_key(canon)
    except InvalidParameterError:
        canon = _salvage_key(key)
        if canon is None:
            return [] if same_params else difflib.get_close_matches(key, stored, n=n, cutoff=0.5)
    return _rank_near(canon, stored, n, same_params)


def _rank_near(key: str, stored: list[str], n: int, same_params: bool) -> list[str]:
    """The ranking of :func:`nearest_keys` for a well-formed key (which may itself be returned)."""
    objective, params, d, K = parse_key(key)
    scored: list[tuple[bool, float, str]] = []
    for k in stored:
        try:
            o2, p2, d2, K2 = parse_key(k)
        except InvalidParameterError:
            continue
        ratio = 1.0 if o2 == objective else difflib.SequenceMatcher(None, objective, o2).ratio()
        n_diff = sum(params.get(name) != p2.get(name) for name in set(params) | set(p2))
        if ratio < 0.6 or (same_params and (ratio < 1.0 or n_diff)):
            continue
        # distance in log-size: K=100 is as near to 50 as to 200
        dist = 2.0 * (1.0 - ratio) + 0.5 * n_diff + abs(math.log(d2 / d)) + abs(math.log(K2 / K))
        scored.append((same_params and d2 != d, dist, k))
    scored.sort()
    return [k for _, _, k in scored[:n]]


def _salvage_key(text: str) -> str | None:
    """A well-formed key with default parameters from a malformed one that still names an objective,
    d and K (``riesz/d=3/K=12``, ``riesz d=3 K=12``); None when it does not."""
    m_obj = re.match(r"\s*([A-Za-z0-9_\-]+)", text)
    m_d = re.search(r"\bd\s*=\s*(\d+)", text)
    m_K = re.search(r"\bK\s*=\s*(\d+)", text)
    if not (m_obj and m_d and m_K) or int(m_d[1]) < 1 or int(m_K[1]) < 1:
        return None
    key = f"{m_obj[1]}[]/d={int(m_d[1])}/K={int(m_K[1])}"
    try:
        return canonical_key(key)
    except InvalidParameterError:
        return key
