"""`lookup`: the catalog-first way to get a code.

Order of search: the user's catalog (or the one passed in), then the built-in catalog shipped
with the package (skipped when absent); when both hold the key, the better code is returned (ties: the
first). A miss raises :class:`LookupMiss`, whose message lists
the nearest stored sizes for the same objective and parameters and the exact command that
makes the missing code; ``compute=True`` makes it instead and stores it in the user's catalog.

The catalog is storage only and never imports the solvers: computing on a miss goes through a hook
that the layer above installs (:func:`set_compute_hook`; importing :mod:`spherecodes.api` installs
``spherecodes.generate``). ``spherecodes.lookup`` (:func:`spherecodes.catalog_compute.lookup`) is the
same function with the hook always in place.

An entry whose points fail their SHA-256 check (or cannot be read) is reported with a log
warning and skipped: the search goes on to the next catalog, and a miss message names it.
A catalog that cannot be written (read-only file, directory or file system) is still read;
:func:`store_code` then logs a warning and returns the computed code unstored.

:func:`find_stored` and :func:`store_code` are the two steps ``spherecodes.generate`` takes
around its computation (search, then keep-the-better store).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..code import Code
from ..errors import CatalogError, InvalidParameterError, SpherecodesError
from ..keys import format_param
from .keys import _registry, canonical_request, nearest_keys
from .locations import builtin_catalog_path, user_catalog_path
from .store import Catalog

__all__ = ["lookup", "LookupMiss", "default_catalogs", "find_stored", "store_code", "generate_command",
           "set_compute_hook", "ComputeHook"]

logger = logging.getLogger(__name__)

#: Two catalogs' codes for one key whose primary scores agree to this relative margin are a tie (the first
#: catalog's code is returned): rounding differences between equivalent codes do not pick the catalog.
CATALOG_TIE_RTOL = 1e-12

#: How many nearby keys a miss message lists.
MAX_NEARBY = 5

#: ``compute(objective, d, K, params) -> Code``: makes a code without touching any catalog.
ComputeHook = Callable[[str, int, int, dict[str, Any]], Code]
_compute_hook: ComputeHook | None = None


def set_compute_hook(compute: ComputeHook | None) -> ComputeHook | None:
    """Install how :func:`lookup` computes a code on a miss with ``compute=True``; returns the previous hook.

    The layer above the catalog installs it (:mod:`spherecodes.api` does on import, with
    ``spherecodes.generate(..., catalog=False)``), so that the catalog stays storage only.

    Parameters
    ----------
    compute : callable or None
        ``compute(objective, d, K, params) -> Code`` for a normalised request; it must not read or write
        a catalog (:func:`lookup` stores the result). None removes the hook.
    """
    global _compute_hook
    if compute is not None and not callable(compute):
        raise InvalidParameterError("compute", compute, "pass a function compute(objective, d, K, params) -> Code")
    previous, _compute_hook = _compute_hook, compute
    return previous


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
    damaged : list of str
        Paths of the catalogs whose entry for the key exists but failed its checksum or could not
        be read (it was skipped).
    """

    def __init__(self, key: str, message: str, nearby: list[str], command: str, searched: list[str],
                 damaged: list[str] | None = None):
        self.key = key
        self.nearby = list(nearby)
        self.command = command
        self.searched = list(searched)
        self.damaged = list(damaged or [])
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return self.args[0]


def check_catalog_argument(catalog: Any) -> None:
    """Raise :class:`InvalidParameterError` unless ``catalog`` is a Catalog, a path or None."""
    if catalog is not None and (isinstance(catalog, bool) or not isinstance(catalog, (Catalog, str, os.PathLike))):
        raise InvalidParameterError("catalog", catalog, "pass a Catalog, a path to an HDF5 file, or None")


def _iter_catalogs(catalog: "Catalog | str | os.PathLike[str] | None") -> Iterator[Catalog]:
    """Open the catalogs of :func:`default_catalogs` one at a time (a hit in the first never opens the next)."""
    first = catalog if catalog is not None else user_catalog_path()
    check_catalog_argument(first)
    first_path = None
    if isinstance(first, Catalog):
        first_path = first.path
        yield first
    elif Path(first).expanduser().exists():
        opened = Catalog(first, "r")
        first_path = opened.path
        yield opened
    builtin = builtin_catalog_path()
    if builtin.is_file() and builtin.resolve() != first_path:
        try:
            opened = Catalog(builtin, "r")
        except CatalogError as exc:  # a broken package file must not stop lookups in the user catalog
            logger.warning("skipping the built-in catalog: %s", exc)
            return
        yield opened


def default_catalogs(catalog: "Catalog | str | os.PathLike[str] | None" = None) -> list[Catalog]:
    """The catalogs :func:`lookup` reads, in order, that exist: the given one (default: the user's),
    then the built-in one.

    Raises
    ------
    CatalogError
        The given (or user) catalog exists but is not a catalog, or has a newer format version.
        A broken built-in catalog is skipped with a warning instead.
    """
    return list(_iter_catalogs(catalog))


