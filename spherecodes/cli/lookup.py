"""``spherecodes lookup OBJECTIVE -d D -K K``: get a stored code (user catalog, then the built-in one).

Exit status: 0 found (or computed with ``--compute``), 1 not stored (the message lists the
nearest stored sizes and the command that makes it), 2 bad input.
"""

from __future__ import annotations

import json

import click

from ..catalog.format import dumps
from ._common import collect_params, library_errors, objective_param_options
from .catalog import catalog_option

__all__ = ["command"]

_PROVENANCE_SHOWN = ("solver", "construction", "seed", "restarts", "time_s", "version")


@click.command("lookup")
@click.argument("objective")
@click.option("-d", "d", type=click.IntRange(min=2), required=True, help="Ambient dimension d (points on S^{d-1}).")
@click.option("-K", "K", type=click.IntRange(min=2), required=True, help="Number of points K (a code has >= 2).")
@objective_param_options
@click.option("--compute", is_flag=True, help="On a miss, generate the code and store it in the catalog.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Save the code to FILE (.npz with metadata, or .npy points only).")
@click.option("--json", "as_json", is_flag=True, help="Print metadata and points as one JSON object.")
@catalog_option
@library_errors
def command(objective, d, K, extra, compute, out, as_json, catalog_path, **objective_params) -> None:
    """Look up the stored code for OBJECTIVE with K points in d dimensions.

    Searches --catalog (default: the user catalog) and then the built-in catalog.
    Exit status 1 when the code is not stored (the message says how to make it).

    Example: spherecodes lookup riesz -d 3 -K 12 --out thomson12.npz
    """
    from ..catalog_compute import lookup

    params = collect_params(objective_params, extra)
    code = lookup(objective, d, K, catalog=catalog_path, compute=compute, **params)
    if out:
        path = code.save(out)
        click.echo(f"wrote {path}", err=as_json)
    if as_json:
        meta = code.metadata()
        meta["key"] = code.key
        meta["points"] = code.points.tolist()
        click.echo(dumps(meta))
        return
    if not out:
        click.echo(code.key)
        for name, value in code.scores.items():
            click.echo(f"  {name:>14s} = {value:.15g}")
        # the headline of the provenance; --json or `catalog show` print all of it
        prov = {k: code.provenance[k] for k in _PROVENANCE_SHOWN if k in code.provenance}
        if prov:
            click.echo(f"  provenance: {json.dumps(prov, sort_keys=True, default=str)}")
