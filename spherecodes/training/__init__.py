"""Training with fixed, rotated, learnable or class-mean proxies on the hypersphere (PyTorch).

Heads turn features (N, d) into logits (N, K); losses are the temperature CE,
the hyperspherical uniformity gap (HUG) family (:func:`hug_loss` and its variants
:func:`hug_mhe`, :func:`hug_mhs`, :func:`hug_mgd`), HingeCE and the MHE regulariser;
metrics measure neural collapse (NC1, NC2, NC3), the HUG average energy of the class
means (GNC(2)) and the HUG reverse energy; :func:`train` trains a small MLP on
scikit-learn's bundled digits data (the only bundled data set).

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
    HUG_LOSS_VARIANTS,
    HUG_VARIANTS,
    LOSSES,
    HingeCELoss,
    HUGLoss,
    MHERegulariser,
    TemperatureCELoss,
    hinge_ce,
    hinge_logits,
    hug_loss,
    hug_mgd,
    hug_mhe,
    hug_mhs,
    mhe_regulariser,
    temperature_ce,
)
from .metrics import average_energy, gnc2_energy, nc_metrics, one_vs_rest_distances, reverse_energy
from .trainer import DATASETS, TrainResult, load_dataset, load_digits_split, train

__all__ = [
    "HEADS", "ClassMeanHead", "FixedProxyHead", "LearnableProxyHead", "RotatedProxyHead", "get_head",
    "resolve_proxies",
    "HUG_LOSS_VARIANTS", "HUG_VARIANTS", "LOSSES", "HingeCELoss", "HUGLoss", "MHERegulariser", "TemperatureCELoss",
    "hinge_ce", "hinge_logits", "hug_loss", "hug_mhe", "hug_mhs", "hug_mgd", "mhe_regulariser", "temperature_ce",
    "average_energy", "gnc2_energy", "nc_metrics", "one_vs_rest_distances", "reverse_energy",
    "DATASETS", "TrainResult", "load_dataset", "load_digits_split", "train",
]
