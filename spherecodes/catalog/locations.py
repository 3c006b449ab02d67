"""Where catalogs live: the user's catalog (writable) and the built-in one shipped with the package.

* user catalog: ``$SPHERECODES_CATALOG`` when set (and non-empty), otherwise
  ``platformdirs.user_data_dir("spherecodes")/catalog.h5`` (e.g. ``~/.local/share/spherecodes/catalog.h5``
  on Linux);
* built-in catalog: ``spherecodes/data/builtin_catalog.h5`` inside the installed package, read-only;
  it may be absent (a source checkout before ``scripts/build_builtin_catalog.py`` ran): lookups skip it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "user_catalog_path", "builtin_catalog_path", "builtin_catalog_exists"]

#: Environment variable that overrides the user catalog path.
ENV_VAR = "SPHERECODES_CATALOG"
#: File name of the built-in catalog inside ``spherecodes/data``.
BUILTIN_NAME = "builtin_catalog.h5"


def user_catalog_path() -> Path:
    """Path of the user's catalog file (it need not exist yet).

    ``$SPHERECODES_CATALOG`` wins when set to a non-empty value (``~`` is expanded);
    otherwise ``platformdirs.user_data_dir("spherecodes") / "catalog.h5"``.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("spherecodes")) / "catalog.h5"


#: environment variable that points lookups at another built-in catalog (tests, development builds)
BUILTIN_ENV_VAR = "SPHERECODES_BUILTIN_CATALOG"


def builtin_catalog_path() -> Path:
    """Path of the built-in catalog shipped as package data (it may not exist).

    ``$SPHERECODES_BUILTIN_CATALOG`` overrides it (used by the tests so that results do not
    depend on what the shipped catalog holds).
    """
    env = os.environ.get(BUILTIN_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent / "data" / BUILTIN_NAME


def builtin_catalog_exists() -> bool:
    """Whether the built-in catalog file is present in this installation."""
    return builtin_catalog_path().is_file()
