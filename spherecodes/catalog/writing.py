"""How a catalog file is changed: writers' lock, atomic replace, compaction, read-only detection.

Readers open the file read-only and take no lock. Every write runs under an exclusive lock file
``<path>.lock`` (:mod:`filelock`) and never modifies the catalog file in place: the current file is
copied to a temporary file in the same directory, the change is applied there, the temporary file is
flushed with ``fsync`` and atomically renamed over the catalog with :func:`os.replace` (then the
directory is ``fsync``-ed). A process killed at any moment therefore leaves either the old or the new
version of the whole file, never a mix; the lock makes concurrent writers take turns, each starting
from the previous one's result, so no entry is lost. A reader that opened the old version keeps
reading it consistently.

Because HDF5 does not give back space freed by deleting objects, the file is rewritten compactly
(HDF5 object copy of all entries into a fresh file) whenever it has grown to more than
``COMPACT_FACTOR`` times its size after the last compaction (plus ``COMPACT_SLACK`` bytes).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _fileio
from ..errors import CatalogError
from . import format as fmt
from .hdf5 import H5_ERRORS, heap_check, open_h5, read_attrs, write_header

__all__ = ["ReadOnlyCatalogError", "PreparedEntry", "read_only_reason", "write_failure", "write_lock",
           "rewrite", "atomic_new_file", "DEFAULT_LOCK_TIMEOUT", "COMPACT_FACTOR", "COMPACT_SLACK"]

logger = logging.getLogger(__name__)

#: How long a writer waits for another writer's lock before giving up, in seconds.
DEFAULT_LOCK_TIMEOUT = 300.0
#: Rewrite the file compactly when its size exceeds ``COMPACT_FACTOR * size_after_last_compaction + COMPACT_SLACK``.
COMPACT_FACTOR = 2.0
COMPACT_SLACK = 1 << 20
#: errno values that mean "this path cannot be written" (permissions, read-only file system).
_READ_ONLY_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


class ReadOnlyCatalogError(CatalogError):
    """A write to a catalog that cannot be written: opened with mode "r", or its file or directory is
    read-only (permissions, read-only file system). Reads of the same catalog keep working."""


@dataclass
class PreparedEntry:
    """A code checked and scored, ready to be written: its key, (K, d) float64 points and entry attributes.

    ``objective`` and ``params`` (normalised) are kept to compare it with the stored code.
    """

    key: str
    objective: Any
    params: dict[str, Any]
    points: np.ndarray
    scores: dict[str, float]
    attrs: dict[str, Any]


# ----------------------------------------------------------------------------- read-only detection
def read_only_reason(path: Path) -> str:
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


def write_failure(path: Path, exc: OSError) -> CatalogError:
    """The CatalogError for an OSError met while writing ``path`` (never leak a raw OSError)."""
    detail = f"{type(exc).__name__}: {exc}"
    if _is_read_only_error(exc):
        return ReadOnlyCatalogError(
            f"catalog {path} is read-only ({detail}); reads still work; to store codes use a writable "
            "catalog (catalog=... / --catalog PATH, or set $SPHERECODES_CATALOG)")
    return CatalogError(f"writing catalog {path} failed ({detail}); the catalog file is unchanged")


# ----------------------------------------------------------------------------- lock
def lock_path(path: Path) -> Path:
    """The lock file writers of ``path`` hold: ``<path>.lock``."""
    return path.with_name(path.name + ".lock")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def new_temp(path: Path) -> Path:
    """A fresh temporary name next to ``path`` (same directory, so the final rename is atomic)."""
    return path.with_name(f"{_temp_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}")


def _remove_stale_temps(path: Path) -> None:
    """Only the lock holder writes temp files, so any found while holding the lock belongs to a
    writer that was killed before its rename: delete it."""
    for p in path.parent.glob(_temp_prefix(path) + "*"):
        with contextlib.suppress(OSError):
            p.unlink()
            logger.info("removed leftover temporary file %s of an interrupted write", p)


@contextlib.contextmanager
def write_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold the writers' lock of ``path``; any OSError inside (permissions, full disk) becomes a CatalogError.

    Raises
    ------
    CatalogError
        Another writer held the lock for ``timeout`` seconds, or a write failed
        (:class:`ReadOnlyCatalogError` for permissions and read-only file systems).
    """
    import filelock

    lock = filelock.FileLock(str(lock_path(path)), timeout=timeout)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except filelock.Timeout:  # (a subclass of OSError: caught first)
        raise CatalogError(f"catalog {path} is locked by another writer (lock file {lock_path(path)}, "
                           f"waited {timeout:g} s); try again later") from None
    except OSError as exc:
        raise write_failure(path, exc) from None
    try:
        _remove_stale_temps(path)
        yield
    except OSError as exc:
        raise write_failure(path, exc) from None
    finally:
        lock.release()


