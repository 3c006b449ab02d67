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
from typing import Any

import numpy as np
import torch

from ..kernels.pairwise import METRICS, min_distance_max_cosine, riesz_energy
from .base import Objective, Param

__all__ = ["Riesz", "riesz_energy_torch"]


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
        Param("half_space", False, bool, help="energy of the points and their antipodes (half-space MHE)"),
    )
    primary = "energy"
    maximise = False

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        s, metric, half = float(params["s"]), params["metric"], bool(params["half_space"])
        logr = _log_distances(X, metric, half)
        if s > 0:
            return torch.logsumexp(-s * logr, dim=1)
        if s == 0:
            return (-logr).mean(dim=1)
        return -torch.exp(-s * logr).mean(dim=1)

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        s, metric, half = float(params["s"]), params["metric"], bool(params["half_space"])
        energy = riesz_energy(points, s=s, metric=metric, half_space=half)
        return {"energy": energy, **separation_scores(points)}


def separation_scores(points: np.ndarray) -> dict[str, float]:
    """Minimum distance, max cosine and min angle (degrees) of a code, float64.

    The angle is taken from the chord, ``2 asin(r/2)``, which is accurate for close pairs.
    """
    r, c = min_distance_max_cosine(points)
    if not math.isfinite(r):
        return {"min_distance": r, "max_cosine": c, "min_angle_deg": 180.0}
    angle = 2.0 * math.degrees(math.asin(min(r / 2.0, 1.0)))
    return {"min_distance": r, "max_cosine": c, "min_angle_deg": angle}
