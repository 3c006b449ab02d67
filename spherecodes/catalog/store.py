"""`Catalog`: a store of codes in one HDF5 file, keeping the best code per key.

The layout is described in :mod:`spherecodes.catalog.format` and ``docs/catalog.md``.

Concurrency and crash safety
----------------------------
Readers open the file read-only and take no lock. Every write (``put``, ``remove``,
``merge``, ``import_``, ``compact``) runs under an exclusive lock file ``<path>.lock``
(:mod:`filelock`) and never modifies the catalog file in place: the current file is
copied to a temporary file in the same directory, the change is applied there, the
temporary file is flushed with ``fsync`` and atomically renamed over the catalog with
:func:`os.replace` (then the directory is ``fsync``-ed). A process killed at any moment
therefore leaves either the old or the new version of the whole file, never a mix; the
lock makes concurrent writers take turns, each starting from the previous one's result,
so no entry is lost. A reader that opened the old version keeps reading it consistently.

Because HDF5 does not give back space freed by deleting objects, the file is rewritten
compactly (HDF5 object copy of all entries into a fresh file) whenever it has grown to
more than twice its size after the last compaction (plus 1 MiB); :meth:`Catalog.compact`
forces it.

"Better" is decided by the objective on float64 scores that the catalog recomputes
itself with ``objective.score`` on the stored points, never on scores a caller supplies.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fnmatch
import json
import logging
import math
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._fileio import fsync_dir as _fsync_dir
from .._fileio import fsync_file as _fsync_file
from ..code import Code
from ..errors import CatalogError, InvalidParameterError
from ..keys import make_key, parse_key
from ..tolerances import SCORE_RTOL_FLOAT64, unit_norm_tolerance
from . import format as fmt

__all__ = [
    "Catalog", "PutResult", "EntryInfo", "EntryCheck", "VerifyReport", "ReadOnlyCatalogError",
    "canonical_key", "nearest_keys", "check_catalog", "assert_catalog",
]

logger = logging.getLogger(__name__)

#: How long a writer waits for another writer's lock before giving up, in seconds.
DEFAULT_LOCK_TIMEOUT = 300.0
#: Rewrite the file compactly when its size exceeds ``COMPACT_FACTOR * size_after_last_compaction + COMPACT_SLACK``.
COMPACT_FACTOR = 2.0
COMPACT_SLACK = 1 << 20
#: How many near keys :meth:`Catalog.near_keys` suggests by default.
MAX_SUGGESTIONS = 5
#: Start of the verify note for entries written before ``meta_sha256`` existed.
NO_META_CHECKSUM = "no metadata checksum"
#: errno values that mean "this path cannot be written" (permissions, read-only file system).
_READ_ONLY_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


class ReadOnlyCatalogError(CatalogError):
    """A write to a catalog that cannot be written: opened with mode "r", or its file or directory is
    read-only (permissions, read-only file system). Reads of the same catalog keep working."""


# ----------------------------------------------------------------------------- results
class PutResult(str):
    """What :meth:`Catalog.put` did: a ``str`` equal to the action, carrying the details.

    ``cat.put(code) == "stored"`` works, and so do ``print(result)`` and ``json.dumps(result)``
    (they give the action); the details are attributes. Comparison and hashing are those of the
    action string.

    Attributes
    ----------
    action : str
        ``"stored"`` (no entry before), ``"replaced"`` (the new code is strictly better, or the
        old entry was unreadable) or ``"kept"`` (the stored code is at least as good; ties keep it).
        Same as ``str(result)``.
    key : str
        Canonical key of the entry.
    old_scores : dict or None
        Scores of the previously stored code, recomputed by the objective (None when there was none
        or it could not be read).
    new_scores : dict
        Scores of the offered code, recomputed by the objective (stored when the action is not "kept").
    """

    __slots__ = ("key", "old_scores", "new_scores")
    ACTIONS = ("stored", "replaced", "kept")

    key: str
    old_scores: dict[str, float] | None
    new_scores: dict[str, float]

    def __new__(cls, action: str, key: str, old_scores: dict[str, float] | None,
                new_scores: dict[str, float]) -> "PutResult":
        if action not in cls.ACTIONS:
            raise InvalidParameterError("action", action, f"use one of {', '.join(cls.ACTIONS)}")
        self = super().__new__(cls, action)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "old_scores", None if old_scores is None else dict(old_scores))
        object.__setattr__(self, "new_scores", dict(new_scores))
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"PutResult is immutable (cannot set {name!r})")

    @property
    def action(self) -> str:
        """The action as a plain ``str``: "stored", "replaced" or "kept"."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return (f"PutResult({self.action!r}, key={self.key!r}, old_scores={self.old_scores!r}, "
                f"new_scores={self.new_scores!r})")

    def __reduce__(self):  # pickling/copying: rebuild through __new__ with all fields
        return (PutResult, (self.action, self.key, self.old_scores, self.new_scores))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict of all fields."""
        return json.loads(fmt.dumps({"action": self.action, "key": self.key, "old_scores": self.old_scores,
                                     "new_scores": self.new_scores}))


@dataclass(frozen=True)
class EntryInfo:
    """Summary of one stored entry (everything but the points).

    ``primary`` names the score that defines "better" for the objective and ``maximise`` its
    direction, as recorded when the entry was stored.
    """

    key: str
    objective: str
    params: dict[str, Any]
    d: int
    K: int
    scores: dict[str, float]
    stored: str
    sha256: str
    catalog: str = ""
    primary: str = ""
    maximise: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        return json.loads(fmt.dumps(self.__dict__))


@dataclass(frozen=True)
class EntryCheck:
    """Result of verifying one entry: ``problems`` make it fail, ``notes`` do not."""

    key: str
    ok: bool
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class VerifyReport:
    """Result of :meth:`Catalog.verify`.

    Attributes
    ----------
    path : str
    entries : list of EntryCheck
        One per entry found (unreadable ones included, with their problem).
    problems : list of str
        File-level problems (e.g. a group that cannot be listed).
    """

    path: str
    entries: list[EntryCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no entry and no file-level check failed."""
        return not self.problems and all(e.ok for e in self.entries)

    @property
    def failures(self) -> list[EntryCheck]:
        """The entries that failed a check."""
        return [e for e in self.entries if not e.ok]

    def summary(self) -> str:
        """One line: counts, and the first failure if any."""
        n_bad = len(self.failures)
        text = f"{self.path}: {len(self.entries)} entries, {n_bad} failed"
        n_old = sum(any(n.startswith(NO_META_CHECKSUM) for n in e.notes) for e in self.entries)
        if n_old:
            text += f", {n_old} without a metadata checksum (written by an older spherecodes)"
        if self.problems:
            text += f", file problems: {'; '.join(self.problems)}"
        if n_bad:
            first = self.failures[0]
            text += f" (first: {first.key}: {first.problems[0]})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict."""
        return {"path": self.path, "ok": self.ok, "problems": list(self.problems),
                "entries": [{"key": e.key, "ok": e.ok, "problems": list(e.problems), "notes": list(e.notes)}
                            for e in self.entries]}


