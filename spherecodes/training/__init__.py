"""Training with fixed, rotated, learnable or class-mean proxies on the hypersphere (PyTorch).

Heads turn features (N, d) into logits (N, K); losses are the temperature CE,
the hyperspherical uniformity gap (HUG) family, HingeCE and the MHE regulariser;
metrics measure neural collapse (NC1, NC2, NC3) and the HUG reverse energy;
:func:`train` trains a small MLP on scikit-learn's bundled digits data.

This package depends on torch and on :mod:`spherecodes.code` only; the catalog
(:func:`spherecodes.lookup`) and constructions (:func:`spherecodes.construct`)
are imported lazily when a head is given a key or a construction name.
"""

from __future__ import annotations

from .heads import (
    HEADS,
    ClassMeanHead,
    FixedProxyHead,
    LearnableProxyHead,
    RotatedProxyHead,
    get_head,
    resolve_proxies,
)
from .losses import (
    LOSSES,
    HingeCELoss,
    HUGLoss,
    MHERegulariser,
    TemperatureCELoss,
    hinge_ce,
    hinge_logits,
    hug_loss,
    mhe_regulariser,
    temperature_ce,
)
from .metrics import nc_metrics, one_vs_rest_distances, reverse_energy
from .trainer import TrainResult, load_digits_split, train

__all__ = [
    "HEADS", "ClassMeanHead", "FixedProxyHead", "LearnableProxyHead", "RotatedProxyHead", "get_head",
    "resolve_proxies",
    "LOSSES", "HingeCELoss", "HUGLoss", "MHERegulariser", "TemperatureCELoss", "hinge_ce", "hinge_logits",
    "hug_loss", "mhe_regulariser", "temperature_ce",
    "nc_metrics", "one_vs_rest_distances", "reverse_energy",
    "TrainResult", "load_digits_split", "train",
]
