"""Batched Riemannian optimisation on (S^{d-1})^K and the global search around it.

:mod:`~spherecodes.solvers.strategies` says how each objective is searched (stages, polish, basin hopping);
:mod:`~spherecodes.solvers.solve` runs the search; :class:`SearchOptions` carries its settings.
"""

from .lbfgs import LBFGSOutcome, riemannian_lbfgs
from .options import DEFAULTS, SearchOptions
from .result import SolveResult
from .solve import solve
from .steps import Stage, StepResult
from .strategies import Strategy, get_strategy, register_strategy

__all__ = ["solve", "SolveResult", "SearchOptions", "riemannian_lbfgs", "LBFGSOutcome", "DEFAULTS", "Strategy",
           "get_strategy", "register_strategy", "Stage", "StepResult"]
