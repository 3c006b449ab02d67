"""``spherecodes catalog ...``: list, show, verify, merge, export, import, remove and locate catalogs.

Every subcommand takes ``--catalog PATH`` (default: the user catalog, ``$SPHERECODES_CATALOG``
or the platform data directory); read-only ones also take ``--builtin`` to read the catalog
shipped with the package. Exit statuses follow the CLI's one table (``spherecodes --help``): bad
input, including a file that is not a catalog, of a newer format, or read-only, exits 2 with a
one-line message; a key that is not stored exits 1 and comes with the nearest stored keys;
``verify`` exits with status 1 when a check fails. ``show`` reads the built-in catalog when the
user catalog does not hold the key, as ``lookup`` and ``export`` do.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

from ..catalog.format import dumps
from ..catalog.locations import builtin_catalog_path, user_catalog_path
from ..errors import CatalogError, InvalidParameterError
from ._common import bracket_key, library_errors, objective_param_options

__all__ = ["command", "catalog_option", "open_catalog"]


def catalog_option(func: Callable) -> Callable:
    """The ``--catalog PATH`` option shared by every catalog command."""
    return click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), default=None,
                        help="Catalog file (default: $SPHERECODES_CATALOG or the user data directory).")(func)


def _builtin_option(func: Callable) -> Callable:
    return click.option("--builtin", is_flag=True, help="Read the built-in catalog shipped with spherecodes.")(func)


def open_catalog(catalog_path: str | None, *, builtin: bool = False, write: bool = False):
    """The Catalog a command works on; reading a user catalog that does not exist yet gives an empty one."""
    from ..catalog.store import Catalog

    if builtin:
        if catalog_path:
            raise click.UsageError("pass either --catalog or --builtin, not both")
        path = builtin_catalog_path()
        if not path.is_file():
            raise click.UsageError(f"the built-in catalog is not installed ({path}); "
                                   "build it with scripts/build_builtin_catalog.py")
        return Catalog(path, "r")
    path = Path(catalog_path).expanduser() if catalog_path else user_catalog_path()
    return Catalog(path, "a" if (write or not path.exists()) else "r")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _no_entry_message(cat, key: str) -> str:
    """``no entry KEY in PATH`` and the nearest stored keys."""
    text = f"no entry {key} in {cat.path}"
    near = cat.near_keys(key)
    if near:
        text += f"; nearest stored: {', '.join(near)}"
    return text + "; see `spherecodes catalog list`"


def _fmt_scores(scores: dict[str, float], primary: str = "") -> str:
    names = sorted(scores, key=lambda n: (n != primary, n))
    return "  ".join(f"{n}={scores[n]:.12g}" for n in names)


@click.group("catalog")
def command() -> None:
    """Inspect and maintain code catalogs (HDF5 files of precomputed codes)."""


@command.command("list")
@click.option("--objective", default=None, help="Only this objective.")
@click.option("-d", "d", type=click.IntRange(min=2), default=None, help="Only this ambient dimension d.")
@click.option("-K", "K", type=click.IntRange(min=1), default=None, help="Only this number of points K.")
@click.option("--pattern", default=None, help="Shell-style pattern on the key, e.g. 'riesz*s=2*'.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@catalog_option
@_builtin_option
@library_errors
def list_cmd(objective, d, K, pattern, as_json, catalog_path, builtin) -> None:
    """List stored codes: key, primary score and date stored."""
    if objective is not None:
        from ..objectives import get_objective

        objective = get_objective(objective).name  # an unknown name: exit 2 listing the valid ones
    cat = open_catalog(catalog_path, builtin=builtin)
    entries = cat.list(objective=objective, d=d, K=K, pattern=pattern)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=1))
        return
    if not entries:
        click.echo(f"no entries in {cat.path}" + ("" if cat.path.exists() else " (no file yet)"), err=True)
        return
    width = max(len(e.key) for e in entries)
    for e in entries:
        score = f"{e.primary}={e.scores[e.primary]:.12g}" if e.primary in e.scores else _fmt_scores(e.scores)
        click.echo(f"{e.key:<{width}}  {score}  {e.stored}")
    click.echo(f"{len(entries)} entries in {cat.path}", err=True)


@command.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print metadata (and points with --points) as JSON.")
@click.option("--points", "with_points", is_flag=True, help="Also print the points, one row per line.")
@catalog_option
@_builtin_option
@library_errors
def show_cmd(key, as_json, with_points, catalog_path, builtin) -> None:
    """Show one stored code: parameters, scores, provenance (and points).

    KEY may leave out the parameters (riesz/d=3/K=12: the defaults). Without --builtin, a key the
    catalog does not hold is read from the built-in catalog.
    """
    key = bracket_key(key)
    cat = open_catalog(catalog_path, builtin=builtin)
    try:
        code = cat.get(key)
    except InvalidParameterError as exc:  # a malformed key: say why, and what is stored near it
        near = cat.near_keys(key)
        raise click.UsageError(_one_line(exc) + (f"; nearest stored: {', '.join(near)}" if near else "")) from None
    if code is None and not builtin and builtin_catalog_path().is_file():
        shipped = open_catalog(None, builtin=True)
        if shipped.path != cat.path:
            code = shipped.get(key)
            if code is not None:
                cat = shipped
    if code is None:
        from ..keys import parse_key
        from ..objectives import available_objectives

        objective = parse_key(key)[0]
        if objective not in available_objectives():  # a misspelt objective is bad input, not a miss
            raise click.UsageError(f"unknown objective {objective!r} (valid objectives are: "
                                   f"{', '.join(available_objectives())}): {_no_entry_message(cat, key)}")
        raise click.ClickException(_no_entry_message(cat, key))
    info = cat.info(key)
    meta = code.metadata()
    meta["key"] = code.key
    if info is not None:
        meta.update(stored=info.stored, sha256=info.sha256, primary=info.primary)
    if as_json:
        if with_points:
            meta["points"] = code.points.tolist()
        click.echo(dumps(meta))
        return
    click.echo(f"key:        {code.key}")
    click.echo(f"catalog:    {cat.path}")
    click.echo(f"objective:  {code.objective}  params: {json.dumps(meta['params'], sort_keys=True)}")
    click.echo(f"d, K:       {code.d}, {code.K}")
    click.echo(f"scores:     {_fmt_scores(dict(code.scores), meta.get('primary', ''))}")
    click.echo(f"stored:     {meta.get('stored', '')}  sha256: {meta.get('sha256', '')}")
    click.echo(f"provenance: {json.dumps(meta['provenance'], sort_keys=True)}")
    if meta.get("certificate") is not None:
        click.echo(f"certificate: {json.dumps(meta['certificate'], sort_keys=True)}")
    if with_points:
        np.savetxt(sys.stdout, code.points, fmt="%.17g")


@command.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@catalog_option
@_builtin_option
@library_errors
def verify_cmd(as_json, catalog_path, builtin) -> None:
    """Check every entry (checksum, unit norms, finiteness, scores); exit status 1 on any failure."""
    cat = open_catalog(catalog_path, builtin=builtin)
    report = cat.verify()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
    else:
        for e in report.failures:
            click.echo(f"FAIL {e.key}: {'; '.join(e.problems)}")
        click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@command.command("merge")
@click.argument("other", type=click.Path(exists=True, dir_okay=False))
@catalog_option
@library_errors
def merge_cmd(other, catalog_path) -> None:
    """Put every entry of catalog OTHER into this catalog, keeping the better code per key."""
    cat = open_catalog(catalog_path, write=True)
    counts = cat.merge(other)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()) + f"  -> {cat.path}")


@command.command("export")
@click.argument("keys", nargs=-1, required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="New catalog file to write.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@catalog_option
@_builtin_option
@library_errors
def export_cmd(keys, out, force, catalog_path, builtin) -> None:
    """Write the entries KEY... to a new catalog file (checksums verified)."""
    cat = open_catalog(catalog_path, builtin=builtin)
    path = cat.export(list(keys), out, overwrite=force)
    click.echo(f"exported {len(keys)} entries to {path}")


@command.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@catalog_option
@library_errors
def import_cmd(file, catalog_path) -> None:
    """Put the codes of FILE (a catalog .h5, or a .npz from Code.save) into this catalog."""
    cat = open_catalog(catalog_path, write=True)
    counts = cat.import_(file)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()) + f"  -> {cat.path}")


@command.command("remove")
@click.argument("key")
@catalog_option
@library_errors
def remove_cmd(key, catalog_path) -> None:
    """Delete the entry KEY (also works on entries that verify reports as unreadable)."""
    cat = open_catalog(catalog_path, write=True)
    key = bracket_key(key)
    if not cat.remove(key):
        raise click.ClickException(_no_entry_message(cat, key))
    click.echo(f"removed {key}")


@command.command("path")
@catalog_option
@_builtin_option
@library_errors
def path_cmd(catalog_path, builtin) -> None:
    """Print the catalog path that the other commands use (--builtin: the shipped catalog's path)."""
    if builtin:
        click.echo(str(builtin_catalog_path()))
    else:
        click.echo(str(Path(catalog_path).expanduser() if catalog_path else user_catalog_path()))


def _objective_list(objectives: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for item in objectives:
        names.extend(n.strip() for n in item.split(",") if n.strip())
    return list(dict.fromkeys(names))


@command.command("build")
@click.argument("keys", nargs=-1)
@click.option("--grid", is_flag=True,
              help="Build every (objective, d, K) of --objective x --dims x --sizes (instead of KEY arguments).")
@click.option("--objective", "objectives", multiple=True, metavar="NAME[,NAME...]",
              help="Objective(s) of the grid (repeat or separate with commas).")
@click.option("--dims", default=None, metavar="LIST", help="Dimensions d of the grid, e.g. 3,4 or 2-8.")
@click.option("--sizes", default=None, metavar="LIST", help="Sizes K of the grid, e.g. 4-10,16,32.")
@objective_param_options
@click.option("--restarts", type=click.IntRange(min=1), default=None, help="Restarts per key [default: generate's].")
@click.option("--rounds", type=click.IntRange(min=0), default=None, help="Basin-hopping rounds per key.")
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Seed of every solve.")
@click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per key (the best code found by then is stored).")
@click.option("--device", default=None,
              help="cpu, cuda or auto (--distributed with cuda: rank r uses cuda:LOCAL_RANK).")
@click.option("--force", is_flag=True, help="Also re-solve keys that are stored (the better code is kept).")
@click.option("--no-certify", is_flag=True, help="Store the codes without certificates.")
@click.option("--distributed", is_flag=True,
              help="Split the keys over the ranks of a torchrun launch: each rank writes a shard next to the "
                   "catalog, rank 0 merges them. Without torchrun: one rank.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (rank 0).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@catalog_option
@library_errors
def build_cmd(keys, grid, objectives, dims, sizes, extra, restarts, rounds, seed,
              time_budget, device, force, no_certify, distributed, as_json, quiet, catalog_path,
              **objective_params) -> None:
    """Compute and store codes: every KEY given, or with --grid a whole grid, cheapest first.

    Keys already stored are skipped (unless --force). Examples:

    \b
      spherecodes catalog build --grid --objective riesz --dims 3,4 --sizes 4-10 --catalog my.h5
      torchrun --nproc-per-node 4 -m spherecodes catalog build --grid --objective tammes \\
          --dims 3-8 --sizes 4-64 --distributed
    """
    from ..catalog_build import build_catalog, format_rows, grid_requests, key_requests, parse_int_list
    from ._common import collect_params, emit_json

    params = collect_params(objective_params, extra)
    if grid == bool(keys):
        raise click.UsageError("pass either --grid (with --objective, --dims, --sizes) or catalog KEYs, "
                               "e.g. 'riesz[s=1]/d=3/K=12'")
    if grid:
        missing = [o for o, v in (("--objective", objectives), ("--dims", dims), ("--sizes", sizes)) if not v]
        if missing:
            raise click.UsageError(f"--grid needs {', '.join(missing)}, e.g. --objective riesz --dims 3 --sizes 4-10")
        requests, invalid = grid_requests({n: params for n in _objective_list(objectives)},
                                          parse_int_list(dims, "dims", minimum=2), parse_int_list(sizes, "sizes"))
        for row in invalid:
            click.echo(f"skipping {row.key}: {row.note}", err=True)
        if not requests:
            raise click.UsageError("no (objective, d, K) of the grid is valid; see the messages above")
    else:
        if objectives or dims or sizes or params:
            raise click.UsageError("--objective, --dims, --sizes and parameters go with --grid; "
                                   "KEY arguments carry their own")
        requests = key_requests(keys)
    path = Path(catalog_path).expanduser() if catalog_path else user_catalog_path()
    if not distributed and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        click.echo("warning: launched with WORLD_SIZE > 1 but without --distributed: every rank builds every key",
                   err=True)

    from tqdm.auto import tqdm

    from ..errors import SpherecodesError

    with tqdm(total=0, desc="build", unit="key", file=sys.stderr, disable=quiet, leave=False) as bar:
        def planned(rank: int, world: int, n: int) -> None:
            bar.reset(total=n)
            if world > 1:
                bar.set_description(f"rank {rank}/{world}")

        def progress(row) -> None:
            bar.set_postfix_str(f"{row.key} {row.status}", refresh=False)
            bar.update(1)

        try:
            report = build_catalog(path, requests, restarts=restarts, rounds=rounds, seed=seed, device=device,
                                   time_budget=time_budget, force=force, certify=not no_certify,
                                   distributed=distributed, progress=progress, planned=planned)
        except (InvalidParameterError, CatalogError):
            raise
        except SpherecodesError as exc:
            raise click.ClickException(_one_line(exc)) from None
    if report.rank != 0:
        return
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(format_rows(report))
    if report.statuses.get("failed"):
        sys.exit(1)
