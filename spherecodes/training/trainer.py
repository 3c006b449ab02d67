"""Train a small MLP on scikit-learn's bundled digits data with a hyperspherical head.

Data: ``dataset="digits"``, the only bundled data set: :func:`sklearn.datasets.load_digits` (1797 8x8
images, 10 classes, shipped with scikit-learn, no download), optionally restricted to the digits
0..num_classes-1, a stratified train/test split seeded by ``seed``, inputs standardised with the
training statistics. Model: 64 -> hidden -> hidden -> feature_dim MLP (ReLU; the last layer is linear so
that features can take any sign, as the HingeCE paper requires), followed by a head from
:mod:`spherecodes.training.heads`. Everything runs on the CPU and is deterministic for a given seed
(torch's global generator is forked, so the caller's random state is left untouched).

Loss choices (``loss=``):

- ``"ce"`` (alias ``"temperature_ce"``): cross entropy on the head's logits, scale * cos (softmax-code
  paper, Eq. 1, temperature = 1/scale);
- ``"hug"``: :func:`~spherecodes.training.losses.hug_loss` on the features and the head's proxies,
  batch-size independent (``reduction="mean"``), variant ``hug_variant``; ``"hug_mhe"``, ``"hug_mhs"``,
  ``"hug_mgd"``: the same with the variant fixed by the name;
- ``"hinge_ce"``: :func:`~spherecodes.training.losses.hinge_ce` on the raw features and the proxies.

Prediction is always argmax of the head's logits, i.e. the nearest proxy in angle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidParameterError, UnknownNameError
from .heads import DEFAULT_SCALE, HEADS, ClassMeanHead, FixedProxyHead, LearnableProxyHead, RotatedProxyHead
from .losses import (
    HINGECE_TAU_MINUS,
    HINGECE_TAU_PLUS,
    HUG_LOSS_VARIANTS,
    HUG_VARIANTS,
    LOSSES,
    hinge_ce,
    hug_loss,
    mhe_regulariser,
)
from .metrics import nc_metrics

__all__ = ["TrainResult", "train", "load_digits_split", "load_dataset", "DATASETS", "DIGITS_CLASSES"]

logger = logging.getLogger(__name__)

#: Number of classes of the digits data.
DIGITS_CLASSES = 10

ProgressCallback = Callable[[int, int, dict], None]


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    test_accuracy, train_accuracy : float
        Fractions in [0, 1], evaluated in eval mode after the last epoch.
    metrics : dict of str to float
        :func:`~spherecodes.training.metrics.nc_metrics` of the training features with the final
        proxies (NC1, NC2, NC3, reverse energy).
    history : list of dict
        Per epoch: ``epoch``, ``loss`` (mean over batches), ``train_accuracy`` (on the fly, training
        mode), ``test_accuracy``.
    config : dict
        The arguments the run used.
    proxies : numpy.ndarray (K, d)
        Final unit proxies of the head.
    test_features : numpy.ndarray (N_test, d)
        Final features of the test set (for plots).
    test_labels : numpy.ndarray (N_test,)
    """

    test_accuracy: float
    train_accuracy: float
    metrics: dict
    history: list
    config: dict
    proxies: np.ndarray = field(repr=False)
    test_features: np.ndarray = field(repr=False)
    test_labels: np.ndarray = field(repr=False)

    def to_dict(self, *, arrays: bool = False) -> dict:
        """Plain JSON-compatible data; the arrays only when ``arrays`` is True."""
        out = asdict(self)
        for name in ("proxies", "test_features", "test_labels"):
            out.pop(name)
            if arrays:
                out[name] = getattr(self, name).tolist()
        return out


