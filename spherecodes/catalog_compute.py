"""`lookup` with "compute on a miss": the catalog first, then the solver, the result stored.

The catalog (:mod:`spherecodes.catalog`) is storage only and never imports the solvers; this module
sits above it and gives it the solver through :func:`spherecodes.catalog.lookup.set_compute_hook`
when it is imported (importing it is cheap: torch loads only when a code is computed).
``spherecodes.lookup`` is :func:`lookup` here.
"""

from __future__ import annotations

import os
from typing import Any

from .catalog.lookup import lookup as _catalog_lookup
from .catalog.lookup import set_compute_hook
from .catalog.store import Catalog
from .code import Code

__all__ = ["lookup", "compute_uncatalogued"]


def compute_uncatalogued(objective: str, d: int, K: int, params: dict[str, Any]) -> Code:
    """``spherecodes.generate(objective, d, K, catalog=False, **params)``: a code made without reading or
    writing any catalog (the caller stores it).

    Parameters
    ----------
    objective : str
        Registered objective name.
    d : int
        Ambient dimension (points on S^{d-1} in R^d).
    K : int
        Number of points.
    params : dict
        Objective parameters (normalised).
    """
    from .api import generate  # lazy: the solvers import torch

    return generate(objective, d, K, catalog=False, **params)


def lookup(objective: str, d: int, K: int, *, catalog: "Catalog | str | os.PathLike[str] | None" = None,
           compute: bool = False, **params: Any) -> Code:
    """The stored code for (objective, params, d, K); with ``compute=True`` a miss is computed and stored.

    Parameters
    ----------
    objective : str
        Registered objective name (``"riesz"``, ...).
    d : int
        Ambient dimension (points on S^{d-1} in R^d), >= 2.
    K : int
        Number of points, >= 1.
    catalog : Catalog or path, optional
        Catalog searched first (and written by ``compute``) instead of the user's catalog
        (``$SPHERECODES_CATALOG`` or the platform data directory). The built-in catalog is
        always searched after it.
    compute : bool
        On a miss, make the code with ``spherecodes.generate(objective, d, K, catalog=False, **params)``,
        store it in the (user) catalog and return the better of the stored and the new code.
    **params
        Objective parameters (e.g. ``s=1.0``); normalised by the objective, defaults filled in.

    Returns
    -------
    Code

    Raises
    ------
    LookupMiss
        Not stored and ``compute`` is False; the message lists nearby stored keys and the command
        that makes the code.
    InvalidParameterError
        Unknown objective or parameter, or invalid d, K.

    Examples
    --------
    >>> import spherecodes
    >>> spherecodes.lookup("riesz", d=3, K=12).K       # doctest: +SKIP
    12
    """
    return _catalog_lookup(objective, d, K, catalog=catalog, compute=compute, **params)


set_compute_hook(compute_uncatalogued)
