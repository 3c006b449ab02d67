"""The library's own exception types.

Every error raised for bad input names the parameter, the value that was given
and what to do instead, in one line, so that the CLI can show it as is.
"""

from __future__ import annotations

__all__ = [
    "SpherecodesError",
    "InvalidParameterError",
    "UnknownNameError",
    "ResourceError",
    "SolverError",
    "CatalogError",
]


class SpherecodesError(Exception):
    """Base class of every error spherecodes raises on purpose."""


class InvalidParameterError(SpherecodesError, ValueError):
    """A parameter has a value the library cannot use.

    Parameters
    ----------
    param : str
        Name of the parameter, as the user spelled it (``"d"``, ``"K"``, ``"s"``).
    value : object
        The value that was given.
    fix : str
        One short sentence saying what would work instead.
    """

    def __init__(self, param: str, value: object, fix: str):
        self.param = param
        self.value = value
        self.fix = fix
        super().__init__(f"invalid {param}={value!r}: {fix}")


class UnknownNameError(InvalidParameterError, KeyError):
    """A name looked up in a registry does not exist; the message lists the valid ones."""

    def __init__(self, kind: str, name: object, valid: "list[str] | tuple[str, ...]", context: str = ""):
        self.kind = kind
        self.valid = tuple(valid)
        super().__init__(kind, name, f"valid {kind}s{context} are: {', '.join(self.valid)}")
        self.args = (f"unknown {kind} {name!r}{context}: valid {kind}s are: {', '.join(self.valid)}",)

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return self.args[0]


class ResourceError(SpherecodesError, RuntimeError):
    """A request would not fit in memory or asks for a device that is not there."""


class SolverError(SpherecodesError, RuntimeError):
    """A numerical sub-solver (QP, LP, factorisation) failed; the message carries its status."""


class CatalogError(SpherecodesError, RuntimeError):
    """A catalog file is missing, locked, of an unknown format or corrupted."""
