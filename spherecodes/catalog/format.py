"""On-disk layout of a spherecodes catalog (HDF5): names, format version, checksum, JSON helpers.

Everything a reader needs to interpret a catalog file with plain ``h5py`` is fixed here;
``docs/catalog.md`` describes the same layout in prose.

Layout (format version 1)::

    /                        root attributes: magic, format_version, generated_by, created,
                             modified, modified_by, compacted_size, layout
    /entries/<key>           one group per canonical key; the key's '/' separators are HDF5
                             group separators, e.g. /entries/riesz[half_space=false,metric=euclidean,s=1]/d=3/K=12
    /entries/<key>/points    dataset (K, d) float64, little-endian, contiguous, unit rows
    entry attributes         key, objective, params (JSON), d, K, scores (JSON), primary, maximise,
                             provenance (JSON), certificate (JSON, only when present), sha256,
                             stored, stored_by

JSON attributes are UTF-8 strings; non-finite floats are written as the strings
``"inf"``, ``"-inf"`` and ``"nan"`` so that any JSON parser can read them.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._version import __version__

__all__ = [
    "MAGIC", "FORMAT_VERSION", "ENTRIES", "POINTS", "LAYOUT", "LIBVER",
    "points_sha256", "utc_now", "generated_by", "dumps", "loads_scores", "check_header", "entry_path",
]

#: Value of the root attribute ``magic``: identifies a spherecodes catalog.
MAGIC = "spherecodes-catalog"
#: Integer layout version, independent of the package version. Readers refuse newer versions.
FORMAT_VERSION = 1
#: Group that holds one sub-group per entry.
ENTRIES = "entries"
#: Name of the (K, d) float64 dataset inside an entry group.
POINTS = "points"
#: HDF5 object-format bounds used for writing: readable by HDF5 >= 1.8 (large attributes need >= 1.8),
#: never uses features newer than 1.10, so files stay readable by old h5py builds.
LIBVER = ("earliest", "v110")
#: Short description stored in the root attribute ``layout`` so that a file explains itself.
LAYOUT = (
    "one group per code at /entries/<key> (the key's '/' are group separators), "
    "e.g. /entries/riesz[half_space=false,metric=euclidean,s=1]/d=3/K=12; "
    "dataset 'points' (K, d) float64 little-endian, one unit vector per row; attributes "
    "objective, params (JSON), d, K, scores (JSON), primary (name of the score defining better), "
    "maximise (bool), provenance (JSON), certificate (JSON, optional), "
    "sha256 (hex digest of the points' bytes, C order, little-endian float64), stored (ISO 8601 UTC)"
)

#: Root attribute names.
ROOT_ATTRS = ("magic", "format_version", "generated_by", "created", "modified", "modified_by",
              "compacted_size", "layout")


def points_sha256(points: np.ndarray) -> str:
    """Hex SHA-256 of the points' bytes in C order as little-endian float64.

    Parameters
    ----------
    points : numpy.ndarray, shape (K, d)

    Returns
    -------
    str
        64 hex characters; identical on every platform for identical values.
    """
    arr = np.ascontiguousarray(points, dtype="<f8")
    return hashlib.sha256(arr.tobytes(order="C")).hexdigest()


def utc_now() -> str:
    """Current time as ISO 8601 UTC with second resolution, e.g. ``2026-05-09T07:35:25Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # (datetime.UTC needs Python 3.11)


def generated_by() -> str:
    """``"spherecodes X.Y.Z"``: the package version that wrote a file."""
    return f"spherecodes {__version__}"


def _plain(value: Any) -> Any:
    """JSON-compatible copy: numpy scalars/arrays to Python, non-finite floats to strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    return value


def dumps(value: Any) -> str:
    """Strict JSON text (sorted keys, floats written exactly via ``repr``, no NaN/Infinity tokens)."""
    return json.dumps(_plain(value), sort_keys=True, allow_nan=False, default=str)


def loads_scores(text: str) -> dict[str, float]:
    """Parse a ``scores`` attribute back into float64 values (``"inf"``/``"nan"`` strings included)."""
    return {str(k): float(v) for k, v in json.loads(text).items()}


def check_header(attrs: Mapping[str, Any]) -> tuple[bool, str]:
    """Check the root attributes of a file: right magic and a format version this code can read.

    Returns
    -------
    (ok, reason) : (bool, str)
        ``reason`` is empty when ok, otherwise one sentence saying what is wrong and what to do.
    """
    magic = attrs.get("magic")
    if isinstance(magic, bytes):
        magic = magic.decode("utf-8", "replace")
    if magic != MAGIC:
        return False, (f"not a spherecodes catalog (root attribute magic={magic!r}, expected {MAGIC!r}); "
                       "pass the path of a catalog file")
    try:
        version = int(attrs.get("format_version"))
    except (TypeError, ValueError):
        return False, "catalog has no integer root attribute format_version; the file is damaged"
    if version > FORMAT_VERSION:
        by = attrs.get("generated_by", "a newer spherecodes")
        return False, (f"catalog format version {version} (written by {by}) is newer than the version "
                       f"this spherecodes reads ({FORMAT_VERSION}); upgrade spherecodes")
    if version < 1:
        return False, f"catalog format version {version} is not valid; the file is damaged"
    return True, ""


def entry_path(key: str) -> str:
    """HDF5 path of the group holding ``key``: ``entries/<key>``."""
    return f"{ENTRIES}/{key}"
