r"""The Tammes problem: maximise the minimum distance (equivalently angle) between K points.

.. math::
    \min_{W \in (S^{d-1})^K}\ \max_{i<j} \langle w_i, w_j\rangle
    \quad\Longleftrightarrow\quad \max_W \min_{i<j} \|w_i - w_j\|,

the one-vs-one distance of Eq. (11) in "Generalized Neural Collapse for a Large Number of Classes"
(/work/shared/papers/generalized-neural-collapse-softmax-codes.txt), with min angle
:math:`\theta = \arccos(\max\cos)` and chord :math:`2\sin(\theta/2)`.

Primary score: ``max_cosine``, **minimised** (``better`` compares it). The other scores:
``min_angle_deg`` (from the chord, accurate for close pairs), ``min_distance`` (chord) and
``one_vs_rest`` (:func:`spherecodes.kernels.hull_distance.one_vs_rest`, the softmax-code figure;
it is >= 1 - max_cosine for every code).

Known optima used as checks: K <= d+1 the regular simplex, max cosine -1/(K-1), and d+1 < K <= 2d
max cosine 0 (Rankin, "The closest packing of spherical caps in n dimensions", Proc. Glasgow Math.
Assoc. 2 (1955)); d = 2 the regular K-gon, cos(2 pi/K); on S^2 the best-known angles of
/work/shared/reference/tammes_s2.csv.

The search (surrogate stages, trust-region SLP polish, basin hopping and its tuning) is the ``tammes``
strategy of :mod:`spherecodes.solvers.strategies`; this module holds only the maths.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._lazy import LazyModule
from .base import Objective
from .riesz import separation_scores

# torch and the one-vs-rest solver load on first use: naming this objective (a catalog key, a lookup) must not
# cost their ~1-2 s import
torch = LazyModule("torch")
_one_vs_rest = LazyModule("spherecodes.kernels.hull_distance")

__all__ = ["Tammes", "tammes_scores", "max_cosine_torch", "masked_gram"]

log = logging.getLogger(__name__)


def tammes_scores(points: np.ndarray) -> dict[str, float]:
    """max_cosine, min_angle_deg, min_distance and one_vs_rest of one code (K, d), float64."""
    sep = separation_scores(points)
    return {"max_cosine": sep["max_cosine"], "min_angle_deg": sep["min_angle_deg"],
            "min_distance": sep["min_distance"], "one_vs_rest": _one_vs_rest.one_vs_rest(points)}


def masked_gram(X: torch.Tensor) -> torch.Tensor:
    """Gram matrices (B, K, K) of X (B, K, d) with -inf on the diagonal (self pairs excluded)."""
    gram = X @ X.transpose(-1, -2)
    K = X.shape[-2]
    eye = torch.eye(K, dtype=torch.bool, device=X.device)
    return gram.masked_fill(eye, -math.inf)


def max_cosine_torch(X: torch.Tensor) -> torch.Tensor:
    """Exact max over pairs i != j of <x_i, x_j>, (B,); subgradient: that of one maximal pair."""
    B = X.shape[0]
    return masked_gram(X).reshape(B, -1).amax(dim=1)


class Tammes(Objective):
    """Minimise the largest pair cosine (maximise the minimum angle); see the module docstring.

    ``loss`` is the exact max cosine (B,) (its gradient is that of one maximal pair, defined
    wherever the maximal pair is unique); the ``tammes`` strategy uses smooth surrogate stages instead
    and then the SLP polish, which optimises the max-min problem exactly.
    """

    name = "tammes"
    description = "maximise the minimum angle between points (Tammes problem; minimise the max cosine)"
    params = ()
    primary = "max_cosine"
    maximise = False
    known_values = "max_cosine"
    first_order = "contact_kkt"

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        return max_cosine_torch(X)

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        return tammes_scores(points)
