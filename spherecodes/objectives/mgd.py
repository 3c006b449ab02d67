r"""Maximum Gram determinant (MGD) with a Gaussian kernel.

.. math::
    \max_{W \in (S^{d-1})^K} \log\det G(W), \qquad G_{ij} = \exp\bigl(-\varepsilon^2 \|w_i - w_j\|^2\bigr),

Eq. (9) of "Generalizing and Decoupling Neural Collapse via Hyperspherical Uniformity Gap"
(/work/shared/papers/hug-hyperspherical-uniformity-gap.txt): the log-volume of the parallelotope
spanned by the points' Gaussian feature vectors. G is positive definite for distinct points
(the Gaussian kernel is strictly positive definite), so log det G is finite and at most 0
(Hadamard: det G <= prod G_ii = 1).

Parameter ``eps`` (> 0, default 1): the kernel width. Primary score ``logdet`` (maximised), computed
by a float64 Cholesky factorisation (numpy), :math:`\log\det G = \sum_i \log L_{ii}^2` with each pivot
:math:`L_{ii}^2 = 1 - \sum_{k<i} L_{ik}^2` taken through ``log1p`` so that G close to the identity (large
eps) keeps its tiny log-determinant instead of rounding to 0. When G is
numerically singular (coincident points, or points so close that the factorisation fails) the score is
``-inf`` (never NaN). Also reported: ``max_cosine``, ``min_angle_deg``, ``min_distance``.

The loss is :math:`\log(-\log\det G)` in torch (batched ``torch.linalg.cholesky_ex``): a monotone
transform of :math:`-\log\det G > 0` with a scale-free gradient, so that large eps (where
:math:`-\log\det G \approx \sum_{i<j} e^{-2\varepsilon^2\|w_i-w_j\|^2}` is tiny) still optimises. Only in the loss, a
restart whose factorisation fails is retried with a diagonal jitter :math:`10^{-12} \cdot 10^{m}`,
m = 0, 1, ..., 6 (the smallest that works), so that the solver always sees a finite value; the jitter is
far below the diagonal of G (1) and is never used in the score.

For the simplex (K <= d+1) all off-diagonal entries equal
:math:`a = \exp(-2\varepsilon^2 K/(K-1))` and :math:`\det G = (1-a)^{K-1}(1 + (K-1)a)`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._lazy import LazyModule
from .base import Objective, Param
from .riesz import separation_scores

torch = LazyModule("torch")  # loaded by the first loss evaluation, not by naming the objective

__all__ = ["MGD", "mgd_logdet", "mgd_logdet_torch", "gaussian_gram", "simplex_logdet"]

log = logging.getLogger(__name__)

#: diagonal jitters tried, in order, when a restart's Cholesky fails in the loss (never in the score)
_JITTERS = tuple(1e-12 * 10.0**m for m in range(7))


def _check_eps(value: float) -> str | None:
    return None if value > 0 else "eps is the Gaussian kernel width and must be > 0"


#: eps^2 is capped here (only matters for eps > 1e150, where eps^2 overflows): exp(-1e300 r^2) is 0 for every
#: r^2 > 1e-297, so G is the identity either way, without inf * 0 = NaN
_EPS2_CAP = 1e300


def _eps2(eps: float) -> float:
    return _EPS2_CAP if eps > 1e150 else min(float(eps) * float(eps), _EPS2_CAP)


def gaussian_gram(points: np.ndarray, eps: float) -> np.ndarray:
    """G_ij = exp(-eps^2 |w_i - w_j|^2), (K, K) float64, squared distances from coordinate differences.

    The diagonal (and coincident points) are exactly 1, for every eps.
    """
    X = np.asarray(points, dtype=np.float64)
    sq = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1) if X.shape[0] <= 2048 else \
        np.clip(np.sum(X * X, 1)[:, None] + np.sum(X * X, 1)[None, :] - 2.0 * X @ X.T, 0.0, None)
    np.fill_diagonal(sq, 0.0)
    with np.errstate(under="ignore"):
        return np.exp(-_eps2(eps) * sq)


def _logdet_from_cholesky(G: np.ndarray, L: np.ndarray) -> float:
    """sum_i log(L_ii^2) computed as log1p((G_ii - 1) - s_i), s_i = sum_{k<i} L_ik^2 (no loss when G ~ I)."""
    s = np.sum(np.tril(L, -1) ** 2, axis=1)
    arg = (np.diag(G) - 1.0) - s
    if not np.all(arg > -1.0):
        return -math.inf
    return float(np.sum(np.log1p(arg)))


def mgd_logdet(points: np.ndarray, eps: float = 1.0) -> float:
    """log det of the Gaussian Gram matrix, float64 Cholesky; ``-inf`` when G is numerically singular.

    ``log det G = sum_i log L_ii^2`` with :math:`L_{ii}^2 = G_{ii} - s_i`, :math:`s_i = \\sum_{k<i} L_{ik}^2`,
    evaluated as ``log1p((G_ii - 1) - s_i)``: the same Cholesky factor, but the small off-diagonal mass
    is not rounded away when G is close to the identity (large eps), where ``2 sum log L_ii`` would
    return exactly 0 for every well separated code.
    """
    G = gaussian_gram(points, eps)
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        return -math.inf
    if not np.all(np.isfinite(L)):
        return -math.inf
    return _logdet_from_cholesky(G, L)


def _log1pmx(x: float) -> float:
    """log(1 + x) - x, accurate for tiny |x| (series) where the difference would cancel."""
    if abs(x) < 1e-4:
        return -x * x / 2.0 + x**3 / 3.0 - x**4 / 4.0 + x**5 / 5.0
    return math.log1p(x) - x


def simplex_logdet(K: int, eps: float) -> float:
    """log det G of the regular simplex of K points: (K-1) log(1-a) + log(1+(K-1)a), a = exp(-2 eps^2 K/(K-1)).

    Evaluated as (K-1) log1pmx(-a) + log1pmx((K-1) a) (the linear terms cancel exactly), which keeps full
    relative accuracy when a is tiny (about -K(K-1) a^2 / 2).
    """
    a = math.exp(-2.0 * eps * eps * K / (K - 1))
    return (K - 1) * _log1pmx(-a) + _log1pmx((K - 1) * a)


def mgd_logdet_torch(X: torch.Tensor, eps: float) -> torch.Tensor:
    """Batched differentiable log det G, X (B, K, d) -> (B,), with the loss-only jitter fallback.

    Same formula as :func:`mgd_logdet` (``log1p`` of the Cholesky pivots); G has an exact unit diagonal.
    """
    K = X.shape[1]
    gram = X @ X.transpose(-1, -2)
    sq = X.pow(2).sum(-1)
    off = ~torch.eye(K, dtype=torch.bool, device=X.device)
    d2 = ((sq[..., :, None] + sq[..., None, :] - 2.0 * gram).clamp_min(0.0)) * off
    G = torch.exp(-_eps2(eps) * d2)
    # find, without gradient, the jitter each restart needs (0 for almost all), then factorise once
    with torch.no_grad():
        _, info = torch.linalg.cholesky_ex(G)
        jitter = torch.zeros(G.shape[0], dtype=G.dtype, device=G.device)
        eye = torch.eye(K, dtype=G.dtype, device=G.device)
        for value in _JITTERS:
            bad = info != 0
            if not bool(bad.any()):
                break
            jitter = torch.where(bad, torch.full_like(jitter, value), jitter)
            _, info = torch.linalg.cholesky_ex(G + jitter[:, None, None] * eye)
    if bool((jitter > 0).any()):
        G = G + jitter[:, None, None] * torch.eye(K, dtype=G.dtype, device=G.device)
    L, _ = torch.linalg.cholesky_ex(G)
    s = torch.tril(L, -1).pow(2).sum(-1)
    arg = (torch.diagonal(G, dim1=-2, dim2=-1) - 1.0) - s
    return torch.log1p(arg.clamp_min(-1.0 + torch.finfo(X.dtype).eps)).sum(-1)


class MGD(Objective):
    """Maximise log det of the Gaussian-kernel Gram matrix; see the module docstring."""

    name = "mgd"
    description = "maximise log det of the Gaussian Gram matrix exp(-eps^2 |x_i - x_j|^2) (HUG Eq. 9)"
    params = (Param("eps", 1.0, float, check=_check_eps, help="Gaussian kernel width eps > 0"),)
    primary = "logdet"
    maximise = True
    known_values = "gaussian_logdet"
    bound_kinds = ("logdet_upper",)
    first_order = "logdet_gradient"

    def loss(self, X: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
        # log(-log det G): a monotone transform (-log det G > 0 by Hadamard) whose gradient is scale-free, so
        # that large eps, where -log det G ~ sum_{i<j} exp(-2 eps^2 |x_i - x_j|^2) is tiny, still optimises
        neg = -mgd_logdet_torch(X, float(params["eps"]))
        return torch.log(neg.clamp_min(1e-300))

    def score(self, points: np.ndarray, params: Mapping[str, Any]) -> dict[str, float]:
        return {"logdet": mgd_logdet(points, float(params["eps"])), **separation_scores(points)}
