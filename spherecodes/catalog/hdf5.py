"""Raw HDF5 access for the catalog, and the one place where h5py / libhdf5 errors become `CatalogError`.

A damaged file makes h5py and libhdf5 raise many exception types (``OSError`` for most damage, but
also ``KeyError``, ``ValueError``, ``TypeError``, ``RuntimeError``, ...; the JSON and UTF-8 decoders
raise ``ValueError`` subclasses). :func:`hdf5_errors` turns exactly those types into one
:class:`~spherecodes.errors.CatalogError` with a message that names the file or entry and the fix;
a ``CatalogError`` raised inside passes through unchanged, and so does anything else (a bug must not be
reported as a damaged file). ``InvalidParameterError`` is a ``ValueError``: metadata that `Code` refuses is
damage too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CatalogError
from . import format as fmt

__all__ = ["H5_ERRORS", "hdf5_errors", "describe", "open_h5", "read_attrs", "attr_str", "link_name",
           "heap_check", "write_header"]

#: What h5py, libhdf5 and the decoders of our JSON attributes raise on damaged data. ``ArithmeticError``:
#: overflow in a size computed from damaged header fields; ``IndexError``/``AttributeError``: h5py's
#: Python layer meeting objects of an unexpected kind (a dataset where a group should be);
#: ``MemoryError``: a damaged length that makes libhdf5 allocate a huge buffer.
H5_ERRORS: tuple[type[BaseException], ...] = (OSError, KeyError, ValueError, TypeError, RuntimeError,
                                               IndexError, AttributeError, ArithmeticError, MemoryError)


def describe(exc: BaseException) -> str:
    """``"TypeName: message"``: how a caught low-level error is quoted in our messages."""
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def hdf5_errors(what: str, fix: str = "") -> Iterator[None]:
    """Turn the errors of damaged HDF5 data into ``CatalogError(f"{what} ({TypeName}: {message}){fix}")``.

    Parameters
    ----------
    what : str
        What could not be read, e.g. ``"entry riesz[...]/d=3/K=12 in /path/c.h5 is unreadable"``.
    fix : str
        Appended after the quoted error, e.g. ``"; run `spherecodes catalog verify` and remove it"``.

    Raises
    ------
    CatalogError
        For the exception types in :data:`H5_ERRORS`; a CatalogError raised inside passes through as it is.
    """
    try:
        yield
    except CatalogError:
        raise
    except H5_ERRORS as exc:
        raise CatalogError(f"{what} ({describe(exc)}){fix}") from None


def open_h5(path: Path, mode: str):
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


def attr_str(attrs, name: str) -> str:
    """A string attribute as ``str`` (h5py gives ``bytes`` for some)."""
    value = attrs[name]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def read_attrs(group) -> dict[str, Any]:
    """All attributes of an entry group, read once (a damaged header raises; callers turn that into
    CatalogError with :func:`hdf5_errors`). Strings come back as bytes.

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


def link_name(name: Any) -> str:
    """An HDF5 link name as text: h5py gives bytes for a name that is not UTF-8 (a damaged file)."""
    return name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else str(name)


#: Files already checked by :func:`heap_check`: (path, device, inode, size, mtime_ns) -> problem or ''.
#: Every write makes a new file (atomic rename), so a file version is scanned once per process.
_HEAP_CHECKED: dict[tuple, str] = {}
#: Seconds after its last change during which a file is rescanned at every open (timestamps can be
#: as coarse as 2 s, e.g. on FAT).
_RACY_S = 2.0


def heap_check(path: Path) -> str:
    """:func:`format.global_heap_problem` for the current version of ``path``, cached.

    Run before libhdf5 touches an attribute: a damaged global heap can make it loop forever.
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


def write_header(f, *, created: str | None = None) -> None:
    """The root attributes of a new catalog file and its empty ``/entries`` group."""
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
