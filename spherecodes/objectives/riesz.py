r"""Riesz s-energy (the Thomson problem for s = 1 on S^2).

.. math::
    E_s(X) = \sum_{i<j} f_s(\rho_{ij}),\qquad
    f_s(\rho) = \begin{cases} \rho^{-s} & s > 0\\ \log(1/\rho) & s = 0\\ -\rho^{-s} & s < 0\end{cases}

summed over **unordered** pairs (papers often sum over ordered pairs: exactly 2x), with
:math:`\rho` the chord :math:`|x_i - x_j|` (``metric="euclidean"``) or the angle
(``metric="geodesic"``). ``half_space=True`` evaluates the energy of the 2K points
:math:`\{x_k, -x_k\}` (thesis section 5.3.4). Lower is better. For s < 0 minimising
:math:`-\sum \rho^{|s|}` maximises the sum of distance powers (s = -1: sum of distances).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Objective, Param

if TYPE_CHECKING:  # pragma: no cover
    import torch

# torch and the numba kernels are imported inside the functions that use them, so that the
# registry (and with it `spherecodes lookup`) can build keys without paying their import time
#: distances the Riesz kernel can use (same order as spherecodes.kernels.pairwise.METRICS)
METRICS = ("euclidean", "geodesic")

__all__ = ["Riesz", "riesz_energy_torch", "TILED_MIN_K", "use_tiled"]

#: smallest K evaluated by row blocks (:mod:`spherecodes.kernels.tiled`) instead of the dense
#: (B, P) pair vector: "fast" is the euclidean chord with s > 0, "general" every other case
#: (where the tiled loss + gradient overtakes the dense one: bench/scaling.py).
TILED_MIN_K = {"fast": 64, "general": 256}


def use_tiled(K: int, s: float, metric: str) -> bool:
    """Whether :meth:`Riesz.loss` evaluates K points by row blocks (see :data:`TILED_MIN_K`)."""
    key = "fast" if (metric == "euclidean" and s > 0) else "general"
    return K >= TILED_MIN_K[key]


def _pairwise_sq_chords(X: torch.Tensor) -> torch.Tensor:
    """Squared chords 2 - 2 <x_i, x_j> for unit rows; X (B, K, d) -> (B, K, K)."""

    gram = X @ X.transpose(-1, -2)
    return (2.0 - 2.0 * gram).clamp_min(0.0)


def _log_distances(X: torch.Tensor, metric: str, half_space: bool) -> torch.Tensor:
    """log of the pair distances over unordered pairs, shape (B, P).

    The distance is clamped away from 0 (coincident points) so that the loss stays finite
    and the solver pushes them apart; for the angle it is clamped below pi as well, where
    the geodesic distance is not differentiable (an antipodal pair exerts no force).
    """
    import torch

    B, K, _ = X.shape
    tiny = torch.finfo(X.dtype).tiny ** 0.5
    gram = X @ X.transpose(-1, -2)
    iu = torch.triu_indices(K, K, offset=1, device=X.device)
    c = gram[:, iu[0], iu[1]]
    cos_values = [c, -c] if half_space else [c]
    out = []
    for cv in cos_values:
        if metric == "euclidean":
            out.append(0.5 * torch.log((2.0 - 2.0 * cv).clamp_min(tiny)))
        else:
            lim = 1.0 - 4.0 * torch.finfo(X.dtype).eps
            cv = cv.clamp(-lim, lim)
            theta = 2.0 * torch.atan2(torch.sqrt(2.0 - 2.0 * cv), torch.sqrt(2.0 + 2.0 * cv))
            out.append(torch.log(theta.clamp_min(tiny)))
    return torch.cat(out, dim=1)


def _self_antipode_term(K: int, s: float, metric: str) -> float:
    x = 2.0 if metric == "euclidean" else math.pi
    return K * (x ** (-s) if s > 0 else (-math.log(x) if s == 0 else -(x ** (-s))))


def riesz_energy_torch(X: torch.Tensor, s: float = 1.0, metric: str = "euclidean",
                       half_space: bool = False) -> torch.Tensor:
    """Batched differentiable Riesz energy, unordered pairs; X (B, K, d) unit rows -> (B,).

    Same convention as :func:`spherecodes.kernels.riesz_energy` (which is the float64
    reference). For half_space the mirrored pairs are counted, hence the factor 2.
    """
    import torch

    logr = _log_distances(X, metric, half_space)
    if s > 0:
        E = torch.exp(-s * logr).sum(dim=1)
    elif s == 0:
        E = (-logr).sum(dim=1)
    else:
        E = -torch.exp(-s * logr).sum(dim=1)
    if half_space:
        E = 2.0 * E + _self_antipode_term(X.shape[1], s, metric)
    return E


class Riesz(Objective):
    """Minimum Riesz s-energy; see the module docstring for the maths.

    The solver's loss is a monotone transform of the energy, with the same minimisers:
    ``log E`` computed by log-sum-exp for s > 0 (no overflow even for s = 50 or close
    points), the mean pair term for s <= 0 (scale-free).
    """

    name = "riesz"
    description = "minimise the Riesz s-energy (s=1: Thomson; s=0: log; s<0: maximise sum of distance^|s|)"
    params = (
        Param("s", 1.0, float, help="Riesz exponent: r^-s for s>0, log(1/r) for s=0, -r^|s| for s<0"),
        Param("metric", "euclidean", str, choices=METRICS, help="distance: euclidean (chord) or geodesic (angle)"),
        Param("half_space", False, bool, help="energy of the points and their antipodes (half-space MHE)",
              flag="--half-space/--full-space"),
    )
    primary = "energy"
    maximise = False
    known_values = "riesz_energy"
    bound_kinds = ("energy_lower", "estimate")
    first_order = "energy_gradient"

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        """Log-sum-exp of the pair terms (s > 0) or their mean (s <= 0), (B, K, d) -> (B,).

        Small K: the dense vector of the K(K-1)/2 pair distances. From :data:`TILED_MIN_K` on:
        :func:`spherecodes.kernels.tiled.riesz_loss_tiled`, the same value (to rounding) by row
        blocks of pairs, memory O(B K d + B T K), tile size T chosen from the free memory.
        """
        import torch

        from ..kernels.tiled import riesz_loss_tiled

        s, metric, half = float(params["s"]), params["metric"], bool(params["half_space"])
        if use_tiled(X.shape[1], s, metric):
            return riesz_loss_tiled(X, s, metric, half)
        logr = _log_distances(X, metric, half)
        if s > 0:
            return torch.logsumexp(-s * logr, dim=1)
        if s == 0:
            return (-logr).mean(dim=1)
        return -torch.exp(-s * logr).mean(dim=1)

    def memory_bytes(self, B: int, K: int, d: int, itemsize: int) -> int:
        """Peak bytes of an L-BFGS run: dense pair terms below :data:`TILED_MIN_K`, else O(B K d).

        Tiled: 40 point-sized (B, K, d) arrays (points, gradient, trial points, L-BFGS history)
        plus the work space of a one-row block; the tile grows to what the free memory allows.
        """
        from ..kernels.memory import tiled_memory_bytes
        from ..kernels.tiled import TILE_BUFFERS

        if K < min(TILED_MIN_K.values()):
            return super().memory_bytes(B, K, d, itemsize)
        return tiled_memory_bytes(B, K, d, itemsize, tile=1, buffers=2 * TILE_BUFFERS)

    def memory_hint(self, B: int, K: int, d: int) -> str:
        """The levers left once the pair terms are tiled: the O(B K d) point-sized arrays dominate."""
        if K < min(TILED_MIN_K.values()):
            return super().memory_hint(B, K, d)
        per = 40 * K * d * 8 / 2**30
        return (f"the pair terms are already evaluated by row blocks (a smaller --tile shrinks only the block work "
                f"space), so each restart needs about {per:.2f} GiB for its points, gradients and L-BFGS history "
                "in float64 (--dtype float32 halves the first phase only: the polish is float64)")

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        """Energy (float64, :func:`spherecodes.kernels.riesz_energy`) and :func:`separation_scores`.

        When both kernels would use blocked Gram products (large K), one pass computes both
        (:func:`spherecodes.kernels.blocked.pair_statistics_blocked`: the same values, half the work).
        """
        from ..kernels.blocked import pair_statistics_blocked
        from ..kernels.pairwise import riesz_energy

        s, metric, half = float(params["s"]), params["metric"], bool(params["half_space"])
        X = np.ascontiguousarray(points, dtype=np.float64)
        if X.ndim == 2 and _one_blocked_pass(X.shape[0], X.shape[1], s, metric):
            st = pair_statistics_blocked(X, s, metric, half)
            return {"energy": st["energy"], **_separation_dict(st["min_distance"], st["max_cosine"])}
        energy = riesz_energy(points, s=s, metric=metric, half_space=half)
        return {"energy": energy, **separation_scores(points)}


def _one_blocked_pass(K: int, d: int, s: float, metric: str) -> bool:
    """Whether riesz_energy and min_distance_max_cosine would both take the blocked path."""
    from ..kernels import blocked, pairwise

    return (K >= max(pairwise.BLOCKED_ENERGY_MIN_K, pairwise.BLOCKED_SEPARATION_MIN_K)
            and d >= pairwise.BLOCKED_SEPARATION_MIN_D
            and blocked._energy_threshold(d, s, METRICS.index(metric)) <= 1.0)


def separation_scores(points: np.ndarray) -> dict[str, float]:
    """Minimum distance, max cosine and min angle (degrees) of a code, float64.

    The angle is taken from the chord, ``2 asin(r/2)``, which is accurate for close pairs.
    """
    from ..kernels.pairwise import min_distance_max_cosine

    r, c = min_distance_max_cosine(points)
    return _separation_dict(r, c)


def _separation_dict(r: float, c: float) -> dict[str, float]:
    if not math.isfinite(r):
        return {"min_distance": r, "max_cosine": c, "min_angle_deg": 180.0}
    angle = 2.0 * math.degrees(math.asin(min(r / 2.0, 1.0)))
    return {"min_distance": r, "max_cosine": c, "min_angle_deg": angle}
