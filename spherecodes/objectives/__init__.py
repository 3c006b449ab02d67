"""Registry of objectives: one module per objective, one dict that names them all.

>>> from spherecodes.objectives import get_objective, available_objectives
>>> get_objective("riesz").primary
'energy'
"""

from __future__ import annotations

from ..errors import UnknownNameError
from .base import Objective, Param
from .riesz import Riesz

__all__ = ["Objective", "Param", "OBJECTIVES", "get_objective", "available_objectives", "register"]

OBJECTIVES: dict[str, Objective] = {}


def register(objective: Objective) -> Objective:
    """Add an objective instance to the registry under its ``name``."""
    OBJECTIVES[objective.name] = objective
    return objective


def get_objective(name: str) -> Objective:
    """The registered objective called ``name``; an unknown name lists the valid ones."""
    try:
        return OBJECTIVES[name]
    except (KeyError, TypeError):
        raise UnknownNameError("objective", name, available_objectives()) from None


def available_objectives() -> list[str]:
    """Names of all registered objectives, in registration order."""
    return list(OBJECTIVES)


register(Riesz())