def load_digits_split(seed: int = 0, test_size: float = 0.25, num_classes: int = DIGITS_CLASSES
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, seeded split of the digits data, standardised with the training mean and std.

    Parameters
    ----------
    seed : int
        ``random_state`` of the split.
    test_size : float
        Fraction held out, in (0, 1).
    num_classes : int
        Keep the digits 0..num_classes-1 (2 <= num_classes <= 10); labels stay 0..num_classes-1.

    Returns
    -------
    X_train (n, 64) float32, y_train (n,) int64, X_test (m, 64) float32, y_test (m,) int64.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or not (
            2 <= num_classes <= DIGITS_CLASSES):
        raise InvalidParameterError("num_classes", num_classes, f"the digits data has classes 0..{DIGITS_CLASSES - 1}; "
                                    f"pass an integer in [2, {DIGITS_CLASSES}]")
    if not (isinstance(test_size, (int, float)) and 0.0 < test_size < 1.0):
        raise InvalidParameterError("test_size", test_size, "pass a fraction in (0, 1)")
    X, y = load_digits(return_X_y=True)
    keep = y < int(num_classes)
    X, y = X[keep], y[keep]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=int(seed))
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1.0  # constant border pixels
    return (((X_train - mean) / std).astype(np.float32), y_train.astype(np.int64),
            ((X_test - mean) / std).astype(np.float32), y_test.astype(np.int64))


#: Data sets :func:`train` can use: name -> loader ``(seed, test_size, num_classes) -> (X_train, y_train,
#: X_test, y_test)``, with the number of classes it has. Only scikit-learn's bundled digits (no download).
DATASETS: dict[str, tuple[Callable[..., tuple], int]] = {"digits": (load_digits_split, DIGITS_CLASSES)}


