"""The interface every objective implements.

An objective is maths only. It knows

* how to normalise and validate its parameters (``normalise_params``, from its :class:`Param`
  declarations), which fixes the catalog key;
* a batched, differentiable torch ``loss`` on X of shape (B, K, d) returning (B,),
  to **minimise**, whose minimisers are the objective's optima (it may be a monotone
  transform of the objective value, e.g. a log, for numerical range);
* an independent float64 ``score`` on a numpy (K, d) array returning a dict of
  figures, one of which (``primary``) defines which of two codes is better (``better``);
* an estimate of the memory of one loss + gradient evaluation (``memory_bytes``);
* which facts the validation layer knows about it, by declaration (``known_values``,
  ``bound_kinds``, ``first_order``): an objective that declares nothing, such as one a user
  registers, gets "nothing known" answers from ``known_optimum``, ``bounds_for`` and ``certify``.

How to search for its optima (stages, first-round size, polish, basin hopping) is not here: that is
the objective's strategy, :mod:`spherecodes.solvers.strategies`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnknownNameError

__all__ = ["Param", "Objective"]


@dataclass(frozen=True)
class Param:
    """Description of one objective parameter.

    Parameters
    ----------
    name : str
    default : object
    kind : type
        ``float``, ``bool`` or ``str``.
    choices : tuple of str, optional
        Valid values for string parameters.
    check : callable, optional
        ``check(value) -> str | None``: the fix to suggest when the value is invalid.
    help : str
    flag : str, optional
        The command-line spelling when it is not ``--<name>`` (``--name/--no-name`` for booleans),
        e.g. ``"--half-space/--full-space"``.
    """

    name: str
    default: Any
    kind: type
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], "str | None"] | None = None
    help: str = ""
    flag: str | None = None

    @property
    def cli_flag(self) -> str:
        """The option spelling on the command line (``--half-space/--full-space``, ``--eps``, ...)."""
        if self.flag:
            return self.flag
        dashed = self.name.replace("_", "-")
        return f"--{dashed}/--no-{dashed}" if self.kind is bool else f"--{dashed}"

    def coerce(self, value: Any) -> Any:
        """Convert a user value (possibly a CLI string) to the parameter's type, or raise."""
        if self.kind is bool:
            if isinstance(value, (bool, np.bool_)):
                out: Any = bool(value)
            elif isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                out = value.lower() in ("true", "1", "yes")
            else:
                raise InvalidParameterError(self.name, value, "use true or false")
        elif self.kind is float:
            if isinstance(value, bool):
                raise InvalidParameterError(self.name, value, "pass a number")
            try:
                out = float(value)
            except (TypeError, ValueError):
                raise InvalidParameterError(self.name, value, "pass a number") from None
            if not math.isfinite(out):
                raise InvalidParameterError(self.name, value, "pass a finite number")
        else:
            out = str(value)
            if self.choices is not None and out not in self.choices:
                raise InvalidParameterError(self.name, value, f"choose one of: {', '.join(self.choices)}")
        if self.check is not None:
            fix = self.check(out)
            if fix:
                raise InvalidParameterError(self.name, value, fix)
        return out


class Objective:
    """Base class: subclasses set the class attributes and implement the three methods.

    Attributes
    ----------
    name : str
        Registry name.
    params : tuple of Param
    primary : str
        Key of ``score()`` output that defines "better".
    maximise : bool
        Whether a larger primary score is better.
    known_values : str or None
        The family of known optima that applies (:data:`spherecodes.validation.known.KNOWN_FAMILIES`:
        ``"riesz_energy"``, ``"max_cosine"``, ``"one_vs_rest"``, ``"gaussian_logdet"``), read with the
        objective's normalised parameters; None: no known optimum.
    bound_kinds : tuple of str
        Kinds of bound (:data:`spherecodes.validation.bounds.KINDS`) that apply to this objective's scores
        besides the bounds on the max cosine, which hold for every code.
    first_order : str or None
        The first-order optimality condition the certificate checks
        (:data:`spherecodes.validation.certificate.FIRST_ORDER_CONDITIONS`); None: none is checked.
    """

    name: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    primary: str = ""
    maximise: bool = False
    known_values: str | None = None
    bound_kinds: tuple[str, ...] = ()
    first_order: str | None = None

    # ---------------------------------------------------------------- params
    def normalise_params(self, **params: Any) -> dict[str, Any]:
        """Fill defaults, coerce types and validate; unknown names raise listing the valid ones."""
        known = {p.name: p for p in self.params}
        for name in params:
            if name not in known:
                valid = [p.name for p in self.params] or ["(none)"]
                raise UnknownNameError("parameter", name, valid, context=f" of objective {self.name!r}")
        return {p.name: p.coerce(params.get(p.name, p.default)) for p in self.params}

    # ------------------------------------------------------------ evaluation
    def loss(self, X, params: Mapping[str, Any]):  # pragma: no cover - interface
        """Differentiable batched loss, shape (B,), to minimise. X: torch tensor (B, K, d), unit rows."""
        raise NotImplementedError

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:  # pragma: no cover
        """Independent float64 figures of merit for one code (K, d); contains ``self.primary``."""
        raise NotImplementedError

    def validate_size(self, d: int, K: int, params: Mapping[str, Any]) -> None:
        """Raise InvalidParameterError when (d, K) is not a meaningful request for this objective."""

    def memory_bytes(self, B: int, K: int, d: int, itemsize: int) -> int:
        """Estimated peak bytes of one loss + gradient evaluation on (B, K, d) (dense K x K pair terms)."""
        return int(B * (12 * K * K + 40 * K * d) * itemsize)

    def memory_hint(self, B: int, K: int, d: int) -> str:
        """What else lowers :meth:`memory_bytes`, for the message of a refused request ("" when nothing)."""
        if K * K > 40 * K * d:
            return "this objective evaluates all K x K pair terms at once (memory grows as restarts * K^2)"
        return ""

    # ------------------------------------------------------------ comparison
    def better(self, a: Mapping[str, float], b: Mapping[str, float], rtol: float = 0.0) -> bool:
        """True when scores ``a`` are strictly better than scores ``b`` on the primary key.

        ``rtol`` demands a relative margin: a must beat b by more than rtol * |b|.
        NaN is never better; anything beats NaN.
        """
        va, vb = float(a[self.primary]), float(b[self.primary])
        if math.isnan(va):
            return False
        if math.isnan(vb):
            return True
        margin = rtol * abs(vb) if math.isfinite(vb) else 0.0
        return va > vb + margin if self.maximise else va < vb - margin

    def __repr__(self) -> str:
        return f"<objective {self.name}: {'maximise' if self.maximise else 'minimise'} {self.primary}>"