def _search(key: str, catalog: Any) -> tuple[Code | None, list[Catalog], list[str]]:
    """(best readable stored code or None, catalogs opened, damaged-entry notes).

    Every catalog is read: a code the user stored earlier (say from a search cut short by a time budget) must not
    hide a better one shipped in the built-in catalog. Ties keep the earlier catalog's code.
    """
    opened: list[Catalog] = []
    damaged: list[str] = []
    best: Code | None = None
    for cat in _iter_catalogs(catalog):
        opened.append(cat)
        try:
            code = cat.get(key)
        except CatalogError as exc:  # failed checksum / unreadable entry: report, skip, keep searching
            logger.warning("skipping a damaged entry: %s", exc)
            damaged.append(f"{cat.path}")
            continue
        if code is None:
            continue
        logger.debug("%s: hit in %s", key, cat.path)
        if best is None or _registry().get_objective(code.objective).better(code.scores, best.scores,
                                                                            rtol=CATALOG_TIE_RTOL):
            best = code
    return best, opened, damaged


def find_stored(key: str, catalog: "Catalog | str | os.PathLike[str] | None" = None) -> Code | None:
    """The best readable stored code for a canonical ``key`` in :func:`default_catalogs`, or None.

    Entries that fail their SHA-256 check or cannot be read are logged (warning) and skipped, so a
    damaged entry in the user catalog falls through to the built-in catalog (or to a recomputation).

    Parameters
    ----------
    key : str
        A key (normalised by the objective when it is not canonical).
    catalog : Catalog or path, optional
        Searched first instead of the user catalog; the built-in catalog is searched after it.

    Raises
    ------
    CatalogError
        The given (or user) catalog is not a catalog or is of a newer format version.
    """
    return _search(key, catalog)[0]


def store_code(code: Code, catalog: "Catalog | str | os.PathLike[str] | None" = None) -> Code:
    """Put ``code`` into a catalog (default: the user's) and return the better of stored and new.

    Keep-the-better is :meth:`Catalog.put`'s rule. When the catalog cannot be written (read-only
    file, directory or file system, a lock held too long, a file that is not a catalog) the
    failure is logged as a warning and ``code`` is returned unstored: a computed code is never
    lost because it could not be saved.

    Parameters
    ----------
    code : Code
    catalog : Catalog or path, optional

    Returns
    -------
    Code
        The stored code when the catalog kept a code at least as good, otherwise ``code``.
    """
    check_catalog_argument(catalog)
    path = catalog.path if isinstance(catalog, Catalog) else (catalog or user_catalog_path())
    try:
        target = catalog if isinstance(catalog, Catalog) else Catalog(path, "a")
        result = target.put(code)
    except CatalogError as exc:
        logger.warning("%s not stored in %s: %s", code.key, path, exc)
        return code
    logger.info("%s: %s in %s", result.key, result.action, target.path)
    if result.action == "kept":
        try:
            stored = target.get(result.key)
        except CatalogError as exc:  # damaged between the put and this read: the new code is fine
            logger.warning("%s", exc)
            stored = None
        if stored is not None:
            return stored
    return code


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
    """(stored keys with the same objective[params], same d first then nearest (d, K); other param sets)."""
    prefix = key.split("/")[0]
    objective = prefix.split("[")[0]
    stored: list[str] = []
    others: dict[str, int] = {}
    for cat in catalogs:
        try:
            keys = cat.keys()
        except CatalogError as exc:
            logger.warning("%s", exc)
            continue
        stored.extend(keys)
        for k in keys:
            head = k.split("/")[0]
            if head != prefix and head.split("[")[0] == objective:
                others[head] = others.get(head, 0) + 1
    nearest = nearest_keys(key, stored, MAX_NEARBY, same_params=True)
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
        On a miss, compute the code with the hook the layer above installed (``spherecodes.generate``,
        see :func:`set_compute_hook`), store it in the (user) catalog and return the stored code.
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
    CatalogError
        ``compute=True`` on a miss while no compute hook is installed (the solvers were never imported):
        call ``spherecodes.lookup`` instead, which installs it.
    """
    obj, d, K, norm, key = canonical_request(objective, d, K, params)
    code, catalogs, damaged = _search(key, catalog)
    if code is not None:
        return code
    if compute:
        if _compute_hook is None:
            raise CatalogError(f"no code for {key} stored, and lookup(compute=True) cannot compute it: the "
                               "catalog is storage only; call spherecodes.lookup(..., compute=True), or import "
                               "spherecodes.api first (it installs the solver)")
        # computed without touching any catalog, then stored here once (a read-only catalog: not stored)
        return store_code(_compute_hook(obj.name, d, K, dict(norm)), catalog)
    raise _miss(obj.name, d, K, norm, key, catalog, catalogs, damaged)


def _miss(objective: str, d: int, K: int, params: dict[str, Any], key: str,
          catalog: Any, catalogs: list[Catalog], damaged: list[str]) -> LookupMiss:
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
    if damaged:
        text += (f"; the entry in {', '.join(damaged)} is damaged (failed checksum or unreadable) and was skipped: "
                 "check with `spherecodes catalog verify`")
    if nearby:
        text += f"; nearest stored: {', '.join(nearby)}"
    else:
        text += f"; no codes stored for {key.split('/')[0]}"
        if others:
            text += f" (stored parameter sets: {', '.join(others)})"
    lookup_cmd = f"spherecodes lookup {command[len('spherecodes generate '):]} --compute"
    text += f"; make it with: {command} (or: {lookup_cmd})"
    return LookupMiss(key, text, nearby, command, searched, damaged)