def load_dataset(name: str, seed: int = 0, test_size: float = 0.25, num_classes: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split of the data set registered as ``name`` (see :data:`DATASETS`); an unknown name lists the valid ones.

    ``num_classes`` None keeps all classes of the data set. Returns X_train, y_train, X_test, y_test.
    """
    try:
        loader, total = DATASETS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("dataset", name, sorted(DATASETS)) from None
    return loader(seed, test_size, total if num_classes is None else num_classes)


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, out_dim))


def _make_head(head: str, proxies: Any, K: int, d: int, scale: float, learn_scale: bool, momentum: float,
               catalog: Any = None) -> nn.Module:
    if head not in HEADS:
        raise UnknownNameError("head", head, sorted(HEADS))
    if head in ("fixed", "rotated"):
        if proxies is None:
            if d < K - 1:
                raise InvalidParameterError("proxies", None, f"the default simplex needs feature_dim >= {K - 1}; "
                                            "pass proxies (a catalog key, 'construction:NAME', a file or an array)")
            proxies = "construction:simplex"
        cls = FixedProxyHead if head == "fixed" else RotatedProxyHead
        return cls(proxies, scale=scale, learn_scale=learn_scale, num_classes=K, dim=d, catalog=catalog)
    if head == "learnable":
        return LearnableProxyHead(K, d, init=proxies, scale=scale, learn_scale=learn_scale, catalog=catalog)
    return ClassMeanHead(K, d, init=proxies, momentum=momentum, scale=scale, learn_scale=learn_scale,
                         catalog=catalog)


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == labels).double().mean())


def train(head: str = "fixed", proxies: Any = None, loss: str = "ce", *, epochs: int = 30, lr: float = 3e-3,
          seed: int = 0, feature_dim: int = 16, hidden_dim: int = 128, batch_size: int = 64,
          scale: float = DEFAULT_SCALE, learn_scale: bool = False, weight_decay: float = 5e-4,
          hug_variant: str | None = None, hug_relaxed: bool | None = None, hug_alpha: float = 1.0,
          hug_beta: float = 1.0, tau_plus: float = HINGECE_TAU_PLUS, tau_minus: float = HINGECE_TAU_MINUS,
          mhe_weight: float = 0.0, momentum: float = 0.9, test_size: float = 0.25, dataset: str = "digits",
          num_classes: int | None = None, catalog: Any = None,
          progress: ProgressCallback | None = None) -> TrainResult:
    """Train an MLP with a hyperspherical head on the digits data and report accuracy and NC metrics.

    Parameters
    ----------
    head : {"fixed", "rotated", "learnable", "class_mean"}
        See :mod:`spherecodes.training.heads`.
    proxies : optional
        Proxies for fixed / rotated heads, or the initialisation of learnable / class-mean heads:
        a Code, a (K, feature_dim) array or tensor, a catalog key, ``"construction:NAME"`` or a proxy
        file. Default for fixed / rotated: ``"construction:simplex"`` (needs feature_dim >= K - 1).
    loss : {"ce", "temperature_ce", "hug", "hug_mhe", "hug_mhs", "hug_mgd", "hinge_ce"}
        See the module docstring; the registry is :data:`~spherecodes.training.losses.LOSSES`.
    epochs, lr, seed, batch_size, weight_decay :
        Adam with weight decay, shuffled mini-batches, everything seeded by ``seed``.
    feature_dim, hidden_dim : int
        d (the sphere's ambient dimension) and the MLP width.
    scale, learn_scale :
        Logit scale 1 / temperature of the heads (used by "ce" and for prediction).
    hug_variant : {"mhe", "mhs", "mgd"}, optional
        Variant for ``loss="hug"`` (default "mhe"); for ``"hug_mhe"`` etc. the name fixes it, and a
        different ``hug_variant`` is an error.
    hug_relaxed, hug_alpha, hug_beta :
        Options of :func:`~spherecodes.training.losses.hug_loss` (``reduction="mean"`` here).
    tau_plus, tau_minus : float
        HingeCE thresholds (radians).
    mhe_weight : float
        lambda of an added data-dependent MHE regulariser on the proxies (thesis Sec. 5.3.6, s = 2);
        only meaningful for learnable proxies.
    momentum : float
        EMA momentum of the class-mean head.
    test_size : float
        Fraction of the data held out.
    dataset : {"digits"}
        Registered in :data:`DATASETS`; digits (bundled with scikit-learn) is the only one.
    num_classes : int, optional
        Use the first ``num_classes`` classes of the data set (K); default all (10 for digits).
    catalog : Catalog or path, optional
        Catalog searched first when ``proxies`` is a catalog key (``spherecodes.lookup(..., catalog=...)``).
    progress : callable, optional
        Called after every epoch as ``progress(epoch, epochs, stats)`` with the history entry.

    Returns
    -------
    TrainResult
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameterError("seed", seed, "pass a non-negative integer")
    if loss not in LOSSES:
        raise UnknownNameError("loss", loss, sorted(LOSSES))
    if hug_variant is not None and hug_variant not in HUG_VARIANTS:
        raise UnknownNameError("HUG variant", hug_variant, HUG_VARIANTS)
    if loss in HUG_LOSS_VARIANTS:
        if hug_variant is not None and hug_variant != HUG_LOSS_VARIANTS[loss]:
            raise InvalidParameterError("hug_variant", hug_variant,
                                        f"loss={loss!r} fixes the variant {HUG_LOSS_VARIANTS[loss]!r}; "
                                        "drop hug_variant or use loss='hug'")
        hug_variant = HUG_LOSS_VARIANTS[loss]
    hug_variant = hug_variant or "mhe"
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise UnknownNameError("dataset", dataset, sorted(DATASETS))
    for name, value, low in (("epochs", epochs, 1), ("feature_dim", feature_dim, 2), ("hidden_dim", hidden_dim, 1),
                             ("batch_size", batch_size, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise InvalidParameterError(name, value, f"pass an integer >= {low}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise InvalidParameterError("lr", lr, "pass a learning rate > 0")
    config = dict(head=head, proxies=proxies if isinstance(proxies, (str, type(None))) else type(proxies).__name__,
                  loss=loss, epochs=int(epochs), lr=float(lr), seed=int(seed), feature_dim=int(feature_dim),
                  hidden_dim=int(hidden_dim), batch_size=int(batch_size), scale=float(scale),
                  learn_scale=bool(learn_scale), weight_decay=float(weight_decay), hug_variant=hug_variant,
                  hug_relaxed=hug_relaxed, hug_alpha=float(hug_alpha), hug_beta=float(hug_beta),
                  tau_plus=float(tau_plus), tau_minus=float(tau_minus), mhe_weight=float(mhe_weight),
                  momentum=float(momentum), test_size=float(test_size), dataset=dataset,
                  catalog=None if catalog is None else str(getattr(catalog, "path", catalog)))

    X_train, y_train, X_test, y_test = load_dataset(dataset, seed, test_size, num_classes)
    K, d = int(DATASETS[dataset][1] if num_classes is None else num_classes), int(feature_dim)
    config["num_classes"] = K
    Xtr, ytr = torch.from_numpy(X_train), torch.from_numpy(y_train)
    Xte, yte = torch.from_numpy(X_test), torch.from_numpy(y_test)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        generator = torch.Generator().manual_seed(int(seed))
        body = _mlp(Xtr.shape[1], int(hidden_dim), d)
        head_module = _make_head(head, proxies, K, d, float(scale), bool(learn_scale), float(momentum), catalog)
        params = list(body.parameters()) + [p for p in head_module.parameters() if p.requires_grad]
        optimiser = torch.optim.Adam(params, lr=float(lr), weight_decay=float(weight_decay))
        history: list[dict] = []
        n = Xtr.shape[0]
        for epoch in range(1, int(epochs) + 1):
            body.train()
            head_module.train()
            order = torch.randperm(n, generator=generator)
            total_loss, correct = 0.0, 0
            for start in range(0, n, int(batch_size)):
                idx = order[start:start + int(batch_size)]
                xb, yb = Xtr[idx], ytr[idx]
                features = body(xb)
                logits = head_module(features, yb)
                if loss in ("ce", "temperature_ce"):
                    value = F.cross_entropy(logits, yb)
                elif loss == "hug" or loss in HUG_LOSS_VARIANTS:
                    value = hug_loss(features, yb, head_module.proxies, variant=hug_variant, relaxed=hug_relaxed,
                                     alpha=float(hug_alpha), beta=float(hug_beta), reduction="mean")
                else:
                    value = hinge_ce(features, head_module.proxies, yb, tau_plus=tau_plus, tau_minus=tau_minus)
                if mhe_weight:
                    value = value + float(mhe_weight) * mhe_regulariser(head_module.proxies, s=2.0, labels=yb)
                optimiser.zero_grad(set_to_none=True)
                value.backward()
                optimiser.step()
                total_loss += float(value.detach()) * idx.numel()
                correct += int((logits.detach().argmax(dim=1) == yb).sum())
            body.eval()
            head_module.eval()
            with torch.no_grad():
                test_acc = _accuracy(head_module(body(Xte)), yte)
            entry = {"epoch": epoch, "loss": total_loss / n, "train_accuracy": correct / n, "test_accuracy": test_acc}
            history.append(entry)
            logger.debug("epoch %d: %s", epoch, entry)
            if progress is not None:
                progress(epoch, int(epochs), dict(entry))
            if not math.isfinite(entry["loss"]):
                logger.warning("loss became %s at epoch %d; stopping", entry["loss"], epoch)
                break

        body.eval()
        head_module.eval()
        with torch.no_grad():
            train_features = body(Xtr)
            train_acc = _accuracy(head_module(train_features), ytr)
            test_features = body(Xte)
            test_acc = _accuracy(head_module(test_features), yte)
            final_proxies = head_module.proxies.detach().double()
    metrics = nc_metrics(train_features, ytr, final_proxies, num_classes=K)
    return TrainResult(test_accuracy=test_acc, train_accuracy=train_acc, metrics=metrics, history=history,
                       config=config, proxies=final_proxies.numpy(), test_features=test_features.double().numpy(),
                       test_labels=y_test)
