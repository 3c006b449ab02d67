r"""The Tammes problem: maximise the minimum distance (equivalently angle) between K points.

.. math::
    \min_{W \in (S^{d-1})^K}\ \max_{i<j} \langle w_i, w_j\rangle
    \quad\Longleftrightarrow\quad \max_W \min_{i<j} \|w_i - w_j\|,

the one-vs-one distance of Eq. (11) in "Generalized Neural Collapse for a Large Number of Classes"
(/work/shared/papers/generalized-neural-collapse-softmax-codes.txt), with min angle
:math:`\theta = \arccos(\max\cos)` and chord :math:`2\sin(\theta/2)`.

Primary score: ``max_cosine``, **minimised** (``better`` compares it). The other scores:
``min_angle_deg`` (from the chord, accurate for close pairs), ``min_distance`` (chord) and
``one_vs_rest`` (:func:`spherecodes.validation.one_vs_rest.one_vs_rest`, the softmax-code figure;
it is >= 1 - max_cosine for every code).

Known optima used as checks: K <= d+1 the regular simplex, max cosine -1/(K-1), and d+1 < K <= 2d
max cosine 0 (Rankin, "The closest packing of spherical caps in n dimensions", Proc. Glasgow Math.
Assoc. 2 (1955)); d = 2 the regular K-gon, cos(2 pi/K); on S^2 the best-known angles of
/work/shared/reference/tammes_s2.csv.

Solver (:mod:`spherecodes.objectives._maxmin`): two log-sum-exp surrogate stages (log Riesz energy over s,
s = 32 then 512), then per restart the trust-region SLP polish, which converges to the exact local max-min
optimum (the max cosine to ~1e-15), and monotonic basin hopping on the best restart of each batch. Codes
with a dense contact graph (more than ``MAX_SLP_ROWS`` near-active pairs, e.g. K = 100 in d = 10) get the
batched penalty polish first. In low dimension (d <= :data:`HOP_MAX_D`), where a polish costs a fraction of a
second, the search is wider: the first stage spreads its exponent over the batch (s = 32 .. 256, one per
restart, :data:`FIRST_SPREAD`), and the basin hopping takes more trials (:data:`HOP_TRIALS`), accepts slightly
worse local optima with a Metropolis rule (:data:`HOP_TEMPERATURE`) and adds a move that sends a point with
contacts to the centre of the largest empty cap (:func:`spherecodes.objectives._maxmin.reinsert`), and round 0
of the search draws :data:`FIRST_ROUND_FACTOR` times more random starts (:meth:`Tammes.first_round_size`; the
pool keeps ``restarts`` of them): on S^2 the best-known codes of N = 49 and 57 are reached from 1-3 % of random
starts, and basin hopping from the local optimum next to them rarely leaves it.
Measured with bench/tammes.py (bench/results/tammes.csv).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._lazy import LazyModule
from .base import Objective, Stage
from .riesz import separation_scores

# torch, the SLP machinery and the one-vs-rest solver load on first use: naming this objective (a catalog key,
# a lookup) must not cost their ~1-2 s import
torch = LazyModule("torch")
_maxmin = LazyModule("spherecodes.objectives._maxmin")
_one_vs_rest = LazyModule("spherecodes.validation.one_vs_rest")

__all__ = ["Tammes", "tammes_scores", "hop_best"]

log = logging.getLogger(__name__)


def tammes_scores(points: np.ndarray) -> dict[str, float]:
    """max_cosine, min_angle_deg, min_distance and one_vs_rest of one code (K, d), float64."""
    sep = separation_scores(points)
    return {"max_cosine": sep["max_cosine"], "min_angle_deg": sep["min_angle_deg"],
            "min_distance": sep["min_distance"], "one_vs_rest": _one_vs_rest.one_vs_rest(points)}


def hop_best(X: torch.Tensor, polish_one, value, *, trials: int, max_iter: int,
             deadline: float | None, patience: int | None = None, temperature: float = 0.0,
             reinsertion: bool = False) -> tuple[torch.Tensor, dict]:
    """Basin hopping (:func:`spherecodes.objectives._maxmin.basin_hop`) on the best restart of X.

    The best restart (smallest ``value``) gets up to ``trials`` perturb-and-``polish_one`` steps and can only improve;
    random numbers are seeded from X, so the same input gives the same output. The other restarts are returned
    unchanged. ``temperature`` is relative: the Metropolis temperature is ``temperature * (1 - v)`` for the best
    value v (a max cosine, below 1), i.e. a fraction of the gap that sets the minimum distance; ``patience`` and
    ``reinsertion`` are passed on. Returns ``(X, info)``.
    """
    out = X.detach().to("cpu", torch.float64).clone()
    values = [value(out[b].numpy()) for b in range(out.shape[0])]
    info = {"iterations": 0, "evaluations": 0, "improvements": 0}
    if trials <= 0 or not values or not math.isfinite(min(values)):
        return out, info
    b = int(np.argmin(values))
    W, info = _maxmin.basin_hop(out[b].numpy(), local=lambda Y, deadline=None: polish_one(Y, max_iter=max_iter,
                                                                                  deadline=deadline),
                        value=value, trials=trials, rng=_maxmin.data_rng(out.numpy()), deadline=deadline,
                        patience=patience, temperature=temperature * max(0.0, 1.0 - values[b]),
                        reinsertion=reinsertion)
    out[b] = torch.from_numpy(np.ascontiguousarray(W))
    return out, info


#: extended basin hopping for low dimensions (d <= HOP_MAX_D), where an SLP trial costs well under a second for
#: K <= 60: more trials, Metropolis acceptance and the largest-hole reinsertion move. With the spread first stage
#: alone (and 16 trials) the default search still missed N = 26 on S^2; with both it reached 57 of the 59
#: best-known codes N = 2..60, and with FIRST_ROUND_FACTOR as well 59 of 59 (bench/results/tammes.csv)
HOP_MAX_D = 4
HOP_TRIALS = 36
HOP_PATIENCE = 18
#: Metropolis temperature relative to 1 - max cosine (1e-4: about 0.0015 degrees at N = 49 on S^2, the size of
#: the gaps between the best local optima there)
HOP_TEMPERATURE = 1e-4
#: kappa range of the first surrogate stage in low dimensions (one value per restart, log-spaced): on S^2 the single
#: kappa = 16 sends most restarts to the same local optimum for N = 26, 29, 31, 37, where kappa = 32 or a spread
#: reaches the best-known code in a few per cent of them (48 restarts each, measured for the issue)
FIRST_SPREAD = (16.0, 128.0)
#: round 0 in low dimensions draws this many times ``restarts`` random starts (the pool keeps the best): on S^2 a
#: single restart reaches the best-known code of N = 49 or 57 in only 1-3 % of cases, and basin hopping from the
#: common local optima next to it (29.92142 degrees at N = 49) rarely leaves them, so the starts are what find it
FIRST_ROUND_FACTOR = 16
#: ... but at most this many pair terms (starts * K^2) in round 0, so that large K keeps its usual cost
FIRST_ROUND_MAX_PAIRS = 1_000_000


class Tammes(Objective):
    """Minimise the largest pair cosine (maximise the minimum angle); see the module docstring.

    ``loss`` is the exact max cosine (B,) (its gradient is that of one maximal pair, defined
    wherever the maximal pair is unique); the solver uses the smooth surrogate stages instead and
    then the SLP polish, which optimises the max-min problem exactly.
    """

    name = "tammes"
    description = "maximise the minimum angle between points (Tammes problem; minimise the max cosine)"
    params = ()
    primary = "max_cosine"
    maximise = False

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        return _maxmin.max_cosine_torch(X)

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        return tammes_scores(points)

    def first_round_size(self, d: int, K: int, restarts: int) -> int:
        if d > HOP_MAX_D:
            return restarts
        return max(restarts, min(restarts * FIRST_ROUND_FACTOR, FIRST_ROUND_MAX_PAIRS // (K * K)))

    def stages(self, params: Mapping[str, Any], d: int, K: int) -> list[Stage]:
        return _maxmin.surrogate_stages(d, K, prefix="tammes-lse",
                                        first_spread=FIRST_SPREAD if d <= HOP_MAX_D else None)

    def polish(self, X, params: Mapping[str, Any], *, gtol: float, max_iter: int, max_step: float,
               deadline: float | None = None):
        # SLP iterations are LP solves: a few hundred are plenty (near the end each one squares the error)
        out, info = _maxmin.polish_tammes_batch(X, max_iter=min(max_iter, 400), deadline=deadline)
        if "penalty_probes" not in info:
            extended = X.shape[2] <= HOP_MAX_D
            out, hop = hop_best(out, _maxmin.polish_tammes, _maxmin.max_cosine_np,
                                trials=HOP_TRIALS if extended else _maxmin.MBH_TRIALS,
                                patience=HOP_PATIENCE if extended else None,
                                temperature=HOP_TEMPERATURE if extended else 0.0, reinsertion=extended,
                                max_iter=min(max_iter, 400), deadline=deadline)
            info["iterations"] += hop["iterations"]
            info["evaluations"] += hop["evaluations"]
            info["basin_hopping_improvements"] = hop["improvements"]
        return out.to(X.device), info
