"""`Catalog`: a store of codes in one HDF5 file, keeping the best code per key.

The layout is :mod:`spherecodes.catalog.format` (and ``docs/catalog.md``). This module is the thin
front: reading entries is :mod:`~spherecodes.catalog.entries`, writing (lock, atomic replace,
compaction) :mod:`~spherecodes.catalog.writing`, verification :mod:`~spherecodes.catalog.verify`,
the returned values :mod:`~spherecodes.catalog.results`, and the translation of h5py/libhdf5
errors into :class:`~spherecodes.errors.CatalogError` :mod:`~spherecodes.catalog.hdf5`.

"Better" is decided by the objective on float64 scores that the catalog recomputes
itself with ``objective.score`` on the stored points, never on scores a caller supplies.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..code import Code
from ..errors import CatalogError, InvalidParameterError
from ..keys import parse_key
from . import format as fmt
from .entries import code_from_group, confirm_miss, entry_info, exists, group_of, prepare, walk
from .hdf5 import H5_ERRORS, describe, hdf5_errors, heap_check, open_h5, write_header
from .keys import MAX_SUGGESTIONS, _registry, as_size, canonical_key, nearest_keys, request_key
from .results import NO_META_CHECKSUM, EntryCheck, EntryInfo, PutResult, VerifyReport
from .verify import verify_file
from .writing import (
    DEFAULT_LOCK_TIMEOUT,
    PreparedEntry,
    ReadOnlyCatalogError,
    atomic_new_file,
    lock_path,
    read_only_reason,
    rewrite,
    write_lock,
)

__all__ = [
    "Catalog", "PutResult", "EntryInfo", "EntryCheck", "VerifyReport", "ReadOnlyCatalogError",
    "canonical_key", "nearest_keys", "check_catalog", "assert_catalog", "NO_META_CHECKSUM", "as_size",
]

logger = logging.getLogger(__name__)


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
            reason = read_only_reason(self._path)
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
        return read_only_reason(self._path)

    @property
    def lock_path(self) -> Path:
        """The lock file writers hold: ``<path>.lock``."""
        return lock_path(self._path)

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
            with hdf5_errors(f"catalog {self._path}: root attributes unreadable", "; the file is damaged"):
                return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}

    # ------------------------------------------------------------------ reading
    @contextlib.contextmanager
    def _open_read(self) -> Iterator[Any]:
        """Open the current version read-only (no lock: versions are swapped atomically); None if absent."""
        if not self._path.exists():
            yield None
            return
        # before libhdf5 touches an attribute: a damaged global heap can make it loop forever
        problem = heap_check(self._path)
        if problem:
            raise CatalogError(f"catalog {self._path}: {problem}; the file is damaged and no entry can be read "
                               "safely; restore it from a copy (or rebuild it)")
        try:
            f = open_h5(self._path, "r")
        except FileNotFoundError:
            yield None
            return
        except H5_ERRORS as exc:
            raise CatalogError(f"cannot read {self._path} as an HDF5 catalog ({describe(exc)}); "
                               "pass the path of a catalog file (a damaged one: restore it from a copy)") from None
        with f:
            ok, reason = fmt.check_header(f.attrs)
            if not ok:
                raise CatalogError(f"{self._path}: {reason}")
            yield f

    def _locate(self, f, request: Any, d: Any = None, K: Any = None,
                params: dict[str, Any] | None = None) -> tuple[str, Any]:
        """Find the entry group for a request: exact key first, then its canonical form."""
        key, canonical = request_key(request, d, K, params)
        group = group_of(f, key, self._path)
        if group is None and not canonical:
            alt = canonical_key(key)
            if alt != key:
                key = alt
                group = group_of(f, key, self._path)
        if group is None and f is not None:
            confirm_miss(f, key, self._path)
        return key, group

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
                request_key(key_or_objective, d, K, params)
                return None
            key, group = self._locate(f, key_or_objective, d, K, params)
            if group is None:
                return None
            return code_from_group(group, key, self._path)

    def near_keys(self, key: "str | tuple", n: int = MAX_SUGGESTIONS) -> list[str]:
        """Stored keys nearest to ``key`` (which need not be stored, nor well formed), nearest first.

        See :func:`~spherecodes.catalog.keys.nearest_keys` for the distance. Unreadable files give an empty
        list (suggestions must never turn an error message into a different error).
        """
        if not isinstance(key, str):
            try:
                key = request_key(key)[0]
            except InvalidParameterError:
                return []
        try:
            return nearest_keys(key, self.keys(), n)
        except CatalogError:
            return []

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
            return sorted((k for k, _, _ in walk(f, self._path)), key=self._sort_key)

    def list(self, objective: str | None = None, d: int | None = None, K: int | None = None,
             pattern: str | None = None) -> list[EntryInfo]:
        """Entries matching all the given filters, sorted by objective/params, d, K.

        Entries whose metadata cannot be read are left out (with a log warning); ``verify`` reports them.

        Parameters
        ----------
        objective : str, optional
            Objective name.
        d, K : int, optional
            Ambient dimension and number of points.
        pattern : str, optional
            Shell-style pattern on the key (:func:`fnmatch.fnmatchcase`), e.g. ``"riesz[*s=1]*"``.

        Returns
        -------
        list of EntryInfo
        """
        out: list[EntryInfo] = []
        with self._open_read() as f:
            for key, group, problem in walk(f, self._path):
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
                    out.append(entry_info(group, key, self._path))
                except CatalogError as exc:
                    logger.warning("catalog %s: skipping unreadable entry %s (%s)", self._path, key, exc)
        out.sort(key=lambda e: self._sort_key(e.key))
        return out

    def info(self, key_or_objective: "str | tuple", d: int | None = None, K: int | None = None,
             **params: Any) -> EntryInfo | None:
        """Metadata of one entry without reading its points, or None; requests as in :meth:`get`."""
        with self._open_read() as f:
            key, group = self._locate(f, key_or_objective, d, K, params)
            return None if group is None else entry_info(group, key, self._path)

    # ------------------------------------------------------------------ verifying
    def verify(self) -> VerifyReport:
        """Check every entry; problems are collected, never raised (the checks: :mod:`spherecodes.catalog.verify`).

        A catalog whose file does not exist yet (mode "a") is empty: the report has no entries and is ok.
        """
        try:
            with self._open_read() as f:
                return verify_file(f, self._path)
        except CatalogError as exc:
            return VerifyReport(path=str(self._path), problems=[str(exc)])

    # ------------------------------------------------------------------ writing
    def _require_writable(self) -> None:
        """Raise ReadOnlyCatalogError before any work when a write cannot succeed."""
        if self._mode != "a":
            raise ReadOnlyCatalogError(f"catalog {self._path} was opened read-only (mode='r'); "
                                       "open it with mode='a' to write")
        reason = read_only_reason(self._path)
        if reason:
            raise ReadOnlyCatalogError(
                f"catalog {self._path} is read-only: {reason}; reads still work; to store codes use a "
                "writable catalog (catalog=... / --catalog PATH, or set $SPHERECODES_CATALOG)")

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self._require_writable()
        with write_lock(self._path, self._lock_timeout):
            yield

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
        return self.put_many([code], rtol=rtol)[0]

    def put_many(self, codes: Iterable[Code], *, rtol: float = 0.0) -> list[PutResult]:
        """:meth:`put` for several codes in one locked write (one file rewrite for all of them)."""
        self._require_writable()
        prepared = [prepare(c) for c in codes]  # outside the lock: scoring can take a while
        if not prepared:
            return []
        with self._write_lock():
            results, writes = self._decide(prepared, rtol)
            if writes:
                rewrite(self._path, puts=writes, deletes=())
        return results

    def _decide(self, prepared: Sequence[PreparedEntry], rtol: float) -> tuple[list[PutResult], list[PreparedEntry]]:
        """Compare each code with what is stored (or written earlier in the same batch)."""
        results: list[PutResult] = []
        pending: dict[str, PreparedEntry] = {}
        with self._open_read() as f:
            for item in prepared:
                old_scores: dict[str, float] | None = None
                present = False
                if item.key in pending:
                    present, old_scores = True, pending[item.key].scores
                elif exists(f, item.key):
                    present = True
                    try:
                        old = code_from_group(group_of(f, item.key, self._path), item.key, self._path)
                        old_scores = {k: float(v) for k, v in item.objective.score(
                            np.asarray(old.points), item.params).items()}
                    except CatalogError as exc:
                        logger.warning("replacing unreadable entry: %s", exc)
                if not present:
                    action = "stored"
                elif old_scores is None or item.objective.better(item.scores, old_scores, rtol=rtol):
                    action = "replaced"
                else:
                    action = "kept"
                if action != "kept":
                    pending[item.key] = item
                results.append(PutResult(action, item.key, old_scores, dict(item.scores)))
        return results, list(pending.values())

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
            rewrite(self._path, puts=(), deletes=(key,))
        return True

    def compact(self) -> None:
        """Rewrite the file without the space left by replaced and removed entries."""
        self._require_writable()
        with self._write_lock():
            if self._path.exists():
                rewrite(self._path, puts=(), deletes=(), force_compact=True)

    # ------------------------------------------------------------------ bulk
    def _read_all(self) -> tuple[list[Code], list[str]]:
        """All readable codes and the keys of the unreadable ones."""
        codes: list[Code] = []
        bad: list[str] = []
        with self._open_read() as f:
            for key, group, problem in walk(f, self._path):
                if problem is not None:
                    bad.append(key)
                    continue
                try:
                    codes.append(code_from_group(group, key, self._path))
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
        with atomic_new_file(target) as tmp, self._open_read() as f:
            located = [self._locate(f, k) for k in wanted]
            missing_requests = [w for w, (_, g) in zip(wanted, located) if g is None]
            missing = [str(w) for w in missing_requests]
            if missing:
                near = self.near_keys(missing_requests[0])
                hint = f"; nearest stored to {missing[0]}: {', '.join(near)}" if near else ""
                raise InvalidParameterError("keys", ", ".join(missing),
                                            f"not in the catalog{hint}; see `spherecodes catalog list`")
            with open_h5(tmp, "w") as out:
                write_header(out)
                for key, group in located:
                    code_from_group(group, key, self._path)  # refuse to spread a corrupted entry
                    if fmt.entry_path(key) not in out:
                        parent = key.rsplit("/", 1)[0]
                        dest = out[fmt.ENTRIES].require_group(parent)
                        f.copy(group, dest, name=key.rsplit("/", 1)[1])
                out.attrs["compacted_size"] = np.int64(0)
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
