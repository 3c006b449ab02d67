"""``spherecodes export``: write a code as class proxies (.pt / .npy / .npz), optionally class-assigned."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SpherecodesError
from ._common import Choice

__all__ = ["command"]

_FORMATS = ("pt", "npy", "npz")


def _load_code(source: str, catalog: str | None = None):
    """A Code from a file (.npy/.npz/text/.pt) or a catalog key (looked up in ``catalog`` first)."""
    from ..code import Code

    path = Path(source)
    if path.exists():
        if path.suffix.lower() == ".pt":
            from ..export import load_proxies

            return Code(points=load_proxies(path), objective="unknown")
        return Code.load(path)
    from ..export import code_from_key

    # InvalidParameterError for a malformed key, LookupMiss when no catalog holds it
    return code_from_key(source, catalog=catalog)


@click.command(name="export")
@click.argument("file_or_key")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
@click.option("--format", "fmt", type=Choice(_FORMATS), default=None,
              help="Output format [default: from the suffix of --out].")
@click.option("--similarity", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="FILE.npy", help="(K, K) class-similarity matrix: assign similar classes to nearby codewords.")
@click.option("--restarts", type=click.IntRange(min=0), default=8, show_default=True,
              help="Random restarts of the class assignment.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the assignment restarts.")
@click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Catalog searched first when FILE_OR_KEY is a catalog key (then the built-in one) "
                   "[default: $SPHERECODES_CATALOG or the user data directory].")
def command(file_or_key, out, fmt, similarity, restarts, seed, catalog_path):
    """Export FILE_OR_KEY (a code file or catalog key) as class proxies to --out.

    Formats: pt (torch dict with 'proxies' (K, d) and 'metadata'), npy (points only), npz (points + metadata).
    The --similarity matrix must be (K, K) and symmetric: one row and column per class, K = number of codewords.
    """
    import numpy as np

    from ..export import assign_classes, save_proxies

    fmt = fmt or out.suffix.lstrip(".").lower()
    if fmt not in _FORMATS:
        raise click.BadParameter(f"cannot tell the format from {out.name!r}; use a .pt/.npy/.npz name or --format",
                                 param_hint="--out")
    try:
        code = _load_code(file_or_key, catalog_path)
    except SpherecodesError as exc:
        raise click.BadParameter(" ".join(str(exc).split()), param_hint="FILE_OR_KEY") from None
    permutation = None
    if similarity is not None:
        try:
            S = np.load(similarity, allow_pickle=False)
            result = assign_classes(code, S, restarts=restarts, seed=seed)
        except (SpherecodesError, ValueError, OSError) as exc:
            raise click.BadParameter(" ".join(str(exc).split()), param_hint="--similarity") from None
        permutation = result.permutation
        click.echo(f"assignment objective {result.objective_value:.10g} (identity {result.identity_value:.10g}, "
                   f"{result.iterations} steps)")
    try:
        save_proxies(code, out, permutation=permutation, format=fmt)
    except SpherecodesError as exc:
        raise click.BadParameter(" ".join(str(exc).split()), param_hint="--out") from None
    click.echo(f"wrote {code.K} proxies in R^{code.d} to {out} ({fmt})")
