"""Losses on the hypersphere: temperature CE, HUG, HingeCE and the MHE regulariser.

Sources (formulas implemented as printed there, equation numbers in each docstring):

- softmax-code paper, ``/work/shared/papers/generalized-neural-collapse-softmax-codes.txt``, Eq. (1):
  CE on cosine logits divided by a temperature;
- HUG paper, ``/work/shared/papers/hug-hyperspherical-uniformity-gap.txt``, Eqs. (4)-(10):
  hyperspherical uniformity gap with MHE, MHS and MGD characterisations;
- HingeCE paper, ``/work/shared/papers/hingece-maximal-separating-cone.txt``, Eqs. (7)-(8), Thm 1, Table 4;
- thesis (W. Liu 2020), ``/work/shared/papers/thesis-deep-representation-learning-on-hypersphere.txt``,
  Eq. (5.1), Eq. (5.4) and the data-dependent mini-batch form of Sec. 5.3.6 (digest Sec. 1.6).

Shapes: features (N, d), proxies (K, d), labels (N,) integers in [0, K).
Energies in this module follow the papers: sums over *ordered* pairs i != j (HUG Eq. 4, thesis Eq. 5.1),
i.e. twice the unordered sum used elsewhere in spherecodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidParameterError, UnknownNameError
from ..kernels.pair_terms import riesz_term

__all__ = [
    "HUG_VARIANTS",
    "LOSSES",
    "HUG_LOSS_VARIANTS",
    "HINGECE_TAU_PLUS",
    "HINGECE_TAU_MINUS",
    "riesz_kernel",
    "temperature_ce",
    "hug_loss",
    "hug_mhe",
    "hug_mhs",
    "hug_mgd",
    "hinge_logits",
    "hinge_ce",
    "mhe_regulariser",
    "TemperatureCELoss",
    "HUGLoss",
    "HingeCELoss",
    "MHERegulariser",
    "get_loss",
]

#: HUG characterisations of hyperspherical uniformity (HUG Sec. 3.2).
HUG_VARIANTS = ("mhe", "mhs", "mgd")

#: HingeCE tau+ used for all results of Tables 1 and 3 (ImageNet, all classes): 13 pi / 36 (Sec. 5, Table 4).
HINGECE_TAU_PLUS = 13.0 * math.pi / 36.0
#: HingeCE tau-: pi, i.e. plain negative logits ("for simplicity we set tau- = pi", Sec. 5).
#: Table 4 prints tau- = 0, which would make every negative logit the constant |u| |w| (an erratum).
HINGECE_TAU_MINUS = math.pi

_REDUCTIONS = ("sum", "mean")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise InvalidParameterError("reduction", reduction, f"use one of {', '.join(_REDUCTIONS)}")


def _check_inputs(features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor) -> None:
    if features.ndim != 2 or proxies.ndim != 2 or features.shape[1] != proxies.shape[1]:
        raise InvalidParameterError("features", f"shapes {tuple(features.shape)} and {tuple(proxies.shape)}",
                                    "pass features (N, d) and proxies (K, d) with the same d")
    if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise InvalidParameterError("labels", f"shape {tuple(labels.shape)}",
                                    f"pass one label per feature row, shape ({features.shape[0]},)")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= proxies.shape[0]):
        raise InvalidParameterError("labels", f"range [{int(labels.min())}, {int(labels.max())}]",
                                    f"labels must be class indices in [0, {proxies.shape[0] - 1}]")


def riesz_kernel(dist: torch.Tensor, s: float) -> torch.Tensor:
    """Riesz s-kernel of a distance: dist^-s (s > 0), log(1/dist) (s = 0), -dist^-s (s < 0).

    HUG Eq. (4) defines s > 0 and s < 0 (the sign keeps the kernel decreasing in the distance);
    s = 0 is the logarithmic kernel of thesis Eq. (5.1). The one definition is
    :func:`spherecodes.kernels.pair_terms.riesz_term`.
    """
    return riesz_term(dist, s)


def _pair_distances(points: torch.Tensor) -> torch.Tensor:
    """|v_i - v_j| for the unordered pairs i < j of the rows of ``points`` (M, d), shape (M(M-1)/2,).

    Differences, not sqrt(2 - 2 cos), so the distance (and its zero subgradient at 0) are exact.
    """
    i, j = torch.triu_indices(points.shape[0], points.shape[0], offset=1, device=points.device)
    return torch.linalg.vector_norm(points[i] - points[j], dim=1)


def _energy(points: torch.Tensor, s: float, mean: bool = False) -> torch.Tensor:
    """E_s = sum over ordered pairs i != j of K_s(v_i, v_j) (HUG Eq. 4); the mean over those pairs if ``mean``."""
    dist = _pair_distances(points)
    if dist.numel() == 0:
        return points.new_zeros(())
    total = 2.0 * riesz_kernel(dist, s).sum()
    return total / (2.0 * dist.numel()) if mean else total


def _gaussian_gram(points: torch.Tensor, epsilon: float) -> torch.Tensor:
    """G_ij = exp(-epsilon^2 |v_i - v_j|^2) (HUG Eq. 9), shape (M, M); |v_i - v_j|^2 from differences."""
    diff = points[:, None, :] - points[None, :, :]
    return torch.exp(-(epsilon ** 2) * (diff * diff).sum(dim=-1))


# --------------------------------------------------------------------------- temperature CE


def temperature_ce(features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor, temperature: float,
                   reduction: str = "mean") -> torch.Tensor:
    """Cross entropy on cosine logits divided by a temperature (softmax-code paper, Eq. 1).

        L_CE(z, y, tau) = -log( exp(z_y / tau) / sum_j exp(z_j / tau) ),  z_j = <x/|x|, w_j/|w_j|>.

    Features and proxies are normalised here (the spherical constraint of Eq. 2 of that paper).

    Parameters
    ----------
    features : Tensor (N, d)
    proxies : Tensor (K, d)
    labels : LongTensor (N,)
    temperature : float > 0
    reduction : {"mean", "sum"}
        Mean over samples (Eq. 1's 1/(nK) sum) or sum.
    """
    _check_inputs(features, proxies, labels)
    _check_reduction(reduction)
    if not (temperature > 0):
        raise InvalidParameterError("temperature", temperature, "pass a temperature > 0")
    z = F.normalize(features, dim=1) @ F.normalize(proxies, dim=1).t()
    return F.cross_entropy(z / temperature, labels, reduction=reduction)


# ------------------------------------------------------------------------------------ HUG


def hug_loss(features: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor, *, variant: str = "mhe",
             relaxed: bool | None = None, alpha: float = 1.0, beta: float = 1.0, s_b: float = 2.0,
             s_w: float = -1.0, epsilon: float = 1.0, reduction: str = "sum") -> torch.Tensor:
    """Proxy-based hyperspherical uniformity gap (HUG paper, Eq. 3), written as a loss to minimise.

    With x_i = features_i / |features_i|, w_c = proxies_c / |proxies_c| and A_c the batch samples of
    class c, the HUG objective alpha * HU(inter) - beta * sum_c HU(intra_c) is *maximised* in the
    paper; this function returns the quantity to *minimise*:

    ``variant="mhe"`` (minimum hyperspherical energy, HU = -E_s), s_b = 2, s_w = -1 in the paper:

    - exact, Eq. (5):   alpha * E_{s_b}({w_c}) - beta * sum_c E_{s_w}({x_i}_{i in A_c} u {w_c});
      with s_w = -1, -E_{-1}(V) = sum_{i != j} |v_i - v_j|, so the intra term pulls each class together;
    - relaxed, Eq. (6): alpha * sum_{c != c'} |w_c - w_c'|^-2 + beta' * sum_c sum_{i in A_c} |x_i - w_c|
      (an upper bound of Eq. 5 with the same minimiser; ``beta`` plays beta'; the inter term uses s_b).

    ``variant="mhs"`` (maximum hyperspherical separation):

    - exact, Eq. (7):   -alpha * min_{c != c'} |w_c - w_c'| + beta * sum_c max_{u != v in A_c u {w_c}} |u - v|;
    - relaxed, Eq. (8): -alpha * min_{c != c'} |w_c - w_c'| + beta * sum_c max_{i in A_c} |x_i - w_c|.

    ``variant="mgd"`` (maximum Gram determinant, Gaussian kernel G_ij = exp(-epsilon^2 |v_i - v_j|^2), Eq. 9):

    - exact, Eq. (10):  -alpha * log det G({w_c}) + beta * sum_c det G({x_i}_{i in A_c} u {w_c});
    - relaxed (the MGD-HUG of the HUG slides): -alpha * log det G({w_c}) + beta' * sum_c sum_{i in A_c} |x_i - w_c|.

    The inter-class term uses all K proxies; the intra-class sums run over the classes present in the
    batch. Note on Eq. (10): det G(group) vanishes as soon as *two* members of the group coincide, so on
    mini-batches with two or more samples of a class it is minimised by collapsing features onto each
    other anywhere on the sphere, not onto w_c; training with it as printed collapses all classes
    (``bench/training.py``: chance accuracy on digits). The relaxed MGD form does not have this problem.
    ``relaxed=None`` picks the form used in the paper's experiments (Table 1): Eq. 6 for mhe,
    Eq. 8 for mhs, Eq. 10 for mgd. The paper gives no values of alpha, beta or epsilon; the defaults
    (1, 1, 1) are ours.

    Parameters
    ----------
    features : Tensor (N, d)
    labels : LongTensor (N,)
    proxies : Tensor (K, d)
        Fixed proxies give a constant inter-class term (no gradient), as in HUG's static proxies.
    variant : {"mhe", "mhs", "mgd"}
    relaxed : bool or None
    alpha, beta : float
        Weights of the inter- and intra-class terms.
    s_b, s_w : float
        Riesz exponents of the inter- and intra-class energies (mhe only; s_w only in the exact form).
    epsilon : float
        Gaussian kernel parameter (mgd only).
    reduction : {"sum", "mean"}
        ``"sum"`` is the paper's formula. ``"mean"`` replaces every sum by the mean over its terms:
        sum_{c != c'} by the mean over the K(K-1) ordered pairs (the 1/(N(N-1)) of thesis Eq. 5.4),
        sum_c by the mean over classes present, sum_c sum_{i in A_c} (= sum over the batch) by the
        mean over the N samples, and each per-class energy E_{s_w} by the mean over its ordered pairs,
        so that the loss does not grow with the batch size.

    Returns
    -------
    Tensor, scalar.
    """
    _check_inputs(features, proxies, labels)
    _check_reduction(reduction)
    if variant not in HUG_VARIANTS:
        raise UnknownNameError("HUG variant", variant, HUG_VARIANTS)
    if relaxed is None:
        relaxed = variant != "mgd"
    mean = reduction == "mean"
    x = F.normalize(features, dim=1)
    w = F.normalize(proxies, dim=1)
    classes = torch.unique(labels)

    # ---- inter-class term (to minimise)
    if variant == "mhe":
        inter = _energy(w, s_b, mean=mean)
    elif variant == "mhs":
        inter = -_pair_distances(w).min()
    else:
        inter = -torch.logdet(_gaussian_gram(w, epsilon))

    # ---- intra-class term (to minimise)
    if relaxed and variant in ("mhe", "mgd"):
        dist = torch.linalg.vector_norm(x - w[labels], dim=1)  # |x_i - w_{y_i}|, Eq. 6
        intra = dist.mean() if mean else dist.sum()
    else:
        per_class = []
        for c in classes:
            xc = x[labels == c]
            if variant == "mhs" and relaxed:  # Eq. 8
                per_class.append(torch.linalg.vector_norm(xc - w[c], dim=1).max())
                continue
            group = torch.cat([xc, w[c][None, :]], dim=0)  # {x_i}_{i in A_c} u {w_c}
            if variant == "mhe":  # Eq. 5: -E_{s_w}(group)
                per_class.append(-_energy(group, s_w, mean=mean))
            elif variant == "mhs":  # Eq. 7: theta^{-1}(group) = max pairwise distance
                per_class.append(_pair_distances(group).max())
            else:  # Eq. 10: det G(group)
                per_class.append(torch.linalg.det(_gaussian_gram(group, epsilon)))
        stacked = torch.stack(per_class) if per_class else x.new_zeros(1)
        intra = stacked.mean() if mean else stacked.sum()
    return alpha * inter + beta * intra


def hug_mhe(features: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor, *, relaxed: bool | None = None,
            alpha: float = 1.0, beta: float = 1.0, s_b: float = 2.0, s_w: float = -1.0,
            reduction: str = "sum") -> torch.Tensor:
    """MHE-HUG: :func:`hug_loss` with ``variant="mhe"`` (HUG paper, Eqs. 5-6).

    Minimum-hyperspherical-energy characterisation, to minimise:

    - relaxed (default, the paper's Table 1 choice), Eq. (6):
      alpha * sum_{c != c'} |w_c - w_c'|^{-s_b} + beta * sum_c sum_{i in A_c} |x_i - w_c|;
    - exact (``relaxed=False``), Eq. (5): alpha * E_{s_b}({w_c}) - beta * sum_c E_{s_w}({x_i}_{i in A_c} u {w_c}).

    Shapes: features (N, d), labels (N,) in [0, K), proxies (K, d); every argument has the meaning
    and default it has in :func:`hug_loss`. Returns a scalar tensor.
    """
    return hug_loss(features, labels, proxies, variant="mhe", relaxed=relaxed, alpha=alpha, beta=beta, s_b=s_b,
                    s_w=s_w, reduction=reduction)


def hug_mhs(features: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor, *, relaxed: bool | None = None,
            alpha: float = 1.0, beta: float = 1.0, reduction: str = "sum") -> torch.Tensor:
    """MHS-HUG: :func:`hug_loss` with ``variant="mhs"`` (HUG paper, Eqs. 7-8).

    Maximum-hyperspherical-separation characterisation, to minimise:

    - relaxed (default, the paper's Table 1 choice), Eq. (8):
      -alpha * min_{c != c'} |w_c - w_c'| + beta * sum_c max_{i in A_c} |x_i - w_c|;
    - exact (``relaxed=False``), Eq. (7):
      -alpha * min_{c != c'} |w_c - w_c'| + beta * sum_c max_{u != v in A_c u {w_c}} |u - v|.

    Shapes and arguments as in :func:`hug_loss`. Returns a scalar tensor.
    """
    return hug_loss(features, labels, proxies, variant="mhs", relaxed=relaxed, alpha=alpha, beta=beta,
                    reduction=reduction)


def hug_mgd(features: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor, *, relaxed: bool | None = None,
            alpha: float = 1.0, beta: float = 1.0, epsilon: float = 1.0, reduction: str = "sum") -> torch.Tensor:
    """MGD-HUG: :func:`hug_loss` with ``variant="mgd"`` (HUG paper, Eqs. 9-10).

    Maximum-Gram-determinant characterisation with the Gaussian kernel
    G_ij = exp(-epsilon^2 |v_i - v_j|^2), to minimise:

    - exact (default, the paper's Table 1 choice), Eq. (10):
      -alpha * log det G({w_c}) + beta * sum_c det G({x_i}_{i in A_c} u {w_c});
    - relaxed (``relaxed=True``, the HUG slides): -alpha * log det G({w_c}) + beta * sum_c sum_{i in A_c} |x_i - w_c|.

    See :func:`hug_loss` for why Eq. (10) collapses mini-batch training. Shapes and arguments as in
    :func:`hug_loss`. Returns a scalar tensor.
    """
    return hug_loss(features, labels, proxies, variant="mgd", relaxed=relaxed, alpha=alpha, beta=beta,
                    epsilon=epsilon, reduction=reduction)


# -------------------------------------------------------------------------------- HingeCE


def hinge_logits(features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor, *,
                 tau_plus: "float | torch.Tensor" = HINGECE_TAU_PLUS,
                 tau_minus: "float | torch.Tensor" = HINGECE_TAU_MINUS,
                 bias: torch.Tensor | None = None) -> torch.Tensor:
    """Hinge logits of HingeCE (Eq. 8 of the HingeCE paper), shape (N, K).

        h+(u, w_k, b_k) = min{<w_k, u>, sg(|u|) |w_k| cos tau+} + b_k   if k = y,
        h-(u, w_k, b_k) = max{<w_k, u>, sg(|u|) |w_k| cos tau-} + b_k   if k != y,

    where sg is stop-gradient. Features are *not* normalised (u in R^m, as in the paper); the proxies
    are the fixed classifier W (unit columns W_ETF in the paper). tau+ = 0 and tau- = pi give the plain
    logits <w_k, u> + b_k.

    Parameters
    ----------
    features : Tensor (N, m)
    proxies : Tensor (K, m)
    labels : LongTensor (N,)
    tau_plus, tau_minus : float or Tensor (K,)
        Angles in radians; a (K,) tensor gives per-class thresholds (Table 4 uses one tau+ for minor
        and another for major classes).
    bias : Tensor (K,), optional
        b; zero in the paper (Eq. 7).
    """
    _check_inputs(features, proxies, labels)
    inner = features @ proxies.t()
    # sg(|u|) |w_k|: only the feature norm is detached
    bound = (torch.linalg.vector_norm(features, dim=1).detach()[:, None]
             * torch.linalg.vector_norm(proxies, dim=1)[None, :])
    cos_plus = torch.cos(torch.as_tensor(tau_plus, dtype=inner.dtype, device=inner.device))
    cos_minus = torch.cos(torch.as_tensor(tau_minus, dtype=inner.dtype, device=inner.device))
    positive = torch.minimum(inner, bound * cos_plus)
    negative = torch.maximum(inner, bound * cos_minus)
    is_label = F.one_hot(labels, proxies.shape[0]).bool()
    logits = torch.where(is_label, positive, negative)
    if bias is not None:
        logits = logits + bias
    return logits


def hinge_ce(features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor, *,
             tau_plus: "float | torch.Tensor" = HINGECE_TAU_PLUS, tau_minus: "float | torch.Tensor" = HINGECE_TAU_MINUS,
             bias: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """HingeCE: cross entropy on the hinge logits of Eq. (8) (HingeCE paper, Eq. 7).

        (1/N) sum_i L_CE([h(u_i, y_i, w_1, b_1), ..., h(u_i, y_i, w_K, b_K)], y_i).

    Thm 1: with W a simplex ETF and tau+ = theta_K - tau- = tau, features in the maximal-separating-cone
    arrangement (angle(u_i, w_{y_i}) <= tau) get zero gradient. Defaults: tau+ = 13 pi / 36 (the value
    fixed for Tables 1 and 3; Table 4 lists per-dataset choices) and tau- = pi (Sec. 5).

    Parameters are those of :func:`hinge_logits`, plus ``reduction`` in {"mean", "sum"}.
    """
    _check_reduction(reduction)
    logits = hinge_logits(features, proxies, labels, tau_plus=tau_plus, tau_minus=tau_minus, bias=bias)
    return F.cross_entropy(logits, labels, reduction=reduction)


# ---------------------------------------------------------------------------- MHE regulariser


def mhe_regulariser(weights: torch.Tensor, s: float = 2.0, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Normalised hyperspherical energy of classifier neurons (thesis Eq. 5.4 and Sec. 5.3.6).

    Full form (the output-layer term T_o of Eq. 5.4, without lambda_o):

        1 / (N (N - 1)) * sum_{i != j} f_s(|w_i - w_j|),

    data-dependent mini-batch form (Sec. 5.3.6), when the batch labels y_1..y_m are given:

        1 / (m (N - 1)) * sum_{i=1}^m sum_{j != y_i} f_s(|w_{y_i} - w_j|),

    with w_i the normalised rows of ``weights`` (N neurons), f_s(z) = z^-s for s > 0 and
    log(1/z) for s = 0 (Eq. 5.1); s < 0 uses HUG's -z^-s. The thesis default is s = 2 (Euclidean).

    Parameters
    ----------
    weights : Tensor (N, d)
        Classifier neurons (e.g. ``head.proxies`` or a Linear layer's weight); normalised here.
    s : float
    labels : LongTensor (m,), optional

    Returns
    -------
    Tensor, scalar.
    """
    if weights.ndim != 2 or weights.shape[0] < 2:
        raise InvalidParameterError("weights", f"shape {tuple(weights.shape)}",
                                    "pass an (N, d) matrix with N >= 2 neurons")
    w = F.normalize(weights, dim=1)
    N = w.shape[0]
    if labels is None:
        return _energy(w, s) / (N * (N - 1))
    if labels.ndim != 1 or (labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= N)):
        raise InvalidParameterError("labels", f"shape {tuple(labels.shape)}",
                                    f"pass a 1-D tensor of class indices in [0, {N - 1}]")
    m = labels.shape[0]
    diff = w[labels][:, None, :] - w[None, :, :]  # (m, N, d)
    others = ~F.one_hot(labels, N).bool()  # j != y_i
    dist = torch.linalg.vector_norm(diff[others], dim=-1)
    return riesz_kernel(dist, s).sum() / (m * (N - 1))


# ------------------------------------------------------------------------------ nn.Modules


class TemperatureCELoss(nn.Module):
    """Module form of :func:`temperature_ce`: ``forward(features, proxies, labels)``."""

    def __init__(self, temperature: float = 0.1, reduction: str = "mean"):
        super().__init__()
        self.temperature = float(temperature)
        self.reduction = reduction

    def forward(self, features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return temperature_ce(features, proxies, labels, self.temperature, reduction=self.reduction)


class HUGLoss(nn.Module):
    """Module form of :func:`hug_loss`: ``forward(features, labels, proxies)``; keyword options as there."""

    def __init__(self, **options):
        super().__init__()
        self.options = dict(options)
        if self.options.get("variant", "mhe") not in HUG_VARIANTS:
            raise UnknownNameError("HUG variant", self.options["variant"], HUG_VARIANTS)

    def forward(self, features: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor) -> torch.Tensor:
        return hug_loss(features, labels, proxies, **self.options)


class HingeCELoss(nn.Module):
    """Module form of :func:`hinge_ce`: ``forward(features, proxies, labels)``."""

    def __init__(self, tau_plus: float = HINGECE_TAU_PLUS, tau_minus: float = HINGECE_TAU_MINUS,
                 reduction: str = "mean"):
        super().__init__()
        self.tau_plus = tau_plus
        self.tau_minus = tau_minus
        self.reduction = reduction

    def forward(self, features: torch.Tensor, proxies: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return hinge_ce(features, proxies, labels, tau_plus=self.tau_plus, tau_minus=self.tau_minus,
                        reduction=self.reduction)


class MHERegulariser(nn.Module):
    """Module form of :func:`mhe_regulariser`: ``forward(weights, labels=None)``."""

    def __init__(self, s: float = 2.0):
        super().__init__()
        self.s = float(s)

    def forward(self, weights: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return mhe_regulariser(weights, s=self.s, labels=labels)


#: Loss registry used by the trainer and the CLI: name -> function.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "ce": temperature_ce,
    "temperature_ce": temperature_ce,
    "hug": hug_loss,
    "hug_mhe": hug_mhe,
    "hug_mhs": hug_mhs,
    "hug_mgd": hug_mgd,
    "hinge_ce": hinge_ce,
}

#: The HUG variant each ``hug_*`` registry name fixes (``"hug"`` takes the variant as an option).
HUG_LOSS_VARIANTS: dict[str, str] = {"hug_mhe": "mhe", "hug_mhs": "mhs", "hug_mgd": "mgd"}


def get_loss(name: str) -> Callable[..., torch.Tensor]:
    """The loss function registered under ``name``; an unknown name lists the valid ones."""
    try:
        return LOSSES[name]
    except KeyError:
        raise UnknownNameError("loss", name, sorted(LOSSES)) from None
