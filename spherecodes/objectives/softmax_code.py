r"""Softmax codes: maximise the smallest one-vs-rest distance.

.. math::
    \max_{W \in (S^{d-1})^K} \rho_{\text{one-vs-rest}}(W), \qquad
    \rho_{\text{one-vs-rest}}(W) = \min_k \operatorname{dist}\bigl(w_k, \operatorname{conv}\{w_j: j \ne k\}\bigr),

Definition 2.1 / Eq. (3) of "Generalized Neural Collapse for a Large Number of Classes"
(/work/shared/papers/generalized-neural-collapse-softmax-codes.txt). The distance is the Euclidean
distance itself (not its square), as in the paper's definition
:math:`\operatorname{dist}(v, \mathcal W) = \inf_{w \in \operatorname{conv}\mathcal W}\|v - w\|`.

Primary score ``one_vs_rest`` (maximised); also ``max_cosine``, ``min_angle_deg``, ``min_distance``.

Closed forms (Theorem 3.3; the numbers are derived here from the configurations the theorem names):
d = 2, the regular K-gon, :math:`\rho = 1 - \cos(2\pi/K)` (a vertex to the chord of its two
neighbours; a distance, not a squared distance); K <= d+1, the simplex, :math:`\rho = K/(K-1)`;
d+1 < K <= 2d, :math:`\rho = 1` (part of a cross-polytope). Theorem 3.8: for d = 2 or K <= d+1
the Tammes codes and the softmax codes coincide; the paper conjectures it in general.

Why the Tammes problem is a relaxation of sorts: with a unit vector :math:`u_k` per point,

.. math::
    \rho_k = \max_{\|u_k\| = 1} \min_{j \ne k} \langle u_k, w_k - w_j\rangle \ \ (\text{when } \rho_k > 0),

and the choice :math:`u_k = w_k` gives :math:`\rho_k \ge 1 - \max_j \langle w_k, w_j\rangle`, so
:math:`\rho_{\text{one-vs-rest}} \ge 1 - \max\cos`. The ``softmax_code`` strategy
(:mod:`spherecodes.solvers.strategies`) therefore runs the Tammes search and then an SLP polish of the
lifted max-min problem in (W, U) (:mod:`spherecodes.solvers.softmax_polish`): rows
:math:`\langle u_k, w_k - w_j\rangle \ge t` linearised in tangent displacements of both :math:`w` and
:math:`u`, with :math:`u_k` re-set to the exact optimal direction
:math:`(w_k - P_k)/\rho_k` (:math:`P_k` the nearest hull point, from Wolfe's algorithm) at every step,
and the step accepted on the exact :math:`\rho_{\text{one-vs-rest}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._lazy import LazyModule
from .base import Objective
from .riesz import separation_scores

# torch and the one-vs-rest solver load on first use (see tammes.py)
torch = LazyModule("torch")
_one_vs_rest = LazyModule("spherecodes.kernels.hull_distance")

__all__ = ["SoftmaxCode", "softmax_code_scores", "one_vs_rest_torch"]

log = logging.getLogger(__name__)


def softmax_code_scores(points: np.ndarray) -> dict[str, float]:
    """one_vs_rest (primary), max_cosine, min_angle_deg, min_distance of one code (K, d), float64."""
    sep = separation_scores(points)
    return {"one_vs_rest": _one_vs_rest.one_vs_rest(points), "max_cosine": sep["max_cosine"],
            "min_angle_deg": sep["min_angle_deg"], "min_distance": sep["min_distance"]}


def one_vs_rest_torch(X: torch.Tensor) -> torch.Tensor:
    r"""Per-point one-vs-rest distances (B, K), differentiable almost everywhere.

    The nearest hull weights :math:`\lambda^{(k)}` are computed without gradient (Wolfe's algorithm, float64)
    and :math:`\rho_k = \|x_k - \sum_j \lambda^{(k)}_j x_j\|` is evaluated in torch. By Danskin's theorem
    this has the gradient of the true distance wherever the nearest point is unique (always, for a convex
    hull) and the distance is positive: the value is exact and the gradient is the true gradient.
    """
    B, K, _ = X.shape
    lam = np.stack([_one_vs_rest.one_vs_rest_projection(X[b].detach().cpu().to(torch.float64).numpy())[1]
                    for b in range(B)])
    L = torch.from_numpy(lam).to(dtype=X.dtype, device=X.device)
    Y = X - L @ X
    return torch.linalg.vector_norm(Y, dim=-1)


class SoftmaxCode(Objective):
    """Maximise the minimum one-vs-rest distance (softmax code); see the module docstring.

    ``loss`` is :math:`-\\rho_{\\text{one-vs-rest}}` (B,), exact, with Danskin gradients
    (:func:`one_vs_rest_torch`); the strategy's first phase uses the Tammes surrogate stages.
    """

    name = "softmax_code"
    description = "maximise the minimum distance from a point to the convex hull of the others (softmax code)"
    params = ()
    primary = "one_vs_rest"
    maximise = True
    known_values = "one_vs_rest"
    bound_kinds = ("softmax_upper", "softmax_optimum_lower")
    first_order = "contact_graph"

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        return -one_vs_rest_torch(X).amin(dim=1)

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        return softmax_code_scores(points)
