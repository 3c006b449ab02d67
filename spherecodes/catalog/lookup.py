"""`lookup`: the catalog-first way to get a code.

Order of search: the user's catalog (or the one passed in), then the built-in catalog shipped
with the package (skipped when absent). A miss raises :class:`LookupMiss`, whose message lists
the nearest stored sizes for the same objective and parameters and the exact command that
makes the missing code; ``compute=True`` makes it instead (``spherecodes.generate``) and stores
it in the user's catalog.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from ..code import Code
from ..errors import CatalogError, InvalidParameterError, SpherecodesError
from ..keys import format_param, make_key, parse_key
from .locations import builtin_catalog_path, user_catalog_path
from .store import Catalog

__all__ = ["lookup", "LookupMiss", "default_catalogs", "generate_command"]

logger = logging.getLogger(__name__)

#: How many nearby keys a miss message lists.
MAX_NEARBY = 5


class LookupMiss(SpherecodesError, KeyError):
    """No catalog holds the requested code.

    Attributes
    ----------
    key : str
        The canonical key that was looked up.
    nearby : list of str
        Stored keys with the same objective and parameters, nearest (d, K) first.
    command : str
        The ``spherecodes generate ...`` command line that makes the code.
    searched : list of str
        The catalogs that were consulted.
    """

    def __init__(self, key: str, message: str, nearby: list[str], command: str, searched: list[str]):
        self.key = key
        self.nearby = list(nearby)
        self.command = command
        self.searched = list(searched)
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return self.args[0]


def _registry():
    from .. import objectives

    return objectives


def _as_size(name: str, value: Any, minimum: int) -> int:
    try:
        out = int(value)
        ok = out == value and not isinstance(value, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok or out < minimum:
        raise InvalidParameterError(name, value, f"pass an integer >= {minimum}")
    return out


def default_catalogs(catalog: "Catalog | str | os.PathLike[str] | None" = None) -> list[Catalog]:
    """The catalogs :func:`lookup` reads, in order, that exist: the given one (default: the user's),
    then the built-in one."""
    out: list[Catalog] = []
    first = catalog if catalog is not None else user_catalog_path()
    if isinstance(first, Catalog):
        out.append(first)
    elif Path(first).expanduser().exists():
        out.append(Catalog(first, "r"))
    builtin = builtin_catalog_path()
    if builtin.is_file() and all(c.path != builtin.resolve() for c in out):
        try:
            out.append(Catalog(builtin, "r"))
        except CatalogError as exc:  # a broken package file must not stop lookups in the user catalog
            logger.warning("skipping the built-in catalog: %s", exc)
    return out


def generate_command(objective: str, d: int, K: int, params: dict[str, Any]) -> str:
    """The ``spherecodes generate`` command line for a request (parameters that differ from the defaults)."""
    obj = _registry().get_objective(objective)
    defaults = obj.normalise_params()
    parts = [f"spherecodes generate {objective} -d {d} -K {K}"]
    for name in sorted(params):
        if params[name] != defaults.get(name):
            parts.append(f"--param {name}={format_param(params[name])}")
    return " ".join(parts)


def _nearby(catalogs: list[Catalog], key: str, d: int, K: int) -> tuple[list[str], list[str]]:
    """(stored keys with the same objective[params], nearest (d, K) first; other param sets of the objective)."""
    prefix = key.split("/")[0]
    objective = prefix.split("[")[0]
    same: dict[str, float] = {}
    others: dict[str, int] = {}
    for cat in catalogs:
        try:
            keys = cat.keys()
        except CatalogError as exc:
            logger.warning("%s", exc)
            continue
        for k in keys:
            head = k.split("/")[0]
            if head == prefix:
                try:
                    _, _, kd, kK = parse_key(k)
                except InvalidParameterError:
                    continue
                # distance in log-size: K=100 is as near to 50 as to 200
                same[k] = abs(math.log(kd / d)) + abs(math.log(kK / K))
            elif head.split("[")[0] == objective:
                others[head] = others.get(head, 0) + 1
    nearest = sorted(same, key=lambda k: (same[k], k))[:MAX_NEARBY]
    other_heads = [f"{h} ({n} codes)" for h, n in sorted(others.items(), key=lambda t: -t[1])[:3]]
    return nearest, other_heads


def lookup(objective: str, d: int, K: int, *, catalog: "Catalog | str | os.PathLike[str] | None" = None,
           compute: bool = False, **params: Any) -> Code:
    """The stored code for (objective, params, d, K); optionally compute and store it on a miss.

    Parameters
    ----------
    objective : str
        Registered objective name (``"riesz"``, ...).
    d : int
        Ambient dimension (points on S^{d-1} in R^d), >= 2.
    K : int
        Number of points, >= 1.
    catalog : Catalog or path, optional
        Catalog searched first (and written by ``compute``) instead of the user's catalog
        (``$SPHERECODES_CATALOG`` or the platform data directory). The built-in catalog is
        always searched after it.
    compute : bool
        On a miss, call ``spherecodes.generate(objective, d, K, **params)``, store the result in
        the (user) catalog and return the stored code.
    **params
        Objective parameters (e.g. ``s=1.0``); normalised by the objective, defaults filled in.

    Returns
    -------
    Code

    Raises
    ------
    LookupMiss
        Not stored and ``compute`` is False; the message lists nearby stored keys and the command
        that makes the code.
    InvalidParameterError
        Unknown objective or parameter, or invalid d, K.
    """
    obj = _registry().get_objective(objective)
    d = _as_size("d", d, 2)
    K = _as_size("K", K, 1)
    norm = obj.normalise_params(**params)
    obj.validate_size(d, K, norm)
    key = make_key(obj.name, norm, d, K)
    catalogs = default_catalogs(catalog)
    for cat in catalogs:
        code = cat.get(key)
        if code is not None:
            logger.debug("lookup %s: hit in %s", key, cat.path)
            return code
    if compute:
        return _compute_and_store(obj.name, d, K, norm, key, catalog)
    raise _miss(obj.name, d, K, norm, key, catalog, catalogs)


def _compute_and_store(objective: str, d: int, K: int, params: dict[str, Any], key: str,
                       catalog: "Catalog | str | os.PathLike[str] | None") -> Code:
    from ..api import generate  # lazy: the solvers import torch

    # computed without touching any catalog, then stored here once
    code = generate(objective, d, K, catalog=False, **params)
    target = catalog if isinstance(catalog, Catalog) else Catalog(catalog or user_catalog_path(), "a")
    result = target.put(code)
    logger.info("lookup %s: computed and %s in %s", key, result.action, target.path)
    stored = target.get(result.key)
    return stored if stored is not None else code


def _miss(objective: str, d: int, K: int, params: dict[str, Any], key: str,
          catalog: Any, catalogs: list[Catalog]) -> LookupMiss:
    if isinstance(catalog, Catalog):
        first = catalog.path
    else:
        first = Path(catalog or user_catalog_path()).expanduser().resolve()
    searched = [f"{'catalog' if catalog is not None else 'user catalog'} {first}"
                + ("" if any(c.path == Path(first).resolve() for c in catalogs) else " (no file)")]
    builtin = builtin_catalog_path()
    searched.append("built-in catalog" + ("" if builtin.is_file() else " (not installed)"))
    nearby, others = _nearby(catalogs, key, d, K)
    command = generate_command(objective, d, K, params)
    text = f"no code for {key} in {' or '.join(searched)}"
    if nearby:
        text += f"; nearest stored: {', '.join(nearby)}"
    else:
        text += f"; no codes stored for {key.split('/')[0]}"
        if others:
            text += f" (stored parameter sets: {', '.join(others)})"
    lookup_cmd = f"spherecodes lookup {command[len('spherecodes generate '):]} --compute"
    text += f"; make it with: {command} (or: {lookup_cmd})"
    return LookupMiss(key, text, nearby, command, searched)
