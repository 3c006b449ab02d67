"""`SearchOptions`: the settings of one search, as one value handed from the api (and the CLI, the catalog
build, the distributed solve) down to the solver."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import assert_integer
from ..errors import InvalidParameterError

__all__ = ["SearchOptions", "DEFAULTS"]

#: default search settings (chosen with bench/thomson.py; see the README)
DEFAULTS = {
    "restarts": 16,
    "rounds": 12,
    "patience": 3,
    "parents": 4,
    "max_iter": 2000,
    "polish_iter": 3000,
    "first_gtol": 1e-5,
    "polish_gtol": 1e-11,
}


@dataclass(frozen=True)
class SearchOptions:
    """How to search (not what): every field None means "the default".

    Attributes
    ----------
    restarts : int, optional
        Random starts optimised together (the batch of every round); default ``DEFAULTS["restarts"]``.
    seed : int, optional
        Seed of every random draw; None draws one (recorded in the result).
    rounds : int, optional
        Basin-hopping rounds at most (default ``DEFAULTS["rounds"]``).
    patience : int, optional
        Rounds without improvement before stopping (default ``DEFAULTS["patience"]``).
    max_iter : int, optional
        Iteration limit of the first phase, per stage and restart (default ``DEFAULTS["max_iter"]``).
    time_budget : float, optional
        Seconds for the search.
    device, dtype : optional
        ``"cpu"`` / ``"cuda"`` / ``"auto"``, and the first-phase dtype (the polish is float64).
    tile : int, optional
        Rows per block of the tiled pair evaluations (None: chosen from the free memory).
    init : array (K, d) or (n, K, d), optional
        Starting configuration(s) included in round 0.
    checkpoint : path, optional
        File that keeps the search state; ``resume`` continues the search saved there.
    resume : bool
    progress : callable, optional
        Called with a dict after every round.
    """

    restarts: int | None = None
    seed: int | None = None
    rounds: int | None = None
    patience: int | None = None
    max_iter: int | None = None
    time_budget: float | None = None
    device: Any = None
    dtype: Any = None
    tile: int | None = None
    init: Any = None
    checkpoint: Any = None
    resume: bool = False
    progress: Callable[[dict], None] | None = None

    @classmethod
    def build(cls, options: SearchOptions | None = None, **keywords: Any) -> SearchOptions:
        """``options`` (or the defaults) with the keywords that were given (not None; ``resume`` when True).

        This is how the keyword signatures of ``generate``, ``solve`` and ``solve_distributed`` become one
        options object; an unknown keyword raises listing the valid ones.
        """
        base = cls() if options is None else options
        if not isinstance(base, SearchOptions):
            raise InvalidParameterError("options", type(base).__name__, "pass a SearchOptions or None")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - fields)
        if unknown:
            raise InvalidParameterError(unknown[0], keywords[unknown[0]],
                                        f"search options are: {', '.join(sorted(fields))}")
        given = {k: v for k, v in keywords.items() if v is not None and not (k == "resume" and v is False)}
        return dataclasses.replace(base, **given) if given else base

    def validate(self) -> None:
        """Raise :class:`InvalidParameterError` for any option a search would refuse, without searching.

        :meth:`checked` plus the device and dtype (``"tpu"``, ``"cuda:7"`` without that GPU, ...), so that
        ``generate`` refuses bad options before it reads a catalog and the command line before it draws a
        progress bar.
        """
        from .device import resolve_device, resolve_dtype

        self.checked()
        resolve_dtype(self.dtype, resolve_device(self.device))

    def checked(self) -> SearchOptions:
        """A copy with the integer and time settings validated and the defaults of :data:`DEFAULTS` filled in.

        Raises :class:`InvalidParameterError` naming the bad option.
        """
        def pick(name: str) -> Any:
            value = getattr(self, name)
            return DEFAULTS[name] if value is None else value

        restarts = assert_integer("restarts", pick("restarts"), 1,
                                  "restarts is the number of random starts and must be >= 1")
        rounds = assert_integer("rounds", pick("rounds"), 0, "rounds must be >= 0")
        patience = assert_integer("patience", pick("patience"), 1, "patience must be >= 1")
        max_iter = assert_integer("max_iter", pick("max_iter"), 1, "max_iter must be >= 1")
        budget = self.time_budget
        if budget is not None:
            if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not float(budget) > 0:
                raise InvalidParameterError("time_budget", budget, "pass a positive number of seconds")
            budget = float(budget)
        if self.progress is not None and not callable(self.progress):
            raise InvalidParameterError("progress", self.progress, "pass a function taking one dict, or None")
        if not isinstance(self.resume, (bool, np.bool_)):
            raise InvalidParameterError("resume", self.resume, "pass True or False")
        if self.tile is not None:
            assert_integer("tile", self.tile, 1, "pass a positive number of rows per block", integral_float=False)
        seed = self.seed
        if seed is not None:
            seed = assert_integer("seed", seed, 0, "seed must be a non-negative integer")
            if seed >= 2**63:
                raise InvalidParameterError("seed", seed, "seed must be below 2**63")
        return dataclasses.replace(self, restarts=restarts, rounds=rounds, patience=patience, max_iter=max_iter,
                                   time_budget=budget, resume=bool(self.resume), seed=seed)
