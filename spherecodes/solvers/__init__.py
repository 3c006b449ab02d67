"""Batched Riemannian optimisation on (S^{d-1})^K and the global search around it."""

from .lbfgs import LBFGSOutcome, riemannian_lbfgs
from .result import SolveResult
from .solve import DEFAULTS, solve

__all__ = ["solve", "SolveResult", "riemannian_lbfgs", "LBFGSOutcome", "DEFAULTS"]
