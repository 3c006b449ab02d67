"""`SolveResult`: what every solver returns (modelled on pymanopt's OptimizerResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SolveResult"]


@dataclass(frozen=True)
class SolveResult:
    """Outcome of a batched solve.

    Attributes
    ----------
    points : ndarray, shape (K, d), float64
        The best configuration found (by the objective's float64 score).
    scores : dict
        Its float64 scores (``objective.score``).
    objective : str
    params : dict
    stop_reason : str
        Why the search stopped, in words.
    restart_scores : ndarray, shape (R,)
        Primary score of every local optimisation run, in the order they ran
        (round 0 = the random restarts, then the perturbation rounds); a distributed solve
        scores its best restart only.
    restarts : int
        Restarts kept in the search's pool (the batch of every perturbation round).
    first_round_starts : int
        Random starts of round 0 (``restarts`` unless the objective draws more,
        :meth:`~spherecodes.solvers.strategies.Strategy.first_round_size`); 0 in results made before it existed.
    rounds : int
        Perturbation (basin-hopping) rounds run after round 0.
    iterations : int
        Total optimiser iterations summed over restarts.
    evaluations : int
        Batched loss/gradient evaluations.
    time_s : float
        Wall time of the solve.
    phase_times : dict
        Seconds per phase (``first_phase``, ``polish``, ``scoring``, ...).
    seed : int
    device : str
    dtype : str
        dtype of the first phase; the polish is always float64.
    history : list of dict
        ``{"round", "time_s", "best"}`` after every round: the convergence curve of the search.
    loss_history : list of float
        Best loss in the batch after each first-phase iteration of round 0.
    solver : str
        Which solver produced it, in words (kept in the code's provenance).
    world_size, rank : int
        Ranks of a distributed solve (:func:`spherecodes.solvers.distributed.solve_distributed`) and this
        process's rank; 1 and 0 otherwise.
    tile : int, optional
        Rows per block of the tiled pair evaluation (distributed solve).
    all_points : ndarray (B, K, d), optional
        Every restart's final points (distributed solve).
    loss : ndarray (B,), optional
        Every restart's final float64 loss (distributed solve).
    best : int, optional
        Index of the best restart in ``all_points`` (distributed solve).
    status : list of str
        Stop reason of every restart (distributed solve; :data:`spherecodes.solvers.lbfgs.STOP_REASONS`).
    """

    points: np.ndarray
    scores: dict
    objective: str
    params: dict
    stop_reason: str
    restart_scores: np.ndarray
    restarts: int
    rounds: int
    iterations: int
    evaluations: int
    time_s: float
    phase_times: dict
    seed: int
    device: str
    dtype: str
    history: list = field(default_factory=list)
    loss_history: list = field(default_factory=list)
    first_round_starts: int = 0
    solver: str = "spherecodes.solvers.solve (batched Riemannian L-BFGS + float64 polish + basin hopping)"
    world_size: int = 1
    rank: int = 0
    tile: int | None = None
    all_points: np.ndarray | None = None
    loss: np.ndarray | None = None
    best: int | None = None
    status: list = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        """Fraction of round-0 restarts whose primary score equals the best to 1e-9 relative."""
        r0 = self.restart_scores[: max(self.restarts, self.first_round_starts)]
        if self.world_size > 1 or self.all_points is not None:
            return float("nan")  # a distributed solve scores its best restart only
        best = self.scores_primary
        with np.errstate(invalid="ignore"):  # inf - inf (e.g. every log det -inf): equal scores still count
            same = (r0 == best) | (np.abs(r0 - best) <= 1e-9 * max(abs(best), 1e-300))
        return float(np.mean(same))

    @property
    def scores_primary(self) -> float:
        from ..objectives import get_objective

        return float(self.scores[get_objective(self.objective).primary])

    def provenance(self) -> dict[str, Any]:
        """The fields a `Code` keeps about how it was made."""
        from .._version import __version__

        out = {
            "solver": self.solver,
            "seed": self.seed, "restarts": self.restarts, "rounds": self.rounds, "iterations": self.iterations,
            "evaluations": self.evaluations, "time_s": self.time_s, "device": self.device, "dtype": self.dtype,
            "stop_reason": self.stop_reason, "version": __version__,
            "success_rate": self.success_rate,
            "history": [dict(h) for h in self.history],
        }
        if self.all_points is not None:  # a distributed solve: no success rate (one restart scored)
            del out["success_rate"]
            out.update(world_size=self.world_size, tile=self.tile)
        return out
