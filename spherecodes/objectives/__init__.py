"""Registry of objectives: one module per objective, one dict that names them all.

>>> from spherecodes.objectives import get_objective, available_objectives
>>> get_objective("riesz").primary
'energy'

The built-in objectives other than ``riesz`` are imported on first use (their modules pull in
torch and scipy), so that listing names or building catalog keys stays fast.
"""

from __future__ import annotations

import importlib

from ..errors import UnknownNameError
from .base import Objective, Param
from .riesz import Riesz

__all__ = ["Objective", "Param", "OBJECTIVES", "get_objective", "available_objectives", "register"]

#: built-in objectives imported on first use: name -> (module, class)
_LAZY_BUILTINS = {
    "tammes": (".tammes", "Tammes"),
    "softmax_code": (".softmax_code", "SoftmaxCode"),
    "mgd": (".mgd", "MGD"),
}


class _Registry(dict):
    """dict name -> Objective whose lazy built-in entries import their module on first access."""

    def __init__(self) -> None:
        super().__init__()
        self._lazy: dict[str, tuple[str, str]] = {}
        self._order: list[str] = []

    def add_lazy(self, name: str, module: str, cls: str) -> None:
        self._lazy[name] = (module, cls)
        self._order.append(name)

    def _load(self, name: str) -> Objective:
        module, cls = self._lazy.pop(name)
        obj = getattr(importlib.import_module(module, __name__), cls)()
        dict.__setitem__(self, name, obj)
        return obj

    def load_all(self) -> None:
        for name in list(self._lazy):
            self._load(name)

    def __missing__(self, name: str) -> Objective:
        if name in self._lazy:
            return self._load(name)
        raise KeyError(name)

    def __setitem__(self, name: str, obj: Objective) -> None:
        self._lazy.pop(name, None)
        if name not in self._order:
            self._order.append(name)
        dict.__setitem__(self, name, obj)

    def __delitem__(self, name: str) -> None:
        if name in self._lazy:
            del self._lazy[name]
        else:
            dict.__delitem__(self, name)
        if name in self._order:
            self._order.remove(name)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self._lazy

    def get(self, name, default=None):
        try:
            return self[name]
        except (KeyError, TypeError):
            return default

    def pop(self, name, *default):
        if name in self._lazy:
            self._load(name)
        if name in self._order:
            self._order.remove(name)
        return dict.pop(self, name, *default)

    def names(self) -> list[str]:
        """Registered names in registration order, without importing anything."""
        return [n for n in self._order if n in self]

    def __iter__(self):
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def keys(self):
        return self.names()

    def values(self):
        self.load_all()
        return [dict.__getitem__(self, n) for n in self.names()]

    def items(self):
        self.load_all()
        return [(n, dict.__getitem__(self, n)) for n in self.names()]


OBJECTIVES: dict[str, Objective] = _Registry()


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
    """Names of all registered objectives, in registration order (imports nothing)."""
    return OBJECTIVES.names()


register(Riesz())
for _name, (_module, _cls) in _LAZY_BUILTINS.items():
    OBJECTIVES.add_lazy(_name, _module, _cls)
