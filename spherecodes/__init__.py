"""spherecodes: compute, check, store and serve point configurations on S^{d-1}.

>>> import spherecodes
>>> code = spherecodes.generate("riesz", d=3, K=12, s=1.0, seed=0)   # doctest: +SKIP
>>> code.scores["energy"]                                             # doctest: +SKIP
49.165253057...
"""

import logging

from ._version import __version__
from .api import construct, generate
from .catalog import Catalog, LookupMiss, lookup
from .code import Code
from .constructions import available_constructions, construct_points
from .errors import InvalidParameterError, SpherecodesError
from .export import assign_classes, save_proxies, to_tensor
from .objectives import available_objectives, get_objective
from .solvers import SolveResult, solve
from .validation import Certificate, certify, one_vs_rest_distances

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "Code",
    "generate",
    "construct",
    "construct_points",
    "available_constructions",
    "available_objectives",
    "get_objective",
    "lookup",
    "Catalog",
    "LookupMiss",
    "to_tensor",
    "save_proxies",
    "assign_classes",
    "certify",
    "Certificate",
    "one_vs_rest_distances",
    "solve",
    "SolveResult",
    "SpherecodesError",
    "InvalidParameterError",
]
