"""``spherecodes construct``: exact constructions (simplex, cross-polytope, 600-cell, E8, ...)."""

from __future__ import annotations

import click

from ..constructions import CONSTRUCTIONS, available_constructions
from ._common import Choice, emit_json, library_errors


def _list_constructions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for name in available_constructions():
        c = CONSTRUCTIONS[name]
        click.echo(f"{name:16s} {c.sizes:28s} {c.description}")
    ctx.exit(0)


def _fixed_size(name: str) -> tuple[int, int] | None:
    """(d, K) of a construction that exists for one size only (icosahedron, 24-cell, e8, ...), else None."""
    c = CONSTRUCTIONS[name]
    if c.fixed_d is None:
        return None
    d = c.fixed_d
    sizes = [K for K in range(2, 1000) if c.applies(d, K) is None]
    return (d, sizes[0]) if len(sizes) == 1 else None


@click.command(name="construct")
@click.argument("name", type=Choice(available_constructions()), required=False, metavar="NAME")
@click.option("--list", "list_", is_flag=True, is_eager=True, expose_value=False, callback=_list_constructions,
              help="List the constructions and the sizes they cover.")
@click.option("-d", "d", type=int, help="Ambient dimension.")
@click.option("-K", "K", type=int, help="Number of points.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the code to .npz or .npy.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@library_errors
def command(name, d, K, out, as_json):
    """Build the exact construction NAME with K points in R^d.

    -d and -K may be left out for a construction of one size only (icosahedron, 24-cell, 600-cell,
    hemicube5, schlafli, gosset, e8).
    """
    from ..api import construct

    if name is None:
        raise click.UsageError("missing NAME; see 'spherecodes construct --list'")
    fixed = _fixed_size(name)
    if fixed is not None:
        d = fixed[0] if d is None else d
        K = fixed[1] if K is None else K
    if d is None or K is None:
        raise click.UsageError(f"construct {name} needs -d and -K; see 'spherecodes construct --list' for sizes")
    code = construct(name, d, K)
    if out:
        code.save(out)
    if as_json:
        emit_json({"construction": name, "objective": code.objective, "params": dict(code.params), "d": code.d,
                   "K": code.K, "scores": dict(code.scores), "out": out})
        return
    click.echo(f"{name} d={code.d} K={code.K}")
    for key, value in code.scores.items():
        click.echo(f"  {key:>14s} = {value:.15g}")
    if out:
        click.echo(f"  written to {out}")
