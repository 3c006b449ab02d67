"""spherecodes: compute, check, store and serve point configurations on S^{d-1}.

>>> import spherecodes
>>> code = spherecodes.generate("riesz", d=3, K=12, s=1.0, seed=0)   # doctest: +SKIP
>>> code.scores["energy"]                                             # doctest: +SKIP
49.165253057...

The public names are imported on first use (PEP 562), so that ``import spherecodes`` and the
command line start quickly: torch, numba and cvxpy load only when a solver, kernel or bound runs.
"""

import logging

from ._lazy import lazy_attributes
from ._version import __version__
from .errors import InvalidParameterError, SpherecodesError

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: public name -> module that defines it
_LAZY = {
    "Code": ".code",  # numpy: not needed by ``spherecodes --help``
    "generate": ".api", "construct": ".api",
    "Catalog": ".catalog", "LookupMiss": ".catalog", "lookup": ".catalog_compute",
    "available_constructions": ".constructions", "construct_points": ".constructions",
    "assign_classes": ".export", "save_proxies": ".export", "to_tensor": ".export",
    "available_objectives": ".objectives", "get_objective": ".objectives",
    "SolveResult": ".solvers", "solve": ".solvers",
    "Certificate": ".validation", "certify": ".validation", "one_vs_rest_distances": ".validation",
}

__all__ = ["__version__", "SpherecodesError", "InvalidParameterError", *_LAZY]


#: subpackages and modules reachable as attributes (``spherecodes.validation.certify``), imported on first use
_SUBMODULES = ("api", "catalog", "catalog_build", "catalog_compute", "constructions", "export", "keys", "objectives",
               "plot", "solvers", "training", "validation")

_getattr, __dir__ = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    return _getattr(name)
