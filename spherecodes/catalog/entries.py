"""One catalog entry and an open file's entries: read a group back as a `Code` or `EntryInfo` (checksums
verified), walk ``/entries``, and turn a `Code` into the attributes that are written.

Every function that reads works on an open h5py file or group and raises
:class:`~spherecodes.errors.CatalogError` (never a raw h5py error) naming the entry and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..code import Code
from ..errors import CatalogError, InvalidParameterError
from ..keys import make_key
from ..tolerances import unit_norm_tolerance
from . import format as fmt
from .hdf5 import H5_ERRORS, attr_str, hdf5_errors, link_name, read_attrs
from .keys import _registry
from .results import EntryInfo
from .writing import PreparedEntry

__all__ = ["unreadable", "corrupted", "no_entries", "group_of", "confirm_miss", "walk", "code_from_group",
           "entry_info", "exists", "meta_problem", "prepare"]


def unreadable(key: str, path: Path):
    """:func:`hdf5_errors` for one entry: "entry KEY in PATH is unreadable (...); run ... verify and remove it"."""
    return hdf5_errors(f"entry {key} in {path} is unreadable",
                       "; run `spherecodes catalog verify` and remove it")


def corrupted(key: str, path: Path, what: str) -> CatalogError:
    """The error for an entry that reads but fails a checksum."""
    return CatalogError(f"entry {key} in {path} is corrupted ({what}); "
                        "run `spherecodes catalog verify` and remove or re-store it")


def no_entries(path: Path) -> str:
    """The message for a file without a readable ``/entries`` group."""
    return (f"catalog {path} has no readable /{fmt.ENTRIES} group (every catalog has one): the file is "
            "damaged; restore it from a copy")


def meta_problem(attrs: dict[str, Any]) -> str | None:
    """Why the entry's metadata fails its checksum; None when it matches or the entry has none."""
    if fmt.META_SHA256 not in attrs:
        return None
    stored = attrs[fmt.META_SHA256]
    stored = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else str(stored)
    try:
        fresh = fmt.meta_sha256(attrs)
    except ValueError as exc:
        return f"metadata unreadable ({exc})"
    if fresh != stored:
        return ("SHA-256 of its metadata (attributes such as scores, provenance, certificate) does not match "
                f"the stored {fmt.META_SHA256} (metadata corrupted)")
    return None


# ----------------------------------------------------------------------------- finding groups
def group_of(f, key: str, path: Path) -> Any:
    """The group of ``key`` in the open file ``f`` (None: no such entry, or no file)."""
    if f is None:
        return None
    with unreadable(key, path):  # damaged groups on the way raise KeyError, OSError, ...
        return f.get(fmt.entry_path(key))


def confirm_miss(f, key: str, path: Path) -> None:
    """Raise CatalogError unless ``key`` is really not stored: a damaged index can make a stored name
    impossible to look up while it is still listed, or hide /entries altogether (checked only on
    misses, so hits cost nothing)."""
    with unreadable(key, path):
        if fmt.ENTRIES not in f:
            raise CatalogError(no_entries(path))
        node = f[fmt.ENTRIES]
        for part in key.split("/"):
            child = node.get(part)
            if child is None:
                if part in {link_name(n) for n in node}:
                    raise CatalogError(f"entry {key} in {path} is listed but cannot be opened (the "
                                       "file's index is damaged); run `spherecodes catalog verify`")
                return
            node = child


def walk(f, path: Path) -> Iterator[tuple[str, Any, str | None]]:
    """Yield (key, group or None, problem or None) for every entry under /entries of the open file ``f``.

    Keys are built from group names (objective[params] / d=.. / K=..), so listing needs no attribute
    reads; a group that cannot be listed is reported with its path.

    Raises
    ------
    CatalogError
        Nothing below /entries can be found: a file-level problem.
    """
    if f is None:
        return
    with hdf5_errors(f"catalog {path}: the list of entries is unreadable", "; the file is damaged"):
        if fmt.ENTRIES not in f:  # (an empty catalog still has the group): a damaged root group
            raise CatalogError(no_entries(path))
        top = f[fmt.ENTRIES]
        # h5py gives bytes for names that are not UTF-8: sort as text, open by the raw name
        first = sorted(list(top), key=link_name)
    for a in first:
        try:
            with hdf5_errors(f"group {link_name(a)} unreadable"):
                ga = top[a]
                d_names = list(ga)
        except CatalogError as exc:
            yield link_name(a), None, str(exc)
            continue
        for b in d_names:
            try:
                with hdf5_errors("group unreadable"):
                    gb = ga[b]
                    k_names = list(gb)
            except CatalogError as exc:
                yield f"{link_name(a)}/{link_name(b)}", None, str(exc)
                continue
            for c in k_names:
                key = f"{link_name(a)}/{link_name(b)}/{link_name(c)}"
                if any(isinstance(n, bytes) for n in (a, b, c)):
                    yield key, None, "group name is not valid UTF-8 (the file is damaged)"
                    continue
                try:
                    with hdf5_errors("group unreadable"):
                        group = gb[c]
                except CatalogError as exc:
                    yield key, None, str(exc)
                    continue
                yield key, group, None


