"""Classifier heads whose class weights (proxies) live on the unit hypersphere.

Every head maps features of shape (N, d) to logits of shape (N, K),

    logits[i, c] = scale * <x_i / |x_i|, w_c / |w_c|>,

the cosine logits of the spherically constrained CE (Eq. 1 of the softmax-code
paper, ``/work/shared/papers/generalized-neural-collapse-softmax-codes.txt``) with
``scale = 1 / temperature``. The heads differ in where the proxies w_c come from,
matching the proxy types of Table 2 of the HUG paper
(``/work/shared/papers/hug-hyperspherical-uniformity-gap.txt``, Sec. 3.1):

- :class:`FixedProxyHead`: static proxies (a code), a buffer that receives no gradient;
- :class:`RotatedProxyHead`: "partially learnable" proxies P Q with a learned orthogonal Q;
- :class:`LearnableProxyHead`: free weights, normalised in the forward pass;
- :class:`ClassMeanHead`: the class-mean-feature (CMF) classifier of Sec. 5 of the softmax-code
  paper, an exponential moving average of mini-batch class means of normalised features.

Every head exposes ``.proxies``, the current unit proxies as a (K, d) tensor (with a graph for the
learnable kinds), used by the proxy-based losses (HUG, HingeCE) and by the NC3 metric.
A forward pass takes any batch size N >= 0 on the head's device, checks that the features are (N, d)
with the proxies' d and that labels (when given) are N class indices in [0, K), and raises
:class:`~spherecodes.errors.InvalidParameterError` otherwise.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..code import Code, as_points
from ..errors import InvalidParameterError, UnknownNameError

__all__ = [
    "DEFAULT_SCALE",
    "HEADS",
    "FixedProxyHead",
    "RotatedProxyHead",
    "LearnableProxyHead",
    "ClassMeanHead",
    "get_head",
    "resolve_proxies",
]

logger = logging.getLogger(__name__)

#: Default logit scale, 1 / temperature with temperature 0.1 (the softmax-code paper trains with small temperatures).
DEFAULT_SCALE = 10.0

_CONSTRUCTION_PREFIX = "construction:"


# ------------------------------------------------------------------------------------ proxies


def _construct(name: str, d: int, K: int) -> np.ndarray:
    from .. import construct  # imported lazily to keep this module torch + code only

    return np.array(construct(name, d, K).points)


def resolve_proxies(proxies: Any, *, num_classes: int | None = None, dim: int | None = None,
                    catalog: Any = None) -> np.ndarray:
    """Turn a proxy specification into a (K, d) float64 array of unit rows.

    Parameters
    ----------
    proxies : Code, array_like (K, d), torch.Tensor (K, d) or str
        A code; an array or tensor (rows are normalised, zero rows are an error); or a string:
        ``"construction:NAME"`` (``spherecodes.construct(NAME, dim, num_classes)``, needs both),
        the path of a ``.npy`` / ``.npz`` / ``.pt`` proxy file, or a catalog key such as
        ``riesz[metric=euclidean,s=1]/d=3/K=10`` (``spherecodes.lookup``).
    num_classes, dim : int, optional
        Expected K and d; checked when given.
    catalog : Catalog or path, optional
        Catalog searched first for a key (``spherecodes.lookup(..., catalog=catalog)``); default:
        the user catalog, then the built-in one.

    Returns
    -------
    numpy.ndarray, shape (K, d), float64.

    Raises
    ------
    InvalidParameterError
        K differs from ``num_classes`` (fewer codewords than classes, or more) or d from ``dim``;
        an unknown construction, unreadable file or malformed key.
    """
    if isinstance(proxies, Code):
        pts = np.array(proxies.points)
    elif isinstance(proxies, str):
        if proxies.startswith(_CONSTRUCTION_PREFIX):
            name = proxies[len(_CONSTRUCTION_PREFIX):]
            if num_classes is None or dim is None:
                raise InvalidParameterError("proxies", proxies, "a construction needs num_classes and dim")
            pts = _construct(name, int(dim), int(num_classes))
        elif Path(proxies).suffix.lower() in (".npy", ".npz", ".pt") and Path(proxies).exists():
            from ..export import load_proxies

            pts = np.array(load_proxies(proxies))
        else:
            from ..export import code_from_key

            pts = np.array(code_from_key(proxies, catalog=catalog).points)
    else:
        if isinstance(proxies, torch.Tensor):
            proxies = proxies.detach().cpu().double().numpy()
        pts = np.array(as_points(proxies, name="proxies", normalise=True))
    K, d = pts.shape
    if num_classes is not None and K != int(num_classes):
        relation = "fewer codewords than" if K < int(num_classes) else "more codewords than"
        raise InvalidParameterError("proxies", f"{K} proxies",
                                    f"{relation} the {num_classes} classes; pass exactly {num_classes} proxies "
                                    "(one codeword per class)")
    if dim is not None and d != int(dim):
        raise InvalidParameterError("proxies", f"proxies in R^{d}",
                                    f"the features are in R^{dim}; pass proxies with d={dim}")
    return pts


# -------------------------------------------------------------------------------------- heads


def _check_size(num_classes: Any, dim: Any) -> tuple[int, int]:
    for name, value in (("num_classes", num_classes), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(name, value, "pass a positive integer")
    return int(num_classes), int(dim)


class _ScaledCosineHead(nn.Module):
    """Shared part: the logit scale (a buffer, or a parameter when learned) and the cosine logits."""

    def __init__(self, scale: float, learn_scale: bool):
        super().__init__()
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise InvalidParameterError("scale", scale, "pass a finite logit scale > 0 (scale = 1 / temperature)")
        value = torch.tensor(float(scale), dtype=torch.get_default_dtype())
        if learn_scale:
            self.scale = nn.Parameter(value)
        else:
            self.register_buffer("scale", value)

    @property
    def proxies(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _proxy_tensor(self) -> torch.Tensor:
        """A (K, d) tensor with the proxies' shape, without computing them (overridden where that costs)."""
        return self.proxies

    @property
    def num_classes(self) -> int:
        return int(self._proxy_tensor().shape[0])

    def check_inputs(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        """Raise InvalidParameterError unless features are (N, d) with the proxies' d and labels (N,) in [0, K)."""
        K, d = (int(n) for n in self._proxy_tensor().shape)
        if not isinstance(features, torch.Tensor) or features.ndim != 2 or features.shape[1] != d:
            shape = tuple(features.shape) if hasattr(features, "shape") else type(features).__name__
            raise InvalidParameterError("features", f"shape {shape}",
                                        f"the proxies are in R^{d}; pass features of shape (N, {d})")
        if labels is None:
            return
        if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.shape[0] != features.shape[0]:
            shape = tuple(labels.shape) if hasattr(labels, "shape") else type(labels).__name__
            raise InvalidParameterError("labels", f"shape {shape}",
                                        f"pass one class index per feature row, shape ({features.shape[0]},)")
        if labels.is_floating_point() or labels.is_complex():
            raise InvalidParameterError("labels", f"dtype {labels.dtype}", "pass integer class indices")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= K):
            raise InvalidParameterError("labels", f"range [{int(labels.min())}, {int(labels.max())}]",
                                        f"labels must be class indices in [0, {K - 1}] (the head has {K} proxies)")

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits scale * cos(x_i, w_c), shape (N, K), for features of shape (N, d), any N >= 0.

        ``labels`` (N,) are checked (class indices in [0, K)) but not used here. The proxies are cast
        to the features' dtype, so a float32 head takes float64 features.
        """
        self.check_inputs(features, labels)
        proxies = self.proxies.to(features.dtype)
        return self.scale.to(features.dtype) * (F.normalize(features, dim=1) @ proxies.t())


class FixedProxyHead(_ScaledCosineHead):
    """Static proxies: a code held in a buffer, no gradient (the "static" proxies of HUG Table 2).

    Parameters
    ----------
    proxies : Code, array_like (K, d), torch.Tensor or str
        See :func:`resolve_proxies` (a catalog key or ``"construction:NAME"`` among others).
    scale : float
        Logit scale, 1 / temperature.
    learn_scale : bool
        Learn the scale (a scalar parameter) instead of fixing it.
    num_classes, dim : int, optional
        Needed for ``"construction:NAME"``; checked otherwise.
    catalog : Catalog or path, optional
        Catalog searched first when ``proxies`` is a catalog key (see :func:`resolve_proxies`).
    """

    def __init__(self, proxies: Any, scale: float = DEFAULT_SCALE, learn_scale: bool = False, *,
                 num_classes: int | None = None, dim: int | None = None, catalog: Any = None):
        super().__init__(scale, learn_scale)
        pts = resolve_proxies(proxies, num_classes=num_classes, dim=dim, catalog=catalog)
        self.register_buffer("proxy_buffer", torch.tensor(pts, dtype=torch.get_default_dtype()))

    @property
    def proxies(self) -> torch.Tensor:
        """The fixed unit proxies, shape (K, d)."""
        return self.proxy_buffer


class RotatedProxyHead(_ScaledCosineHead):
    """Partially learnable proxies: a fixed code P times a learned orthogonal matrix Q, proxies = P Q.

    The HUG paper (Sec. 3.1, "Partially learnable proxies"; Table 2) initialises the proxies with a
    uniform code and learns an orthogonal matrix that rotates them as a whole, so their relative
    geometry (all angles) is preserved. Q is parametrised by
    :func:`torch.nn.utils.parametrizations.orthogonal` and starts at the identity.

    Parameters are those of :class:`FixedProxyHead`.
    """

    def __init__(self, proxies: Any, scale: float = DEFAULT_SCALE, learn_scale: bool = False, *,
                 num_classes: int | None = None, dim: int | None = None, catalog: Any = None):
        super().__init__(scale, learn_scale)
        pts = resolve_proxies(proxies, num_classes=num_classes, dim=dim, catalog=catalog)
        d = pts.shape[1]
        self.register_buffer("base", torch.tensor(pts, dtype=torch.get_default_dtype()))
        rotation = nn.Linear(d, d, bias=False)
        with torch.no_grad():
            rotation.weight.copy_(torch.eye(d))
        self.rotation = nn.utils.parametrizations.orthogonal(rotation)

    def _proxy_tensor(self) -> torch.Tensor:
        return self.base

    @property
    def proxies(self) -> torch.Tensor:
        """P Q, shape (K, d); unit rows because Q is orthogonal."""
        return self.base @ self.rotation.weight


class LearnableProxyHead(_ScaledCosineHead):
    """Free proxies (a (K, d) parameter) normalised in the forward pass: a cosine classifier.

    Parameters
    ----------
    num_classes, dim : int
        K and d.
    init : optional
        Initial proxies (anything :func:`resolve_proxies` takes); by default rows of a standard
        Gaussian from torch's global generator, which are uniform on the sphere (HUG Proposition 1).
    scale, learn_scale, catalog : see :class:`FixedProxyHead`.
    """

    def __init__(self, num_classes: int, dim: int, *, init: Any = None, scale: float = DEFAULT_SCALE,
                 learn_scale: bool = False, catalog: Any = None):
        super().__init__(scale, learn_scale)
        num_classes, dim = _check_size(num_classes, dim)
        if init is None:
            weight = torch.randn(int(num_classes), int(dim))
        else:
            weight = torch.tensor(resolve_proxies(init, num_classes=num_classes, dim=dim, catalog=catalog),
                                  dtype=torch.get_default_dtype())
        self.weight = nn.Parameter(weight)

    def _proxy_tensor(self) -> torch.Tensor:
        return self.weight

    @property
    def proxies(self) -> torch.Tensor:
        """weight / row norms, shape (K, d)."""
        return F.normalize(self.weight, dim=1)


class ClassMeanHead(_ScaledCosineHead):
    """Class-mean-feature (CMF) classifier: proxies are EMAs of mini-batch class means.

    Sec. 5 of the softmax-code paper sets the classifier weights to "the exponential moving average
    of the mini-batch class-mean features during the training process" (motivated by GNC_3). In
    training mode, a forward pass given labels first updates, for each class c present in the batch,

        m_c <- momentum * m_c + (1 - momentum) * mean_{i : y_i = c} x_i / |x_i|

    (the first batch that contains c sets m_c to its batch mean), then computes the cosine logits
    against m_c / |m_c|. The means are buffers: no gradient reaches them; the loss still trains the
    features through the logits.

    Parameters
    ----------
    num_classes, dim : int
        K and d.
    momentum : float
        EMA factor in [0, 1).
    init : optional
        Initial proxies used until a class is first seen; by default Gaussian rows (global generator).
    scale, learn_scale, catalog : see :class:`FixedProxyHead`.
    """

    def __init__(self, num_classes: int, dim: int, *, momentum: float = 0.9, init: Any = None,
                 scale: float = DEFAULT_SCALE, learn_scale: bool = False, catalog: Any = None):
        super().__init__(scale, learn_scale)
        num_classes, dim = _check_size(num_classes, dim)
        if not (0.0 <= float(momentum) < 1.0):
            raise InvalidParameterError("momentum", momentum, "pass an EMA momentum in [0, 1)")
        self.momentum = float(momentum)
        if init is None:
            means = F.normalize(torch.randn(int(num_classes), int(dim)), dim=1)
        else:
            means = torch.tensor(resolve_proxies(init, num_classes=num_classes, dim=dim, catalog=catalog),
                                 dtype=torch.get_default_dtype())
        self.register_buffer("means", means)
        self.register_buffer("seen", torch.zeros(int(num_classes), dtype=torch.bool))

    @property
    def proxies(self) -> torch.Tensor:
        """Normalised class means, shape (K, d), detached."""
        return F.normalize(self.means, dim=1)

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """EMA update of the class means from a batch (features (N, d), integer labels (N,))."""
        x = F.normalize(features.detach(), dim=1).to(self.means.dtype)
        K = self.means.shape[0]
        counts = torch.bincount(labels, minlength=K).to(x.dtype)
        sums = torch.zeros_like(self.means).index_add_(0, labels, x)
        present = counts > 0
        batch_means = sums[present] / counts[present, None]
        old = self.means[present]
        first = ~self.seen[present]
        new = torch.where(first[:, None], batch_means, self.momentum * old + (1.0 - self.momentum) * batch_means)
        self.means[present] = new
        self.seen[present] = True

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Update the means (training mode, labels given), then return cosine logits (N, K)."""
        self.check_inputs(features, labels)
        if self.training and labels is not None:
            self.update(features, labels)
        return super().forward(features)


#: Head registry: name -> class.
HEADS: dict[str, type] = {
    "fixed": FixedProxyHead,
    "rotated": RotatedProxyHead,
    "learnable": LearnableProxyHead,
    "class_mean": ClassMeanHead,
}


def get_head(name: str) -> type:
    """The head class registered under ``name``; an unknown name lists the valid ones."""
    try:
        return HEADS[name]
    except KeyError:
        raise UnknownNameError("head", name, sorted(HEADS)) from None
