"""``spherecodes plot``: pictures of a code (matplotlib needed)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import check_image_path, library_errors, require_extra


@click.command(name="plot")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Image file to write [default: PATH with suffix .png].")
@click.option("--normalise", is_flag=True, help="Project rows onto the sphere instead of requiring unit norm.")
@library_errors
def command(path, out, normalise):
    """Draw the code in PATH (d=2: circle, d=3: sphere), its angles and its convergence.

    Riesz codes on S^2 are coloured by their number of Delaunay neighbours (5, 6, 7: the disclination
    picture); Tammes codes show the contact graph and rattlers; the
    convergence panel appears when the file's provenance holds the score per round.
    """
    require_extra("matplotlib", "plot", "spherecodes plot")
    from ..code import Code
    from ..plot import plot_code

    out = out or str(Path(path).with_suffix(".png"))
    check_image_path(out, "--out")
    code = Code.load(path, normalise=normalise)
    plot_code(code, out)
    click.echo(f"written {out}")
