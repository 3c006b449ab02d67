"""What the procedures of a search exchange: a first-phase :class:`Stage` and the :class:`StepResult` of a
polish, an SLP run or a basin-hopping run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Stage", "StepResult", "batch_reason"]


@dataclass(frozen=True)
class Stage:
    """One phase of the first (fast) optimisation: a loss and optional limits.

    Max-min objectives use several stages (a smooth surrogate with an increasing sharpness); smooth
    objectives use one, their own loss.

    Parameters
    ----------
    label : str
    loss : callable
        (B, K, d) torch tensor -> (B,), differentiable, to minimise.
    max_iter : int, optional
        Iteration limit of this stage (the solver's default when None).
    gtol : float, optional
        Stationarity tolerance of this stage (the solver's default when None).
    """

    label: str
    loss: Callable[[Any], Any]
    max_iter: int | None = None
    gtol: float | None = None


@dataclass
class StepResult:
    """Outcome of one refinement step: a polish of a batch, an SLP run on one code, a basin-hopping run.

    Attributes
    ----------
    points : ndarray (K, d) or torch.Tensor (B, K, d)
        The refined code(s), float64.
    iterations : int
        Optimiser iterations (L-BFGS iterations, LPs solved, ...) summed over the codes.
    evaluations : int
        Objective (or loss) evaluations.
    stop_reason : str
        Why it stopped, in words (for a batch: the reasons of its codes joined by "; ").
    value : float, optional
        The final value the step minimised (e.g. the max cosine of an SLP run), when it has one.
    details : dict
        Step-specific counters (``penalty_probes``, ``improvements``, ``radius``, ...).
    """

    points: Any
    iterations: int = 0
    evaluations: int = 0
    stop_reason: str = ""
    value: float | None = None
    details: dict = field(default_factory=dict)

    def info(self) -> dict:
        """The counters as one flat dict (``iterations``, ``evaluations``, ``stop_reason``, ``value``, details)."""
        out = {"iterations": int(self.iterations), "evaluations": int(self.evaluations),
               "stop_reason": self.stop_reason}
        if self.value is not None:
            out["value"] = self.value
        out.update(self.details)
        return out


def batch_reason(reasons: list[str]) -> str:
    """The distinct stopping reasons of a batch in one line, most frequent first, with their counts."""
    counts: dict[str, int] = {}
    for r in reasons:
        counts[r] = counts.get(r, 0) + 1
    parts = sorted(counts.items(), key=lambda kv: -kv[1])
    return "; ".join(f"{r} ({n}x)" if n > 1 else r for r, n in parts)
