"""The catalog: precomputed codes in HDF5 files, looked up by canonical key.

>>> from spherecodes.catalog import Catalog, lookup      # doctest: +SKIP
>>> code = lookup("riesz", d=3, K=12)                     # doctest: +SKIP
>>> Catalog("my.h5").put(code)                            # doctest: +SKIP
'stored'
>>> Catalog("my.h5").get("riesz", 3, 12).K                # doctest: +SKIP
12

See ``docs/catalog.md`` for the file layout (readable with plain h5py) and for
rebuilding the built-in catalog.
"""

from .format import FORMAT_VERSION, MAGIC, points_sha256
from .locations import builtin_catalog_path, user_catalog_path
from .lookup import LookupMiss, default_catalogs, find_stored, lookup, store_code
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
    "default_catalogs", "find_stored", "store_code",
    "user_catalog_path", "builtin_catalog_path", "MAGIC", "FORMAT_VERSION", "points_sha256",
]
