"""A module imported on first attribute access, for modules that must stay cheap to import.

The objectives other than riesz are loaded whenever their name is used, e.g. to build the catalog
key of ``spherecodes lookup tammes ...``; that should not cost the ~1 s of importing torch, scipy's
optimisers and numba kernels, which only a solve or a score needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "lazy_attributes"]


class LazyModule:
    """Stand-in for ``import name``: the module is imported when an attribute is first read.

    Nothing is put in ``sys.modules`` until then, and the real module is what every attribute comes from.
    """

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_attributes(package: str, names: dict[str, str],
                    namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 ``__getattr__`` and ``__dir__`` for a package whose public names load on first use.

    ``names`` maps a public name to the (relative) submodule that defines it; ``namespace`` is the
    package's ``globals()``, where a loaded name is cached so that later accesses skip the hook.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name], package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
