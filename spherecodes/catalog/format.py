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
                             stored, stored_by, meta_sha256 (optional: absent in entries written
                             before it was added, which still read)

JSON attributes are UTF-8 strings; non-finite floats are written as the strings
``"inf"``, ``"-inf"`` and ``"nan"`` so that any JSON parser can read them.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import struct
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._version import __version__

__all__ = [
    "MAGIC", "FORMAT_VERSION", "ENTRIES", "POINTS", "LAYOUT", "LIBVER", "META_SHA256",
    "points_sha256", "meta_sha256", "utc_now", "generated_by", "dumps", "loads_scores", "check_header",
    "entry_path", "global_heap_problem",
]

#: Value of the root attribute ``magic``: identifies a spherecodes catalog.
MAGIC = "spherecodes-catalog"
#: Integer layout version, independent of the package version. Readers refuse newer versions.
FORMAT_VERSION = 1
#: Group that holds one sub-group per entry.
ENTRIES = "entries"
#: Name of the (K, d) float64 dataset inside an entry group.
POINTS = "points"
#: Name of the optional entry attribute holding the SHA-256 of all the entry's other attributes
#: (see :func:`meta_sha256`). Optional so that the format version stays 1: entries written before
#: it existed still read (``verify`` notes that their metadata cannot be checked).
META_SHA256 = "meta_sha256"
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
    "sha256 (hex digest of the points' bytes, C order, little-endian float64), stored (ISO 8601 UTC), "
    "meta_sha256 (optional: hex SHA-256 of the JSON object {name: value} of all other entry attributes, "
    "sorted keys, separators ',' and ':', ASCII)"
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


def _attr_plain(value: Any) -> Any:
    """An attribute value as h5py returns it, as a JSON value (bytes must be UTF-8: else ValueError)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _plain(value)
    if isinstance(value, np.ndarray):
        return [_attr_plain(v) for v in value.tolist()]
    if isinstance(value, str):
        return value
    raise ValueError(f"unexpected attribute value of type {type(value).__name__}")


def meta_sha256(attrs: Mapping[str, Any]) -> str:
    """Hex SHA-256 of an entry's metadata: every attribute except ``meta_sha256`` itself.

    The digest is taken over the ASCII text of the JSON object ``{name: value}`` with sorted keys
    and separators ``","`` and ``":"`` (``json.dumps(..., sort_keys=True, separators=(",", ":"))``),
    where string attributes are their text (JSON attributes are *not* re-parsed), ``d`` and ``K``
    integers and ``maximise`` a boolean. Any change to a name or a value changes the digest.

    Parameters
    ----------
    attrs : mapping
        The entry group's attributes (``group.attrs``, or a dict of the values as h5py reads them).

    Returns
    -------
    str
        64 hex characters.

    Raises
    ------
    ValueError
        An attribute that is not valid UTF-8 text, a number or a boolean (a damaged entry).
    """
    plain = {str(name): _attr_plain(value) for name, value in attrs.items() if name != META_SHA256}
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


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
    from .hdf5 import H5_ERRORS  # (hdf5 reads this module's constants at import)

    try:  # a damaged file can fail anywhere in libhdf5 (OSError, KeyError, ...): report, never raise
        magic = attrs.get("magic")
    except H5_ERRORS as exc:
        return False, f"root attribute magic is unreadable ({type(exc).__name__}: {exc}); the file is damaged"
    if isinstance(magic, bytes):
        magic = magic.decode("utf-8", "replace")
    if magic != MAGIC:
        return False, (f"not a spherecodes catalog (root attribute magic={magic!r}, expected {MAGIC!r}); "
                       "pass the path of a catalog file")
    try:
        version = int(attrs.get("format_version"))
    except (TypeError, ValueError, OverflowError):
        return False, "catalog has no integer root attribute format_version; the file is damaged"
    except H5_ERRORS as exc:
        return False, (f"root attribute format_version is unreadable ({type(exc).__name__}: {exc}); "
                       "the file is damaged")
    if version > FORMAT_VERSION:
        try:
            by = attrs.get("generated_by", "a newer spherecodes")
        except H5_ERRORS:
            by = "a newer spherecodes"
        return False, (f"catalog format version {version} (written by {by}) is newer than the version "
                       f"this spherecodes reads ({FORMAT_VERSION}); upgrade spherecodes")
    if version < 1:
        return False, f"catalog format version {version} is not valid; the file is damaged"
    return True, ""


def entry_path(key: str) -> str:
    """HDF5 path of the group holding ``key``: ``entries/<key>``."""
    return f"{ENTRIES}/{key}"


#: Signature and version of an HDF5 global heap collection (where variable-length strings live).
_GCOL = b"GCOL\x01\x00\x00\x00"
_U64 = (1 << 64) - 1


def global_heap_problem(path: "str | Any") -> str:
    """Find damage in the file's global heap that would make libhdf5 loop forever; '' when none.

    String attributes (all the JSON metadata) are variable-length strings, kept by HDF5 in "global
    heap collections". libhdf5 (checked up to HDF5 2.0.0) decodes a collection by walking its objects
    ``p += size`` and does not check for an object of size 0: a flipped byte in a collection's size
    or in an object size can make the walk land on zero bytes, and reading any attribute stored there
    then never returns. This repeats that walk on the raw bytes (arithmetic modulo 2**64, as in C)
    and reports a collection where it would not advance or would move backwards. It reads the whole
    file once (memory-mapped: ~10 ms for 4 MB); other damage is left to libhdf5 and the checksums.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        '' when no such collection was found (or the file could not be mapped), else one sentence
        naming the collection's byte offset.
    """
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _scan_global_heap(buf, len(buf))
    except (OSError, ValueError):  # empty or unmappable file: libhdf5's own checks refuse it
        return ""


def _scan_global_heap(buf: Any, n: int) -> str:
    pos = buf.find(_GCOL)
    while pos >= 0:
        if pos + 16 <= n:
            (size,) = struct.unpack_from("<Q", buf, pos + 8)
            end = pos + size
            if end <= n:  # a collection running past the end of the file is refused by libhdf5 itself
                p = pos + 16
                while p + 16 <= end:  # (a tail shorter than an object header is free space)
                    idx, osize = struct.unpack_from("<H6xQ", buf, p)
                    need = (16 + ((osize + 7) & ~7)) & _U64 if idx else osize  # object 0: free space
                    nxt = (p + need) & _U64
                    if nxt <= p:
                        return (f"global heap collection at byte {pos} is damaged (object {idx} at byte {p} "
                                f"has size {osize}): libhdf5 would loop forever (or read outside the "
                                "collection) reading the attributes stored in it")
                    p = nxt
        pos = buf.find(_GCOL, pos + 1)
    return ""