# ----------------------------------------------------------------------------- atomic rewrite
def rewrite(path: Path, *, puts: Sequence[PreparedEntry], deletes: Sequence[str], force_compact: bool = False) -> None:
    """Write the next version of the catalog at ``path`` next to it and swap it in atomically.

    The caller holds :func:`write_lock`. Entries in ``deletes`` are removed, then each of ``puts`` is
    written (replacing an entry of the same key); the file is compacted when it has grown enough (or
    ``force_compact``).
    """
    tmp = new_temp(path)
    extra: list[Path] = [tmp]
    try:
        if path.exists():
            problem = heap_check(path)  # (compact reaches here without a read's check)
            if problem:
                raise CatalogError(f"catalog {path}: {problem}; the file is damaged and cannot be "
                                   "rewritten; restore it from a copy (or rebuild it)")
            shutil.copyfile(path, tmp)
            shutil.copymode(path, tmp)
            f = open_h5(tmp, "r+")
            ok, reason = fmt.check_header(f.attrs)
            if not ok:
                f.close()
                raise CatalogError(f"{path}: {reason}")
        else:
            f = open_h5(tmp, "w")
            write_header(f)
        with f:
            entries = f.require_group(fmt.ENTRIES)
            for key in deletes:
                _delete_entry(entries, key)
            for item in puts:
                _delete_entry(entries, item.key)
                group = entries.create_group(item.key)
                group.create_dataset(fmt.POINTS, data=np.ascontiguousarray(item.points, dtype="<f8"))
                group.attrs.update(item.attrs)
                group.attrs["stored"] = fmt.utc_now()
                # over the values as written and read back, i.e. as every reader will see them
                group.attrs[fmt.META_SHA256] = fmt.meta_sha256(read_attrs(group))
            f.attrs["modified"] = fmt.utc_now()
            f.attrs["modified_by"] = fmt.generated_by()
            compacted = int(f.attrs.get("compacted_size", 0))
        size = tmp.stat().st_size
        if force_compact or size > COMPACT_FACTOR * compacted + COMPACT_SLACK:
            packed = new_temp(path)
            extra.append(packed)
            if _compact_into(tmp, packed):
                tmp = packed
        _fileio.fsync_file(tmp)
        os.replace(tmp, path)
        _fileio.fsync_dir(path.parent)
    finally:
        for p in extra:  # after a successful replace the temp name no longer exists
            with contextlib.suppress(OSError):
                p.unlink()


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


def _compact_into(src_path: Path, dst_path: Path) -> bool:
    """Copy all entries (HDF5 object copy: data, attributes, layout unchanged) into a fresh file."""
    try:
        with open_h5(src_path, "r") as src, open_h5(dst_path, "w") as dst:
            for name, value in src.attrs.items():
                dst.attrs[name] = value
            if fmt.ENTRIES in src:
                src.copy(src[fmt.ENTRIES], dst, name=fmt.ENTRIES)
            else:
                dst.require_group(fmt.ENTRIES)
        with open_h5(dst_path, "r+") as dst:
            dst.attrs["compacted_size"] = np.int64(dst_path.stat().st_size)
        return True
    except H5_ERRORS as exc:  # a damaged entry must not block writes: keep the uncompacted file
        logger.warning("could not compact %s (%s); keeping it as is", src_path, exc)
        return False


@contextlib.contextmanager
def atomic_new_file(target: Path) -> Iterator[Path]:
    """A temporary path to write a new catalog file to; renamed to ``target`` (fsync-ed) when the block ends.

    The rename happens only when the block succeeds; the temporary file is removed in every case.

    Raises
    ------
    CatalogError
        For an OSError while writing (e.g. a read-only target directory).
    """
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        _fileio.fsync_file(tmp)
        os.replace(tmp, target)
        _fileio.fsync_dir(target.parent)
    except OSError as exc:
        raise write_failure(target, exc) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
