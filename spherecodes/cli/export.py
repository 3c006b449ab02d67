"""``spherecodes export``: write a code as class proxies (.pt / .npy / .npz), optionally class-assigned."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SpherecodesError
from ._common import Choice, cli_message, library_errors
from ._common import file_or_key as file_or_key_of

__all__ = ["command"]

_FORMATS = ("pt", "npy", "npz")


def _load_code(source: str, catalog: str | None = None):
    """A Code from a file (.npy/.npz/text/.pt) or a catalog key (looked up in ``catalog`` first)."""
    path = Path(source)
    if path.exists():
        from ..export import read_proxies

        return read_proxies(path)
    from ..export import code_from_key

    # InvalidParameterError for a malformed key, LookupMiss when no catalog holds it (exit 1)
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
@click.option("--dtype", type=Choice(["float32", "float64"]), default=None,
              help="dtype of the written rows [default: float32 for .pt (as code.to_torch()), float64 for "
                   ".npy/.npz].")
@library_errors
def command(file_or_key, out, fmt, similarity, restarts, seed, catalog_path, dtype):
    """Export FILE_OR_KEY (a code file or catalog key) as class proxies to --out.

    A key may leave out the parameters (riesz/d=3/K=12: the defaults); it is looked up in --catalog,
    then in the built-in catalog (exit status 1 when neither holds it).

    Formats: pt (torch dict with 'proxies' (K, d) and 'metadata'), npy (points only), npz (points + metadata).
    The --similarity matrix must be (K, K) and symmetric: one row and column per class, K = number of codewords.
    """
    import numpy as np

    from ..export import assign_classes, save_proxies

    fmt = fmt or out.suffix.lstrip(".").lower()
    if fmt not in _FORMATS:
        raise click.BadParameter(f"cannot tell the format from {out.name!r}; use a .pt/.npy/.npz name or --format",
                                 param_hint="--out")
    from ..catalog.lookup import LookupMiss

    source = file_or_key_of(file_or_key, "FILE_OR_KEY")
    try:
        code = _load_code(source, catalog_path)
    except LookupMiss:
        raise
    except SpherecodesError as exc:
        raise click.BadParameter(cli_message(exc), param_hint="FILE_OR_KEY") from None
    permutation = None
    if similarity is not None:
        try:
            S = np.load(similarity, allow_pickle=False)
            result = assign_classes(code, S, restarts=restarts, seed=seed)
        except (SpherecodesError, ValueError, OSError) as exc:
            raise click.BadParameter(cli_message(exc), param_hint="--similarity") from None
        permutation = result.permutation
        click.echo(f"assignment objective {result.objective_value:.10g} (identity {result.identity_value:.10g}, "
                   f"{result.iterations} steps)")
    try:
        save_proxies(code, out, permutation=permutation, format=fmt, dtype=dtype)
    except SpherecodesError as exc:
        raise click.BadParameter(cli_message(exc), param_hint="--out") from None
    width = dtype or ("float32" if fmt == "pt" else "float64")
    click.echo(f"wrote {code.K} proxies in R^{code.d} to {out} ({fmt}, {width})")