# ----------------------------------------------------------------------------- reading
def code_from_group(group, key: str, path: Path) -> Code:
    """The entry's code: points bit-identical to what was stored, with scores, provenance and certificate.

    Raises
    ------
    CatalogError
        Unreadable data or metadata, or a failed SHA-256 check of the points or the metadata (damaged
        data is never returned).
    """
    with unreadable(key, path):  # any damage to the entry's metadata or data
        points = np.array(group[fmt.POINTS][()], dtype=np.float64)
        attrs = read_attrs(group)
        problem = meta_problem(attrs)
        stored_sha = attr_str(attrs, "sha256")
    if fmt.points_sha256(points) != stored_sha:
        raise corrupted(key, path, "SHA-256 of its points does not match")
    if problem is not None:
        raise corrupted(key, path, problem)
    with unreadable(key, path):  # (entries without meta_sha256 can still hold damaged JSON or values Code refuses)
        objective = attr_str(attrs, "objective")
        params = json.loads(attr_str(attrs, "params"))
        scores = fmt.loads_scores(attr_str(attrs, "scores"))
        provenance = json.loads(attr_str(attrs, "provenance")) if "provenance" in attrs else {}
        certificate = json.loads(attr_str(attrs, "certificate")) if "certificate" in attrs else None
        points = np.ascontiguousarray(points)
        points.setflags(write=False)
        return Code(points=points, objective=objective, params=params, scores=scores,
                    provenance=provenance, certificate=certificate)


def entry_info(group, key: str, path: Path) -> EntryInfo:
    """EntryInfo of one entry (its points are not read); CatalogError naming the entry when its metadata
    is unreadable or fails its checksum."""
    with unreadable(key, path):
        if fmt.POINTS not in group:
            raise CatalogError(f"entry {key} in {path} has no {fmt.POINTS!r} dataset")
        attrs = read_attrs(group)
        problem = meta_problem(attrs)
        if problem is not None:
            raise corrupted(key, path, problem)
        return EntryInfo(
            key=key, objective=attr_str(attrs, "objective"), params=json.loads(attr_str(attrs, "params")),
            d=int(attrs["d"]), K=int(attrs["K"]), scores=fmt.loads_scores(attr_str(attrs, "scores")),
            stored=attr_str(attrs, "stored"), sha256=attr_str(attrs, "sha256"), catalog=str(path),
            primary=attr_str(attrs, "primary") if "primary" in attrs else "",
            maximise=bool(attrs["maximise"]) if "maximise" in attrs else False)


def exists(f, key: str) -> bool:
    """Whether the open file has a group for ``key`` (damage on the way counts as present: replace it)."""
    if f is None:
        return False
    try:
        return fmt.entry_path(key) in f
    except H5_ERRORS:
        return True


# ----------------------------------------------------------------------------- writing
def prepare(code: Code) -> PreparedEntry:
    """Validate a code, normalise its params, recompute its scores and build its entry attributes.

    Raises
    ------
    InvalidParameterError
        Not a Code, unknown objective, invalid params or size, non-finite or non-unit points.
    CatalogError
        The objective's scores lack its primary score.
    """
    if not isinstance(code, Code):
        raise InvalidParameterError("code", type(code).__name__, "pass a spherecodes.Code")
    obj = _registry().get_objective(code.objective)  # unknown name -> UnknownNameError (an InvalidParameterError)
    params = obj.normalise_params(**dict(code.params))
    points = np.ascontiguousarray(code.points, dtype=np.float64)
    if points.ndim != 2:
        raise InvalidParameterError("code.points", f"array of shape {points.shape}", "points must be (K, d)")
    K, d = points.shape
    obj.validate_size(d, K, params)
    if not np.all(np.isfinite(points)):
        raise InvalidParameterError("code.points", "array with NaN or inf", "only finite codes can be stored")
    tol = unit_norm_tolerance(np.float64)
    worst = float(np.max(np.abs(np.linalg.norm(points, axis=1) - 1.0)))
    if worst > tol:
        raise InvalidParameterError("code.points", f"rows with | |x| - 1 | up to {worst:.3g}",
                                    f"stored rows must have unit norm within unit_norm_tolerance = {tol:.1e}")
    scores = {k: float(v) for k, v in obj.score(points, params).items()}
    if obj.primary not in scores:
        raise CatalogError(f"objective {obj.name!r} returned scores without its primary key {obj.primary!r}")
    key = make_key(obj.name, params, d, K)
    meta = code.metadata()
    attrs: dict[str, Any] = {
        "key": key, "objective": obj.name, "params": fmt.dumps(params),
        "d": np.int64(d), "K": np.int64(K), "scores": fmt.dumps(scores),
        "provenance": fmt.dumps(meta.get("provenance") or {}),
        "sha256": fmt.points_sha256(points), "stored_by": fmt.generated_by(),
        "primary": obj.primary, "maximise": np.bool_(obj.maximise),
    }
    if meta.get("certificate") is not None:
        attrs["certificate"] = fmt.dumps(meta["certificate"])
    return PreparedEntry(key, obj, params, points, scores, attrs)

