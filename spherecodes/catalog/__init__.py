"""The catalog: precomputed codes in HDF5 files, looked up by canonical key.

>>> from spherecodes.catalog import Catalog, lookup      # doctest: +SKIP
>>> code = lookup("riesz", d=3, K=12)                     # doctest: +SKIP
>>> Catalog("my.h5").put(code)                            # doctest: +SKIP
'stored'
>>> Catalog("my.h5").get("riesz", 3, 12).K                # doctest: +SKIP
12

See ``docs/catalog.md`` for the file layout (readable with plain h5py) and for
rebuilding the built-in catalog. The catalog is storage only: it never imports the solvers or the
api. ``lookup(..., compute=True)`` computes through the hook that :mod:`spherecodes.catalog_compute`
installs; ``catalog build`` is :mod:`spherecodes.catalog_build`.

Modules: ``store`` (the `Catalog` front), ``entries`` (reading and preparing entries), ``writing``
(lock, atomic replace, compaction), ``verify``, ``results`` (returned values), ``keys`` (canonical
and nearest keys), ``hdf5`` (raw access; h5py errors to `CatalogError`), ``format`` (the layout),
``locations`` (user and built-in catalog paths), ``lookup`` (user catalog, then built-in).
"""

from .format import FORMAT_VERSION, MAGIC, points_sha256
from .locations import builtin_catalog_path, user_catalog_path
from .lookup import LookupMiss, default_catalogs, find_stored, lookup, set_compute_hook, store_code
from .store import (
    Catalog,
    EntryCheck,
    EntryInfo,
    PutResult,
    ReadOnlyCatalogError,
    VerifyReport,
    assert_catalog,
    canonical_key,
    check_catalog,
    nearest_keys,
)

__all__ = [
    "Catalog", "PutResult", "EntryInfo", "EntryCheck", "VerifyReport", "ReadOnlyCatalogError",
    "canonical_key", "nearest_keys", "check_catalog", "assert_catalog", "lookup", "LookupMiss",
    "default_catalogs", "find_stored", "store_code", "set_compute_hook",
    "user_catalog_path", "builtin_catalog_path", "MAGIC", "FORMAT_VERSION", "points_sha256",
]
