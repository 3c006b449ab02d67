"""Verifying a catalog file: every entry checked, problems collected (never raised) in a `VerifyReport`.

Per entry: metadata readable and consistent with the key; points readable with shape (K, d); SHA-256
of the points and of the metadata match; all coordinates finite; every row has
``| |x| - 1 | <= unit_norm_tolerance(float64)``; scores recomputed by the objective agree with the
stored ones within ``SCORE_RTOL_FLOAT64`` relative (absolute below 1). Entries of objectives that
are not registered get a note instead of the score check.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import CatalogError
from ..keys import make_key
from ..tolerances import SCORE_RTOL_FLOAT64, unit_norm_tolerance
from . import format as fmt
from .entries import meta_problem, walk
from .hdf5 import H5_ERRORS, attr_str, describe, read_attrs
from .keys import _registry
from .results import NO_META_CHECKSUM, EntryCheck, VerifyReport

__all__ = ["verify_file", "check_entry", "scores_close"]


def scores_close(a: float, b: float, rtol: float) -> bool:
    """|a - b| <= rtol * max(|a|, |b|, 1): relative above 1, absolute below (scores near 0 such as
    a cosine of orthogonal points may differ in the last bits between platforms)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1.0)


def verify_file(f, path: Path) -> VerifyReport:
    """Check every entry of the open catalog file ``f`` (None: a file not written yet, an empty report)."""
    report = VerifyReport(path=str(path))
    norm_tol = unit_norm_tolerance(np.float64)
    try:
        for key, group, problem in walk(f, path):
            if problem is not None:
                report.entries.append(EntryCheck(key, False, (problem,)))
                continue
            try:
                report.entries.append(check_entry(group, key, norm_tol))
            except H5_ERRORS as exc:  # a check that itself fails on damaged data: the entry fails
                report.entries.append(EntryCheck(key, False, (f"entry unreadable ({describe(exc)})",)))
    except CatalogError as exc:
        report.problems.append(str(exc))
    return report


def check_entry(group, key: str, norm_tol: float) -> EntryCheck:
    """The checks of the module docstring for one entry group stored under ``key``."""
    problems: list[str] = []
    notes: list[str] = []
    try:
        attrs = read_attrs(group)
        meta = meta_problem(attrs)
        objective = attr_str(attrs, "objective")
        params = json.loads(attr_str(attrs, "params"))
        d, K = int(attrs["d"]), int(attrs["K"])
        stored_scores = fmt.loads_scores(attr_str(attrs, "scores"))
        stored_sha = attr_str(attrs, "sha256")
    except H5_ERRORS as exc:
        return EntryCheck(key, False, (f"metadata unreadable ({describe(exc)})",))
    if meta is not None:
        problems.append(meta)
    elif fmt.META_SHA256 not in attrs:
        notes.append(f"{NO_META_CHECKSUM} ({fmt.META_SHA256}): written by an older spherecodes, its "
                     "scores and provenance cannot be checked for damage; remove it and store it again to add one")
    try:
        expected = make_key(objective, params, d, K)
        if expected != key:
            problems.append(f"stored under {key} but its metadata gives key {expected}")
    except H5_ERRORS as exc:  # InvalidParameterError, or e.g. a TypeError for params that are not a dict
        problems.append(f"metadata does not form a key ({describe(exc)})")
    try:
        points = np.array(group[fmt.POINTS][()])
    except H5_ERRORS as exc:
        problems.append(f"points unreadable ({describe(exc)})")
        return EntryCheck(key, False, tuple(problems))
    if points.dtype != np.float64 or points.shape != (K, d):
        problems.append(f"points have dtype {points.dtype} and shape {points.shape}, expected float64 ({K}, {d})")
        return EntryCheck(key, False, tuple(problems))
    if fmt.points_sha256(points) != stored_sha:
        problems.append("SHA-256 of the points does not match the stored sha256 (data corrupted)")
    if not np.all(np.isfinite(points)):
        problems.append("points contain NaN or inf")
        return EntryCheck(key, False, tuple(problems))
    worst = float(np.max(np.abs(np.linalg.norm(points, axis=1) - 1.0)))
    if worst > norm_tol:
        problems.append(f"max | |x| - 1 | = {worst:.3g} exceeds unit_norm_tolerance(float64) = {norm_tol:.2g}")
    reg = _registry()
    if objective not in reg.OBJECTIVES:
        notes.append(f"scores not recomputed: objective {objective!r} is not registered")
        return EntryCheck(key, not problems, tuple(problems), tuple(notes))
    obj = reg.get_objective(objective)
    try:
        fresh = {k: float(v) for k, v in obj.score(points, obj.normalise_params(**params)).items()}
    except H5_ERRORS as exc:  # (params damaged in an entry without a metadata checksum)
        problems.append(f"scores could not be recomputed ({describe(exc)})")
        fresh = {}
    if fresh and obj.primary not in stored_scores:
        problems.append(f"stored scores lack the primary score {obj.primary!r}")
    for name, value in fresh.items():
        if name not in stored_scores:
            notes.append(f"score {name!r} not stored")
        elif not scores_close(value, stored_scores[name], SCORE_RTOL_FLOAT64):
            problems.append(f"score {name}: stored {stored_scores[name]!r}, recomputed {value!r} "
                            f"(differ by more than SCORE_RTOL_FLOAT64 = {SCORE_RTOL_FLOAT64:.2g} relative)")
    return EntryCheck(key, not problems, tuple(problems), tuple(notes))
