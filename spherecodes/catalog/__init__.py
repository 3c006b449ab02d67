"""The catalog: precomputed codes in HDF5 files, looked up by canonical key.

>>> from spherecodes.catalog import Catalog, lookup      # doctest: +SKIP
>>> code = lookup("riesz", d=3, K=12)                     # doctest: +SKIP

See ``docs/catalog.md`` for the file layout (readable with plain h5py) and for
rebuilding the built-in catalog.
"""

from .format import FORMAT_VERSION, MAGIC, points_sha256
from .locations import builtin_catalog_path, user_catalog_path
from .lookup import LookupMiss, default_catalogs, lookup
from .store import (
    Catalog,
    EntryCheck,
    EntryInfo,
    PutResult,
    VerifyReport,
    assert_catalog,
    canonical_key,
    check_catalog,
)

__all__ = [
    "Catalog", "PutResult", "EntryInfo", "EntryCheck", "VerifyReport", "canonical_key",
    "check_catalog", "assert_catalog", "lookup", "LookupMiss", "default_catalogs",
    "user_catalog_path", "builtin_catalog_path", "MAGIC", "FORMAT_VERSION", "points_sha256",
]
