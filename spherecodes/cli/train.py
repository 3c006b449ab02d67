"""``spherecodes train``: train a small MLP on the digits data with code proxies and print accuracy + NC metrics."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from ..errors import SpherecodesError
from ._common import Choice, cli_message, file_or_key, library_errors, require_extra

__all__ = ["command"]

_HEADS = ("fixed", "rotated", "learnable", "class_mean")
# the loss registry's names (spherecodes.training.losses.LOSSES), spelled out so --help needs no torch import
_LOSSES = ("ce", "temperature_ce", "hug", "hug_mhe", "hug_mhs", "hug_mgd", "hinge_ce")
_HUG_VARIANTS = ("mhe", "mhs", "mgd")
_DATASETS = ("digits",)  # spherecodes.training.trainer.DATASETS
_K = 10  # digit classes


def _finite(value):
    """JSON-safe copy: non-finite floats (an infinite energy, a NaN metric) become null, as strict JSON needs."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plot(result, path: Path) -> None:
    """2-D scatter of the test features (or their first two principal components) with the proxies."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise click.UsageError("--plot needs matplotlib, which is not installed") from None
    import numpy as np

    X = result.test_features / np.linalg.norm(result.test_features, axis=1, keepdims=True)
    P = result.proxies
    if X.shape[1] == 2:
        basis, title = np.eye(2), "normalised test features"
    else:  # project features and proxies on the top-2 principal directions of the features
        _, _, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
        basis, title = vt[:2].T, "normalised test features, first 2 principal components"
    Xp, Pp = X @ basis, P @ basis
    fig, ax = plt.subplots(figsize=(6, 6))
    sc = ax.scatter(Xp[:, 0], Xp[:, 1], c=result.test_labels, cmap="tab10", s=6, alpha=0.6)
    ax.scatter(Pp[:, 0], Pp[:, 1], c=np.arange(P.shape[0]), cmap="tab10", marker="*", s=250, edgecolors="k")
    ax.set_aspect("equal")
    ax.set_title(title)
    fig.colorbar(sc, ax=ax, label="class")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


@click.command(name="train")
@click.option("--dataset", type=Choice(_DATASETS), default="digits", show_default=True,
              help="Data set. Only scikit-learn's bundled digits (8x8 images, 10 classes, no download) is available.")
@click.option("--head", type=Choice(_HEADS), default="fixed", show_default=True, help="Classifier head.")
@click.option("--proxies", default=None, metavar="KEY|construction:NAME|FILE",
              help="Proxies: a catalog key, construction:NAME or a .npy/.npz/.pt file "
                   "[default: construction:simplex for fixed/rotated heads].")
@click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Catalog searched first when --proxies is a catalog key (then the built-in one) "
                   "[default: $SPHERECODES_CATALOG or the user data directory].")
@click.option("--loss", type=Choice(_LOSSES), default="ce", show_default=True,
              help="Training loss: ce (= temperature_ce), hug (variant from --hug-variant), hug_mhe, hug_mhs, "
                   "hug_mgd, hinge_ce.")
@click.option("--hug-variant", type=Choice(_HUG_VARIANTS), default=None,
              help="Uniformity measure of --loss hug [default: mhe; fixed by --loss hug_mhe/hug_mhs/hug_mgd].")
@click.option("--hug-relaxed/--hug-exact", "hug_relaxed", default=None,
              help="HUG intra-class term: relaxed (Eq. 6/8, slides for mgd) or exact (Eq. 5/7/10) "
                   "[default: the paper's Table 1 choice: relaxed for mhe/mhs, exact for mgd].")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=3e-3, show_default=True,
              help="Adam learning rate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dim", type=click.IntRange(min=2), default=16, show_default=True, help="Feature dimension d.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Logit scale = 1 / temperature.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="PNG",
              help="Write a 2-D plot of the test features (needs matplotlib).")
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
@library_errors
def command(dataset, head, proxies, catalog_path, loss, hug_variant, hug_relaxed, epochs, lr, seed, dim, scale,
            as_json, plot, no_progress):
    """Train a small MLP on scikit-learn's digits with hyperspherical class proxies.

    Prints test/train accuracy and neural-collapse metrics (NC1, NC2, NC3, the HUG average energy
    gnc2_energy_mean, reverse energy). digits is the only bundled data set.
    """
    require_extra("sklearn", "train", "spherecodes train (the digits data set)")
    from ..training import train  # torch is imported only when the command runs
    from ._common import check_image_path

    if plot is not None:
        check_image_path(plot, "--plot")
        require_extra("matplotlib", "plot", "--plot")
    if proxies is not None:
        proxies = file_or_key(proxies, "--proxies")
    if seed is not None and seed < 0:
        raise click.BadParameter(f"{seed}: the seed must be a non-negative integer", param_hint="--seed")

    if head in ("fixed", "rotated") and proxies is None and dim < _K - 1:
        raise click.BadParameter(f"the default simplex proxies need --dim >= {_K - 1}; pass --proxies for d={dim}",
                                 param_hint="--proxies")
    bar = None
    if not no_progress:
        from tqdm import tqdm

        bar = tqdm(total=epochs, desc="train", unit="epoch", file=sys.stderr, leave=False)

    def progress(epoch: int, total: int, stats: dict) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss']:.4g}", test_acc=f"{stats['test_accuracy']:.4f}")

    try:
        result = train(head=head, proxies=proxies, loss=loss, epochs=epochs, lr=lr, seed=seed, feature_dim=dim,
                       scale=scale, hug_variant=hug_variant, hug_relaxed=hug_relaxed, dataset=dataset,
                       catalog=catalog_path, progress=progress)
    except SpherecodesError as exc:
        from ..catalog.lookup import LookupMiss

        if isinstance(exc, LookupMiss):
            raise  # not found: exit status 1 (library_errors)
        message = cli_message(exc)  # one line, whatever the library wrote
        if getattr(exc, "param", None) == "hug_variant":
            raise click.BadParameter(message, param_hint="--hug-variant") from None
        # click has validated every other option, so what the library rejects is the proxy specification
        # (a file, key, construction or catalog that does not fit the task)
        raise click.BadParameter(message, param_hint="--proxies") from None
    finally:
        if bar is not None:
            bar.close()
    if plot is not None:
        _plot(result, plot)
    if as_json:
        click.echo(json.dumps(_finite(result.to_dict()), indent=2, sort_keys=True, allow_nan=False))
        return
    click.echo(f"dataset={dataset} head={head} loss={loss} d={dim} epochs={epochs} seed={seed}")
    click.echo(f"test accuracy   {result.test_accuracy:.4f}")
    click.echo(f"train accuracy  {result.train_accuracy:.4f}")
    for name, value in result.metrics.items():
        click.echo(f"{name:<22}{value:.6g}")
    if plot is not None:
        click.echo(f"plot written to {plot}")