# ----------------------------------------------------------------------------- helpers
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


def _as_size(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (integral floats such as 3.0 accepted, bools refused)."""
    try:
        out = int(value)
        ok = out == value and not isinstance(value, (bool, np.bool_))
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        ok = False
    if not ok or out < minimum:
        raise InvalidParameterError(name, value, f"pass an integer >= {minimum}")
    return out


def nearest_keys(key: str, stored: Iterable[str], n: int = MAX_SUGGESTIONS) -> list[str]:
    """The stored keys nearest to ``key``, nearest first: suggestions for a key that is not stored.

    For a well-formed key (canonicalised first, so ``riesz[s=1]/d=3/K=13`` counts as its full
    form) the distance to a stored key ``o'[p']/d=d'/K=K'`` is

        2 (1 - r(o, o')) + 0.5 * #(parameters that differ) + |log(d'/d)| + |log(K'/K)|,

    where ``r`` is :class:`difflib.SequenceMatcher`'s similarity ratio of the objective names
    (0 for equal names, so a typo such as ``reisz`` still finds ``riesz``); stored keys whose
    objective name has r < 0.6 are not suggested. A malformed string that still names an objective,
    d and K (``riesz/d=3/K=12``) is read as that objective with default parameters; any other string
    gets :func:`difflib.get_close_matches` on the whole strings (cutoff 0.5). ``key`` itself (as
    spelled) is never suggested.

    Parameters
    ----------
    key : str
    stored : iterable of str
        Candidate keys (e.g. :meth:`Catalog.keys`).
    n : int
        At most this many are returned.

    Returns
    -------
    list of str
    """
    stored = [k for k in stored if k != key]
    try:
        canon = canonical_key(key)
    except InvalidParameterError:  # malformed, or a registered objective with invalid parameter values
        canon = key
    try:
        parse_key(canon)
    except InvalidParameterError:
        canon = _salvage_key(key)
        if canon is None:
            return difflib.get_close_matches(key, stored, n=n, cutoff=0.5)
    return _rank_near(canon, stored, n)


def _rank_near(key: str, stored: list[str], n: int) -> list[str]:
    """The ranking of :func:`nearest_keys` for a well-formed key (which may itself be returned)."""
    objective, params, d, K = parse_key(key)
    scored: list[tuple[float, str]] = []
    for k in stored:
        try:
            o2, p2, d2, K2 = parse_key(k)
        except InvalidParameterError:
            continue
        ratio = 1.0 if o2 == objective else difflib.SequenceMatcher(None, objective, o2).ratio()
        if ratio < 0.6:
            continue
        n_diff = sum(params.get(name) != p2.get(name) for name in set(params) | set(p2))
        dist = 2.0 * (1.0 - ratio) + 0.5 * n_diff + abs(math.log(d2 / d)) + abs(math.log(K2 / K))
        scored.append((dist, k))
    scored.sort()
    return [k for _, k in scored[:n]]


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


def _read_only_reason(path: Path) -> str:
    """Why the catalog file at ``path`` cannot be written ('' when a write can be attempted).

    A write creates a temporary file and a lock file in the directory and renames over the file,
    so the (nearest existing) directory must be writable. A file without write permission is
    read-only too: the rename would replace it even though the file says "do not write me", and
    for root, which ``os.access`` lets write anything, the mode bits are the only signal.
    """
    parent = path.parent
    while not parent.exists() and parent.parent != parent:  # the first write creates it
        parent = parent.parent
    probe = path if path.exists() else parent
    try:
        if os.statvfs(probe).f_flag & os.ST_RDONLY:
            return f"{probe} is on a read-only file system"
    except (OSError, AttributeError):  # no statvfs on Windows
        pass
    if path.exists():
        mode = path.stat().st_mode
        if not mode & 0o222:
            return f"the file {path} has no write permission (mode {mode & 0o777:o})"
        if not os.access(path, os.W_OK):
            return f"the file {path} is not writable by this user (mode {mode & 0o777:o})"
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"the directory {parent} is not writable by this user"
    return ""


def _is_read_only_error(exc: OSError) -> bool:
    """True for errors that mean "no permission / read-only file system" (h5py puts the errno in the text)."""
    text = str(exc)
    return (exc.errno in _READ_ONLY_ERRNOS or "Permission denied" in text or "Read-only file system" in text
            or "Operation not permitted" in text)


def _write_failure(path: Path, exc: OSError) -> CatalogError:
    """The CatalogError for an OSError met while writing ``path`` (never leak a raw OSError)."""
    detail = f"{type(exc).__name__}: {exc}"
    if _is_read_only_error(exc):
        return ReadOnlyCatalogError(
            f"catalog {path} is read-only ({detail}); reads still work; to store codes use a writable "
            "catalog (catalog=... / --catalog PATH, or set $SPHERECODES_CATALOG)")
    return CatalogError(f"writing catalog {path} failed ({detail}); the catalog file is unchanged")


def _open_h5(path: Path, mode: str):
    """Open with HDF5's own file locking off: consistency comes from atomic replace + our lock file."""
    import h5py

    kwargs: dict[str, Any] = {"locking": False}
    if mode != "r":
        kwargs["libver"] = fmt.LIBVER
    try:
        return h5py.File(path, mode, **kwargs)
    except TypeError:  # very old h5py without the locking argument
        kwargs.pop("locking")
        return h5py.File(path, mode, **kwargs)


def _attr_str(attrs, name: str) -> str:
    value = attrs[name]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _read_attrs(group) -> dict[str, Any]:
    """All attributes of an entry group, read once (a damaged header raises; callers turn that into
    CatalogError). Strings come back as bytes.

    Uses h5py's low-level calls for scalar attributes (all of ours): half the time of ``group.attrs[name]``,
    which matters because ``get`` reads every attribute to check the metadata checksum.
    """
    from h5py import h5a, h5t

    out: dict[str, Any] = {}
    gid = group.id
    for name in group.attrs:
        raw = name.encode("utf-8") if isinstance(name, str) else name
        aid = h5a.open(gid, raw)
        if aid.shape != ():
            out[name] = group.attrs[name]
            continue
        dtype = aid.dtype
        value = np.zeros((), dtype=dtype)
        aid.read(value, mtype=h5t.py_create(dtype))
        out[name] = value[()]
    return out


def _meta_problem(attrs: dict[str, Any]) -> str | None:
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


def _name(name: Any) -> str:
    """An HDF5 link name as text: h5py gives bytes for a name that is not UTF-8 (a damaged file)."""
    return name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else str(name)


#: Files already checked by :func:`_heap_check`: (path, device, inode, size, mtime_ns) -> problem or ''.
#: Every write makes a new file (atomic rename), so a file version is scanned once per process.
_HEAP_CHECKED: dict[tuple, str] = {}
#: Seconds after its last change during which a file is rescanned at every open (timestamps can be
#: as coarse as 2 s, e.g. on FAT).
_RACY_S = 2.0


def _heap_check(path: Path) -> str:
    """:func:`format.global_heap_problem` for the current version of ``path``, cached.

    A file changed in place within one timestamp tick keeps its (inode, size, mtime), so results for
    files modified less than ``_RACY_S`` ago are not cached (as git does for "racily clean" files).
    """
    try:
        st = path.stat()
    except OSError:
        return ""
    ident = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if ident in _HEAP_CHECKED:
        return _HEAP_CHECKED[ident]
    problem = fmt.global_heap_problem(path)
    if time.time() - st.st_mtime > _RACY_S:
        if len(_HEAP_CHECKED) > 256:
            _HEAP_CHECKED.clear()
        _HEAP_CHECKED[ident] = problem
    return problem


def _write_header(f, *, created: str | None = None) -> None:
    now = fmt.utc_now()
    f.attrs["magic"] = fmt.MAGIC
    f.attrs["format_version"] = np.int64(fmt.FORMAT_VERSION)
    f.attrs["generated_by"] = fmt.generated_by()
    f.attrs["created"] = created or now
    f.attrs["modified"] = now
    f.attrs["modified_by"] = fmt.generated_by()
    f.attrs["layout"] = fmt.LAYOUT
    f.attrs["compacted_size"] = np.int64(0)
    f.require_group(fmt.ENTRIES)


def _scores_close(a: float, b: float, rtol: float) -> bool:
    """|a - b| <= rtol * max(|a|, |b|, 1): relative above 1, absolute below (scores near 0 such as
    a cosine of orthogonal points may differ in the last bits between platforms)."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1.0)


@dataclass
class _Prepared:
    """A code checked and scored, ready to be written."""

    key: str
    objective: Any
    params: dict[str, Any]
    points: np.ndarray
    scores: dict[str, float]
    attrs: dict[str, Any]


# ----------------------------------------------------------------------------- Catalog
class Catalog:
    """A catalog of codes in one HDF5 file, at most one (the best) per canonical key.

    Parameters
    ----------
    path : str or Path
        The catalog file. In mode ``"a"`` it is created by the first write (with its directory).
    mode : {"a", "r"}
        ``"a"``: read and write; ``"r"``: read only (the file must exist; writes raise CatalogError).
        A catalog opened with ``"a"`` on a path that cannot be written (read-only file or directory,
        read-only file system) falls back to read-only use: reads work, and every write raises
        :class:`ReadOnlyCatalogError` (a CatalogError) saying so; see :attr:`writable`.
    lock_timeout : float
        Seconds a writer waits for another process's lock before raising CatalogError.

    Raises
    ------
    CatalogError
        The file exists but is not a spherecodes catalog, is of a newer format version, or is not
        readable as HDF5; or mode "r" and no file.

    Examples
    --------
    >>> cat = Catalog(tmp / "catalog.h5")                      # doctest: +SKIP
    >>> cat.put(code)                                          # doctest: +SKIP
    'stored'
    >>> cat.get("riesz", 3, 5).points.shape                    # doctest: +SKIP
    (5, 3)
    >>> cat.get("riesz[half_space=false,metric=euclidean,s=1]/d=3/K=5").K   # doctest: +SKIP
    5
    """

    def __init__(self, path: "str | os.PathLike[str]", mode: str = "a", *,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT):
        if mode not in ("a", "r"):
            raise InvalidParameterError("mode", mode, "use 'a' (read and write) or 'r' (read only)")
        self._path = Path(path).expanduser().resolve()
        self._mode = mode
        self._lock_timeout = float(lock_timeout)
        if self._path.is_dir():
            raise CatalogError(f"catalog path {self._path} is a directory; pass a file path such as "
                               f"{self._path / 'catalog.h5'}")
        if self._path.exists():
            with self._open_read():
                pass  # checks magic and format version
        elif mode == "r":
            raise CatalogError(f"no catalog file at {self._path}; check the path "
                               "(or open it with mode='a' to create it)")
        if mode == "a":
            reason = _read_only_reason(self._path)
            if reason:
                logger.info("catalog %s: %s; using it read-only (writes will raise)", self._path, reason)

    # ------------------------------------------------------------------ basics
    @property
    def path(self) -> Path:
        """Absolute path of the catalog file."""
        return self._path

    @property
    def mode(self) -> str:
        """The mode asked for: "a" or "r" (see :attr:`writable` for whether writes can happen)."""
        return self._mode

    @property
    def writable(self) -> bool:
        """Whether a write can be attempted now: mode "a" and the file and its directory are writable."""
        return not self.read_only_reason()

    def read_only_reason(self) -> str:
        """Why writes to this catalog would fail ('' when it is writable), checked afresh each call."""
        if self._mode != "a":
            return "it was opened read-only (mode='r')"
        return _read_only_reason(self._path)

    @property
    def lock_path(self) -> Path:
        """The lock file writers hold: ``<path>.lock``."""
        return self._path.with_name(self._path.name + ".lock")

    def __repr__(self) -> str:
        return f"Catalog({str(self._path)!r}, mode={self._mode!r})"

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: object) -> bool:
        """Whether an entry is stored for a key or tuple (its points are read and checksum-verified)."""
        return isinstance(key, (str, tuple)) and self.get(key) is not None  # type: ignore[arg-type]

    def header(self) -> dict[str, Any]:
        """Root attributes of the file (empty dict when the file does not exist yet)."""
        with self._open_read() as f:
            if f is None:
                return {}
            try:
                return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
            except Exception as exc:
                raise CatalogError(f"catalog {self._path}: root attributes unreadable ({type(exc).__name__}: "
                                   f"{exc}); the file is damaged") from None

    # ------------------------------------------------------------------ reading
    @contextlib.contextmanager
    def _open_read(self) -> Iterator[Any]:
        """Open the current version read-only (no lock: versions are swapped atomically); None if absent."""
        if not self._path.exists():
            yield None
            return
        # before libhdf5 touches an attribute: a damaged global heap can make it loop forever
        problem = _heap_check(self._path)
        if problem:
            raise CatalogError(f"catalog {self._path}: {problem}; the file is damaged and no entry can be read "
                               "safely; restore it from a copy (or rebuild it)")
        try:
            f = _open_h5(self._path, "r")
        except FileNotFoundError:
            yield None
            return
        except Exception as exc:  # OSError for most damage, but libhdf5/h5py raise others too
            raise CatalogError(f"cannot read {self._path} as an HDF5 catalog ({type(exc).__name__}: {exc}); "
                               "pass the path of a catalog file (a damaged one: restore it from a copy)") from None
        with f:
            ok, reason = fmt.check_header(f.attrs)
            if not ok:
                raise CatalogError(f"{self._path}: {reason}")
            yield f

    @staticmethod
    def _request_key(request: Any, d: Any = None, K: Any = None,
                     params: dict[str, Any] | None = None) -> tuple[str, bool]:
        """(key, canonical) for the accepted request forms (see :meth:`get`).

        A key string is returned as given (syntax-checked); (objective, d, K, params) in either form
        gives the canonical key built from the parameters as the objective normalises them.
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
        obj = _registry().get_objective(objective)
        d = _as_size("d", d, 2)
        K = _as_size("K", K, 1)
        norm = obj.normalise_params(**params)
        obj.validate_size(d, K, norm)
        return make_key(obj.name, norm, d, K), True

    def _locate(self, f, request: Any, d: Any = None, K: Any = None,
                params: dict[str, Any] | None = None) -> tuple[str, Any]:
        """Find the entry group for a request: exact key first, then its canonical form."""
        key, canonical = self._request_key(request, d, K, params)
        group = self._group(f, key)
        if group is None and not canonical:
            alt = canonical_key(key)
            if alt != key:
                key = alt
                group = self._group(f, key)
        if group is None and f is not None:
            self._confirm_miss(f, key)
        return key, group

    def _confirm_miss(self, f, key: str) -> None:
        """Raise CatalogError unless ``key`` is really not stored: a damaged index can make a stored name
        impossible to look up while it is still listed, or hide /entries altogether (checked only on
        misses, so hits cost nothing)."""
        try:
            if fmt.ENTRIES not in f:
                raise CatalogError(self._no_entries())
            node = f[fmt.ENTRIES]
            for part in key.split("/"):
                child = node.get(part)
                if child is None:
                    if part in {_name(n) for n in node}:
                        raise CatalogError(f"entry {key} in {self._path} is listed but cannot be opened (the "
                                           "file's index is damaged); run `spherecodes catalog verify`")
                    return
                node = child
        except CatalogError:
            raise
        except Exception as exc:
            raise CatalogError(f"entry {key} in {self._path} is unreadable ({type(exc).__name__}: {exc}); "
                               "run `spherecodes catalog verify` and remove it") from None

    def _no_entries(self) -> str:
        return (f"catalog {self._path} has no readable /{fmt.ENTRIES} group (every catalog has one): the file is "
                "damaged; restore it from a copy")

    def _group(self, f, key: str) -> Any:
        """The group of ``key`` or None; CatalogError when the path to it cannot be read."""
        if f is None:
            return None
        try:
            return f.get(fmt.entry_path(key))
        except Exception as exc:  # damaged groups on the way raise KeyError, OSError, ...
            raise CatalogError(f"entry {key} in {self._path} is unreadable ({type(exc).__name__}: {exc}); "
                               "run `spherecodes catalog verify` and remove it") from None

    def get(self, key_or_objective: "str | tuple", d: int | None = None, K: int | None = None,
            **params: Any) -> Code | None:
        """The stored code for a request, or None when this catalog has no entry for it.

        Three equivalent forms::

            cat.get("riesz", 3, 12, s=1.0)                 # objective, d, K, **params
            cat.get("riesz[s=1]/d=3/K=12")                 # a key (any spelling the objective normalises)
            cat.get(("riesz", 3, 12, {"s": 1.0}))          # a tuple (objective, d, K[, params])

        Parameters
        ----------
        key_or_objective : str or tuple
            A key, a registered objective name (then ``d`` and ``K`` are required), or a tuple.
        d : int, optional
            Ambient dimension (points on S^{d-1} in R^d), >= 2; only with an objective name.
        K : int, optional
            Number of points, >= 1; only with an objective name.
        **params
            Objective parameters, normalised by the objective (defaults filled in, types coerced),
            so ``get("riesz", 3, 12)`` and ``get("riesz", 3, 12, s=1)`` name the same entry.

        Returns
        -------
        Code or None
            Points bit-identical to what was stored, with the stored scores, provenance and
            certificate (a dict). **None on a miss** (nothing stored under the key); use
            :meth:`near_keys` for suggestions, or :func:`spherecodes.catalog.lookup`, which raises
            :class:`~spherecodes.catalog.LookupMiss` with them.

        Raises
        ------
        InvalidParameterError
            A malformed key, an unknown objective (UnknownNameError, listing the valid ones), invalid
            parameters, d or K.
        CatalogError
            The entry exists but its points fail the SHA-256 check or cannot be read (damaged data is
            never returned; :func:`spherecodes.catalog.lookup` skips such entries with a warning).
        """
        with self._open_read() as f:
            if f is None:
                # a malformed request is an error even on an empty catalog
                self._request_key(key_or_objective, d, K, params)
                return None
            key, group = self._locate(f, key_or_objective, d, K, params)
            if group is None:
                return None
            return self._code_from_group(group, key)

    def near_keys(self, key: "str | tuple", n: int = MAX_SUGGESTIONS) -> list[str]:
        """Stored keys nearest to ``key`` (which need not be stored, nor well formed), nearest first.

        See :func:`nearest_keys` for the distance. Unreadable files give an empty list (suggestions
        must never turn an error message into a different error).
        """
        if not isinstance(key, str):
            try:
                key = self._request_key(key)[0]
            except InvalidParameterError:
                return []
        try:
            return nearest_keys(key, self.keys(), n)
        except CatalogError:
            return []

    def _code_from_group(self, group, key: str) -> Code:
        try:
            points = np.array(group[fmt.POINTS][()], dtype=np.float64)
            attrs = _read_attrs(group)
            meta_problem = _meta_problem(attrs)
            stored_sha = _attr_str(attrs, "sha256")
        except Exception as exc:  # any damage to the entry's metadata or data
            raise CatalogError(f"entry {key} in {self._path} is unreadable ({type(exc).__name__}: {exc}); "
                               "run `spherecodes catalog verify` and remove it") from None
        if fmt.points_sha256(points) != stored_sha:
            raise CatalogError(f"entry {key} in {self._path} is corrupted (SHA-256 of its points does not match); "
                               "run `spherecodes catalog verify` and remove or re-store it")
        if meta_problem is not None:
            raise CatalogError(f"entry {key} in {self._path} is corrupted ({meta_problem}); "
                               "run `spherecodes catalog verify` and remove or re-store it")
        try:  # (entries without meta_sha256 can still hold damaged JSON or values Code refuses)
            objective = _attr_str(attrs, "objective")
            params = json.loads(_attr_str(attrs, "params"))
            scores = fmt.loads_scores(_attr_str(attrs, "scores"))
            provenance = json.loads(_attr_str(attrs, "provenance")) if "provenance" in attrs else {}
            certificate = json.loads(_attr_str(attrs, "certificate")) if "certificate" in attrs else None
            points = np.ascontiguousarray(points)
            points.setflags(write=False)
            return Code(points=points, objective=objective, params=params, scores=scores,
                        provenance=provenance, certificate=certificate)
        except Exception as exc:
            raise CatalogError(f"entry {key} in {self._path} is unreadable ({type(exc).__name__}: {exc}); "
                               "run `spherecodes catalog verify` and remove it") from None

    def _walk(self, f) -> Iterator[tuple[str, Any, str | None]]:
        """Yield (key, group or None, problem or None) for every entry under /entries.

        Keys are built from group names (objective[params] / d=.. / K=..), so listing needs
        no attribute reads; a group that cannot be listed is reported with its path.
        """
        if f is None:
            return
        try:
            if fmt.ENTRIES not in f:  # (an empty catalog still has the group): a damaged root group
                raise CatalogError(self._no_entries())
            top = f[fmt.ENTRIES]
            # h5py gives bytes for names that are not UTF-8: sort as text, open by the raw name
            first = sorted(list(top), key=_name)
        except CatalogError:
            raise
        except Exception as exc:  # nothing below /entries can be found: a file-level problem
            raise CatalogError(f"catalog {self._path}: the list of entries is unreadable ({type(exc).__name__}: "
                               f"{exc}); the file is damaged") from None
        for a in first:
            try:
                ga = top[a]
                d_names = list(ga)
            except Exception as exc:
                yield _name(a), None, f"group {_name(a)} unreadable ({type(exc).__name__}: {exc})"
                continue
            for b in d_names:
                try:
                    gb = ga[b]
                    k_names = list(gb)
                except Exception as exc:
                    yield f"{_name(a)}/{_name(b)}", None, f"group unreadable ({type(exc).__name__}: {exc})"
                    continue
                for c in k_names:
                    key = f"{_name(a)}/{_name(b)}/{_name(c)}"
                    if any(isinstance(n, bytes) for n in (a, b, c)):
                        yield key, None, "group name is not valid UTF-8 (the file is damaged)"
                        continue
                    try:
                        group = gb[c]
                    except Exception as exc:
                        yield key, None, f"group unreadable ({type(exc).__name__}: {exc})"
                        continue
                    yield key, group, None

    @staticmethod
    def _sort_key(key: str) -> tuple:
        try:
            objective, _, d, K = parse_key(key)
            return (key.split("/")[0], d, K)
        except InvalidParameterError:
            return (key, 0, 0)

    def keys(self) -> list[str]:
        """All stored keys (from group names; unreadable entries included), sorted by objective, d, K."""
        with self._open_read() as f:
            return sorted((k for k, _, _ in self._walk(f)), key=self._sort_key)

    def list(self, objective: str | None = None, d: int | None = None, K: int | None = None,
             pattern: str | None = None) -> list[EntryInfo]:
        """Entries matching all the given filters, sorted by objective/params, d, K.

        Parameters
        ----------
        objective : str, optional
            Objective name.
        d, K : int, optional
            Ambient dimension and number of points.
        pattern : str, optional
            Shell-style pattern on the key (:func:`fnmatch.fnmatchcase`), e.g. ``"riesz[*s=1]*"``.

        Entries whose metadata cannot be read are left out (with a log warning); ``verify`` reports them.
        """
        out: list[EntryInfo] = []
        with self._open_read() as f:
            for key, group, problem in self._walk(f):
                try:
                    k_obj, _, k_d, k_K = parse_key(key)
                except InvalidParameterError:
                    k_obj, k_d, k_K = None, None, None
                if objective is not None and k_obj != objective:
                    continue
                if d is not None and k_d != int(d):
                    continue
                if K is not None and k_K != int(K):
                    continue
                if pattern is not None and not fnmatch.fnmatchcase(key, pattern):
                    continue
                if problem is not None:
                    logger.warning("catalog %s: skipping %s: %s", self._path, key, problem)
                    continue
                try:
                    out.append(self._info(group, key))
                except Exception as exc:
                    logger.warning("catalog %s: skipping unreadable entry %s (%s)", self._path, key, exc)
        out.sort(key=lambda e: self._sort_key(e.key))
        return out

    def _info(self, group, key: str) -> EntryInfo:
        """EntryInfo of one entry; CatalogError naming the entry when its metadata is unreadable or damaged."""
        try:
            if fmt.POINTS not in group:
                raise CatalogError(f"entry {key} in {self._path} has no {fmt.POINTS!r} dataset")
            attrs = _read_attrs(group)
            problem = _meta_problem(attrs)
            if problem is not None:
                raise CatalogError(f"entry {key} in {self._path} is corrupted ({problem}); "
                                   "run `spherecodes catalog verify` and remove or re-store it")
            return EntryInfo(
                key=key, objective=_attr_str(attrs, "objective"), params=json.loads(_attr_str(attrs, "params")),
                d=int(attrs["d"]), K=int(attrs["K"]), scores=fmt.loads_scores(_attr_str(attrs, "scores")),
                stored=_attr_str(attrs, "stored"), sha256=_attr_str(attrs, "sha256"), catalog=str(self._path),
                primary=_attr_str(attrs, "primary") if "primary" in attrs else "",
                maximise=bool(attrs["maximise"]) if "maximise" in attrs else False)
        except CatalogError:
            raise
        except Exception as exc:
            raise CatalogError(f"entry {key} in {self._path} is unreadable ({type(exc).__name__}: {exc}); "
                               "run `spherecodes catalog verify` and remove it") from None

    def info(self, key_or_objective: "str | tuple", d: int | None = None, K: int | None = None,
             **params: Any) -> EntryInfo | None:
        """Metadata of one entry without reading its points, or None; requests as in :meth:`get`."""
        with self._open_read() as f:
            key, group = self._locate(f, key_or_objective, d, K, params)
            return None if group is None else self._info(group, key)

    # ------------------------------------------------------------------ verifying
    def verify(self) -> VerifyReport:
        """Check every entry; problems are collected, never raised.

        Per entry: metadata readable and consistent with the key; points readable with shape (K, d);
        SHA-256 of the points matches; all coordinates finite; every row has
        ``| |x| - 1 | <= unit_norm_tolerance(float64)``; scores recomputed by the objective agree with
        the stored ones within ``SCORE_RTOL_FLOAT64`` relative (absolute below 1). Entries of objectives
        that are not registered get a note instead of the score check. A catalog whose file does not
        exist yet (mode "a") is empty: the report has no entries and is ok.
        """
        report = VerifyReport(path=str(self._path))
        norm_tol = unit_norm_tolerance(np.float64)
        try:
            with self._open_read() as f:
                if f is None:  # mode "a" before the first write: an empty catalog, nothing to fail
                    return report
                for key, group, problem in self._walk(f):
                    if problem is not None:
                        report.entries.append(EntryCheck(key, False, (problem,)))
                        continue
                    try:
                        report.entries.append(self._check_entry(group, key, norm_tol))
                    except Exception as exc:  # a check that itself fails on damaged data: the entry fails
                        report.entries.append(EntryCheck(key, False, (
                            f"entry unreadable ({type(exc).__name__}: {exc})",)))
        except CatalogError as exc:
            report.problems.append(str(exc))
        return report

    def _check_entry(self, group, key: str, norm_tol: float) -> EntryCheck:
        problems: list[str] = []
        notes: list[str] = []
        try:
            attrs = _read_attrs(group)
            meta_problem = _meta_problem(attrs)
            objective = _attr_str(attrs, "objective")
            params = json.loads(_attr_str(attrs, "params"))
            d, K = int(attrs["d"]), int(attrs["K"])
            stored_scores = fmt.loads_scores(_attr_str(attrs, "scores"))
            stored_sha = _attr_str(attrs, "sha256")
        except Exception as exc:
            return EntryCheck(key, False, (f"metadata unreadable ({type(exc).__name__}: {exc})",))
        if meta_problem is not None:
            problems.append(meta_problem)
        elif fmt.META_SHA256 not in attrs:
            notes.append(f"{NO_META_CHECKSUM} ({fmt.META_SHA256}): written by an older spherecodes, its "
                         "scores and provenance cannot be checked for damage; remove it and store it again to add one")
        try:
            expected = make_key(objective, params, d, K)
            if expected != key:
                problems.append(f"stored under {key} but its metadata gives key {expected}")
        except Exception as exc:  # InvalidParameterError, or e.g. a TypeError for params that are not a dict
            problems.append(f"metadata does not form a key ({type(exc).__name__}: {exc})")
        try:
            points = np.array(group[fmt.POINTS][()])
        except Exception as exc:
            problems.append(f"points unreadable ({type(exc).__name__}: {exc})")
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
        else:
            obj = reg.get_objective(objective)
            try:
                fresh = {k: float(v) for k, v in obj.score(points, obj.normalise_params(**params)).items()}
            except Exception as exc:
                problems.append(f"scores could not be recomputed ({type(exc).__name__}: {exc})")
                fresh = {}
            if fresh and obj.primary not in stored_scores:
                problems.append(f"stored scores lack the primary score {obj.primary!r}")
            for name, value in fresh.items():
                if name not in stored_scores:
                    notes.append(f"score {name!r} not stored")
                elif not _scores_close(value, stored_scores[name], SCORE_RTOL_FLOAT64):
                    problems.append(f"score {name}: stored {stored_scores[name]!r}, recomputed {value!r} "
                                    f"(differ by more than SCORE_RTOL_FLOAT64 = {SCORE_RTOL_FLOAT64:.2g} relative)")
        return EntryCheck(key, not problems, tuple(problems), tuple(notes))

    # ------------------------------------------------------------------ writing
    def _require_writable(self) -> None:
        """Raise ReadOnlyCatalogError before any work when a write cannot succeed."""
        if self._mode != "a":
            raise ReadOnlyCatalogError(f"catalog {self._path} was opened read-only (mode='r'); "
                                       "open it with mode='a' to write")
        reason = _read_only_reason(self._path)
        if reason:
            raise ReadOnlyCatalogError(
                f"catalog {self._path} is read-only: {reason}; reads still work; to store codes use a "
                "writable catalog (catalog=... / --catalog PATH, or set $SPHERECODES_CATALOG)")

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Hold the writers' lock; any OSError inside (permissions, full disk) becomes a CatalogError."""
        import filelock

        self._require_writable()
        lock = filelock.FileLock(str(self.lock_path), timeout=self._lock_timeout)
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except filelock.Timeout:  # (a subclass of OSError: caught first)
            raise CatalogError(f"catalog {self._path} is locked by another writer (lock file {self.lock_path}, "
                               f"waited {self._lock_timeout:g} s); try again later") from None
        except OSError as exc:
            raise _write_failure(self._path, exc) from None
        try:
            self._remove_stale_temps()
            yield
        except OSError as exc:
            raise _write_failure(self._path, exc) from None
        finally:
            lock.release()

    def _temp_prefix(self) -> str:
        return f".{self._path.name}.tmp-"

    def _remove_stale_temps(self) -> None:
        """Only the lock holder writes temp files, so any found while holding the lock belongs to a
        writer that was killed before its rename: delete it."""
        prefix = self._temp_prefix()
        for p in self._path.parent.glob(prefix + "*"):
            with contextlib.suppress(OSError):
                p.unlink()
                logger.info("removed leftover temporary file %s of an interrupted write", p)

    def _new_temp(self) -> Path:
        return self._path.with_name(f"{self._temp_prefix()}{os.getpid()}-{secrets.token_hex(4)}")

    def _prepare(self, code: Code) -> _Prepared:
        """Validate a code, normalise its params and recompute its scores (outside the lock)."""
        if not isinstance(code, Code):
            raise InvalidParameterError("code", type(code).__name__, "pass a spherecodes.Code")
        reg = _registry()
        obj = reg.get_objective(code.objective)  # unknown name -> UnknownNameError (an InvalidParameterError)
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
        return _Prepared(key, obj, params, points, scores, attrs)

    def put(self, code: Code, *, rtol: float = 0.0) -> PutResult:
        """Store ``code`` unless the stored code for its key is at least as good.

        Parameters
        ----------
        code : Code
            Its objective must be registered; its params are normalised by the objective (which fixes
            the key) and its scores are recomputed with ``objective.score`` on its points: scores
            carried by the code are ignored.
        rtol : float
            Relative margin the new primary score must beat the old one by (``Objective.better``);
            0 means any strict improvement replaces. Ties keep the stored code.

        Returns
        -------
        PutResult

        Raises
        ------
        InvalidParameterError
            Unknown objective, invalid params, non-finite or non-unit points.
        CatalogError
            Read-only catalog, lock timeout, or the file is not a catalog.
        """
        return self.put_many([code], rtol=rtol)[0]

    def put_many(self, codes: Iterable[Code], *, rtol: float = 0.0) -> list[PutResult]:
        """:meth:`put` for several codes in one locked write (one file rewrite for all of them)."""
        self._require_writable()
        prepared = [self._prepare(c) for c in codes]
        if not prepared:
            return []
        with self._write_lock():
            results, writes = self._decide(prepared, rtol)
            if writes:
                self._rewrite(puts=writes, deletes=())
        return results

    def _decide(self, prepared: Sequence[_Prepared], rtol: float) -> tuple[list[PutResult], list[_Prepared]]:
        """Compare each code with what is stored (or written earlier in the same batch)."""
        results: list[PutResult] = []
        pending: dict[str, _Prepared] = {}
        with self._open_read() as f:
            for item in prepared:
                old_scores: dict[str, float] | None = None
                exists = False
                if item.key in pending:
                    exists, old_scores = True, pending[item.key].scores
                elif self._exists(f, item.key):
                    exists = True
                    try:
                        old = self._code_from_group(self._group(f, item.key), item.key)
                        old_scores = {k: float(v) for k, v in item.objective.score(
                            np.asarray(old.points), item.params).items()}
                    except CatalogError as exc:
                        logger.warning("replacing unreadable entry: %s", exc)
                if not exists:
                    action = "stored"
                elif old_scores is None or item.objective.better(item.scores, old_scores, rtol=rtol):
                    action = "replaced"
                else:
                    action = "kept"
                if action != "kept":
                    pending[item.key] = item
                results.append(PutResult(action, item.key, old_scores, dict(item.scores)))
        return results, list(pending.values())

    @staticmethod
    def _exists(f, key: str) -> bool:
        """Whether the file has a group for ``key`` (damage on the way counts as present: replace it)."""
        if f is None:
            return False
        try:
            return fmt.entry_path(key) in f
        except Exception:
            return True

    def remove(self, request: "str | tuple") -> bool:
        """Delete an entry; returns False when there was none. Works on unreadable entries too."""
        self._require_writable()
        with self._write_lock():
            with self._open_read() as f:
                if f is None:
                    return False
                key, group = self._locate(f, request)
                if group is None:
                    return False
            self._rewrite(puts=(), deletes=(key,))
        return True

    def compact(self) -> None:
        """Rewrite the file without the space left by replaced and removed entries."""
        self._require_writable()
        with self._write_lock():
            if self._path.exists():
                self._rewrite(puts=(), deletes=(), force_compact=True)

    def _rewrite(self, *, puts: Sequence[_Prepared], deletes: Sequence[str], force_compact: bool = False) -> None:
        """Write the next version of the file next to it and swap it in atomically (caller holds the lock)."""
        tmp = self._new_temp()
        extra: list[Path] = [tmp]
        try:
            if self._path.exists():
                problem = _heap_check(self._path)  # (compact reaches here without _open_read's check)
                if problem:
                    raise CatalogError(f"catalog {self._path}: {problem}; the file is damaged and cannot be "
                                       "rewritten; restore it from a copy (or rebuild it)")
                shutil.copyfile(self._path, tmp)
                shutil.copymode(self._path, tmp)
                f = _open_h5(tmp, "r+")
                ok, reason = fmt.check_header(f.attrs)
                if not ok:
                    f.close()
                    raise CatalogError(f"{self._path}: {reason}")
            else:
                f = _open_h5(tmp, "w")
                _write_header(f)
            with f:
                entries = f.require_group(fmt.ENTRIES)
                for key in deletes:
                    self._delete_entry(entries, key)
                for item in puts:
                    self._delete_entry(entries, item.key)
                    group = entries.create_group(item.key)
                    group.create_dataset(fmt.POINTS, data=np.ascontiguousarray(item.points, dtype="<f8"))
                    group.attrs.update(item.attrs)
                    group.attrs["stored"] = fmt.utc_now()
                    # over the values as written and read back, i.e. as every reader will see them
                    group.attrs[fmt.META_SHA256] = fmt.meta_sha256(_read_attrs(group))
                f.attrs["modified"] = fmt.utc_now()
                f.attrs["modified_by"] = fmt.generated_by()
                compacted = int(f.attrs.get("compacted_size", 0))
            size = tmp.stat().st_size
            if force_compact or size > COMPACT_FACTOR * compacted + COMPACT_SLACK:
                packed = self._new_temp()
                extra.append(packed)
                if self._compact_into(tmp, packed):
                    tmp = packed
            _fsync_file(tmp)
            os.replace(tmp, self._path)
            _fsync_dir(self._path.parent)
        finally:
            for p in extra:  # after a successful replace the temp name no longer exists
                with contextlib.suppress(OSError):
                    p.unlink()

    @staticmethod
    def _delete_entry(entries, key: str) -> None:
        """Delete entries/<key> and the parent groups it leaves empty."""
        if key not in entries:
            return
        del entries[key]
        parts = key.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            parent = "/".join(parts[:depth])
            if parent in entries and len(entries[parent]) == 0:
                del entries[parent]
            else:
                break

    @staticmethod
    def _compact_into(src_path: Path, dst_path: Path) -> bool:
        """Copy all entries (HDF5 object copy: data, attributes, layout unchanged) into a fresh file."""
        try:
            with _open_h5(src_path, "r") as src, _open_h5(dst_path, "w") as dst:
                for name, value in src.attrs.items():
                    dst.attrs[name] = value
                if fmt.ENTRIES in src:
                    src.copy(src[fmt.ENTRIES], dst, name=fmt.ENTRIES)
                else:
                    dst.require_group(fmt.ENTRIES)
            with _open_h5(dst_path, "r+") as dst:
                dst.attrs["compacted_size"] = np.int64(dst_path.stat().st_size)
            return True
        except Exception as exc:  # a damaged entry must not block writes: keep the uncompacted file
            logger.warning("could not compact %s (%s); keeping it as is", src_path, exc)
            return False

    # ------------------------------------------------------------------ bulk
    def _read_all(self) -> tuple[list[Code], list[str]]:
        """All readable codes and the keys of the unreadable ones."""
        codes: list[Code] = []
        bad: list[str] = []
        with self._open_read() as f:
            for key, group, problem in self._walk(f):
                if problem is not None:
                    bad.append(key)
                    continue
                try:
                    codes.append(self._code_from_group(group, key))
                except CatalogError as exc:
                    logger.warning("%s", exc)
                    bad.append(key)
        return codes, bad

    def merge(self, other: "Catalog | str | os.PathLike[str]", *, rtol: float = 0.0) -> dict[str, int]:
        """Put every entry of another catalog into this one (keeping the better of each pair).

        Returns
        -------
        dict
            Counts ``{"stored", "replaced", "kept", "skipped"}``; skipped entries are unreadable
            (failed checksum) or belong to objectives that are not registered here.
        """
        self._require_writable()
        src = other if isinstance(other, Catalog) else Catalog(other, "r")
        if src.path == self._path:
            raise InvalidParameterError("other", str(other), "cannot merge a catalog into itself")
        codes, bad = src._read_all()
        return self._put_counted(codes, skipped=len(bad), rtol=rtol)

    def _put_counted(self, codes: Sequence[Code], *, skipped: int, rtol: float) -> dict[str, int]:
        reg = _registry()
        known = [c for c in codes if c.objective in reg.OBJECTIVES]
        for c in codes:
            if c.objective not in reg.OBJECTIVES:
                logger.warning("skipping %s: objective %r is not registered", c.key, c.objective)
        counts = {"stored": 0, "replaced": 0, "kept": 0, "skipped": skipped + len(codes) - len(known)}
        for result in self.put_many(known, rtol=rtol):
            counts[result.action] += 1
        return counts

    def export(self, keys: Iterable["str | tuple"], path: "str | os.PathLike[str]", *,
               overwrite: bool = False) -> Path:
        """Write the given entries (checksums verified) to a new catalog file at ``path``.

        The entries are copied with HDF5 object copy, so points and metadata are unchanged.
        The new file is written to a temporary name and renamed, like every catalog write.
        """
        target = Path(path).expanduser().resolve()
        if target == self._path:
            raise InvalidParameterError("path", str(path), "export to a different file than the catalog itself")
        if target.exists() and not overwrite:
            raise InvalidParameterError("path", str(path),
                                        "the file exists; choose another name or pass overwrite=True")
        wanted = list(keys)
        if not wanted:
            raise InvalidParameterError("keys", [], "name at least one key to export")
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with self._open_read() as f:
                located = [self._locate(f, k) for k in wanted]
                missing_requests = [w for w, (_, g) in zip(wanted, located) if g is None]
                missing = [str(w) for w in missing_requests]
                if missing:
                    near = self.near_keys(missing_requests[0])
                    hint = f"; nearest stored to {missing[0]}: {', '.join(near)}" if near else ""
                    raise InvalidParameterError("keys", ", ".join(missing),
                                                f"not in the catalog{hint}; see `spherecodes catalog list`")
                with _open_h5(tmp, "w") as out:
                    _write_header(out)
                    for key, group in located:
                        self._code_from_group(group, key)  # refuse to spread a corrupted entry
                        if fmt.entry_path(key) not in out:
                            parent = key.rsplit("/", 1)[0]
                            dest = out[fmt.ENTRIES].require_group(parent)
                            f.copy(group, dest, name=key.rsplit("/", 1)[1])
                    out.attrs["compacted_size"] = np.int64(0)
            _fsync_file(tmp)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:  # e.g. the target directory is read-only
            raise _write_failure(target, exc) from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return target

    def import_(self, path: "str | os.PathLike[str]", *, rtol: float = 0.0) -> dict[str, int]:
        """Put the codes of a file into this catalog; returns counts like :meth:`merge`.

        ``path`` is another catalog (``.h5``/``.hdf5``, any HDF5 file with the catalog magic) or a
        ``.npz`` written by :meth:`Code.save` (which carries objective and params).
        """
        p = Path(path).expanduser()
        if not p.exists():
            raise InvalidParameterError("path", str(path), "the file does not exist")
        with open(p, "rb") as fh:
            is_hdf5 = fh.read(8) == b"\x89HDF\r\n\x1a\n"
        if is_hdf5:
            return self.merge(p, rtol=rtol)
        if p.suffix.lower() == ".npz":
            code = Code.load(p)
            if code.objective == "unknown":
                raise InvalidParameterError("path", str(path), "the .npz has no objective metadata; "
                                            "save it with Code.save or store it with Catalog.put")
            return self._put_counted([code], skipped=0, rtol=rtol)
        raise InvalidParameterError("path", str(path), "import a catalog (.h5) or a code saved as .npz by Code.save")


# ----------------------------------------------------------------------------- check / assert
def check_catalog(path: "str | os.PathLike[str]") -> tuple[bool, str]:
    """Verify a catalog file; returns (ok, reason) where reason is the report's one-line summary.

    The checks and their tolerances (``unit_norm_tolerance(float64)``, ``SCORE_RTOL_FLOAT64``) are
    those of :meth:`Catalog.verify`.
    """
    try:
        report = Catalog(path, "r").verify()
    except CatalogError as exc:
        return False, str(exc)
    return report.ok, ("" if report.ok else report.summary())


def assert_catalog(path: "str | os.PathLike[str]") -> None:
    """Raise CatalogError unless :func:`check_catalog` passes."""
    ok, reason = check_catalog(path)
    if not ok:
        raise CatalogError(reason)
