"""`lookup` with "compute on a miss": the catalog first, then the solver, the result stored.

The catalog (:mod:`spherecodes.catalog`) is storage only and never imports the solvers; this module
sits above it and gives it the solver through :func:`spherecodes.catalog.lookup.set_compute_hook`
when it is imported (importing it is cheap: torch loads only when a code is computed).
``lookup`` here is :func:`spherecodes.catalog.lookup.lookup` with that hook in place: the
``spherecodes.lookup`` users call.
"""

from __future__ import annotations

from typing import Any

from .catalog.lookup import lookup, set_compute_hook
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


# installed at import: whoever imports this module (the api does) gets lookup(compute=True) working
set_compute_hook(compute_uncatalogued)
