"""``spherecodes generate``: compute a code with the batched solver.

With ``--checkpoint FILE`` the search state is saved to FILE; Ctrl-C (SIGINT) or SIGTERM stops the
search within a second, saves it, prints the command that resumes it (``--resume``) and exits with
status 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import os
import shlex
import sys

import click

from ..objectives import available_objectives
from ..solvers import DEFAULTS
from ._common import Choice, collect_params, emit_json, library_errors, objective_param_options, progress_bar


@click.command(name="generate")
@click.argument("objective", type=Choice(available_objectives()))
@click.option("-d", "d", type=int, required=True, help="Ambient dimension (points on S^{d-1} in R^d).")
@click.option("-K", "K", type=int, required=True, help="Number of points.")
@objective_param_options
@click.option("--restarts", type=int, default=DEFAULTS["restarts"], show_default=True, help="Random starts per batch.")
@click.option("--rounds", type=int, default=DEFAULTS["rounds"], show_default=True, help="Basin-hopping rounds at most.")
@click.option("--seed", type=int, default=None, help="Random seed (same seed, same result on the same device).")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--dtype", type=Choice(["float32", "float64"]), default=None,
              help="First-phase dtype [default: float32 on CUDA, float64 on CPU]; the polish is float64.")
@click.option("--time-budget", type=float, default=None, help="Seconds; returns the best code found by then.")
@click.option("--no-constructions", is_flag=True, help="Do not compare with exact constructions.")
@click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), default=None,
              help="Catalog to read and store in [default: $SPHERECODES_CATALOG or the user data directory].")
@click.option("--no-catalog", is_flag=True, help="Neither read nor store in a catalog.")
@click.option("--force", is_flag=True, help="Recompute even if the catalog has this key; keep the better.")
@click.option("--lp-bounds", is_flag=True, help="Add the LP bounds (Delsarte, Yudin) to the certificate.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the code to .npz or .npy.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--checkpoint", "checkpoint", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Save the search state to FILE (.npz) after round 0, every few seconds and at the end; "
                   "Ctrl-C or SIGTERM then stops at once, saves it and prints how to resume.")
@click.option("--resume", is_flag=True, help="Continue the search saved in --checkpoint FILE (same options).")
@click.option("--tile", type=click.IntRange(min=1), default=None,
              help="Rows per block of the tiled pair evaluation (riesz, large K) [default: from the free memory].")
@click.option("--distributed", is_flag=True,
              help="Split the pair work of one configuration over the ranks of a torchrun launch (riesz; gloo on "
                   "CPU, NCCL on GPU): random restarts + L-BFGS + float64 polish, no basin hopping, no catalog; "
                   "rank 0 prints and writes --out. Without torchrun: one rank.")
@library_errors
def command(objective, d, K, s, metric, half_space, eps, extra, restarts, rounds, seed, device, dtype, time_budget,
            no_constructions, catalog_path, no_catalog, force, lp_bounds, out, as_json, quiet, checkpoint, resume,
            tile, distributed):
    """Compute K points on S^{d-1} that optimise OBJECTIVE.

    Example: spherecodes generate riesz -d 3 -K 100 --s 1 --json
    """
    from ..api import generate
    from ..objectives import get_objective
    from ..solvers.solve import check_size

    params = collect_params(s, metric, half_space, eps, extra)
    # validate before the progress bar appears, so that a bad request prints only its error
    check_size(d, K)
    get_objective(objective).normalise_params(**params)
    from ..kernels.tiled import tile_rows
    from ..solvers.solve import SearchInterrupted

    if distributed:
        _generate_distributed(objective, d, K, params, restarts=restarts, seed=seed, device=device, dtype=dtype,
                              time_budget=time_budget, tile=tile, out=out, as_json=as_json)
        return

    with tile_rows(tile), progress_bar(max(rounds, 0) + 1, f"{objective} d={d} K={K}", enabled=not quiet) as bar:
        def on_round(info: dict) -> None:
            bar.update(max(info["round"] + 1 - bar.n, 0))  # a resumed search starts part-way
            bar.set_postfix(best=f"{info['best']:.10g}")

        try:
            code = generate(objective, d, K, restarts=restarts, rounds=rounds, seed=seed, device=device,
                            dtype=dtype, time_budget=time_budget, use_constructions=not no_constructions,
                            catalog=False if no_catalog else catalog_path, force=force, certify_lp=lp_bounds,
                            progress=on_round, checkpoint=checkpoint, resume=resume, **params)
        except SearchInterrupted as exc:
            interrupted = exc
        else:
            interrupted = None
    if interrupted is not None:
        _report_interrupt(interrupted, get_objective(objective).primary)
        _exit_now(interrupted.exit_status)
    if out:
        code.save(out)
    payload = {"objective": code.objective, "params": dict(code.params), "d": code.d, "K": code.K,
               "scores": dict(code.scores), "time_s": code.provenance.get("time_s"), "out": out,
               "seed": code.provenance.get("seed"), "stop_reason": code.provenance.get("stop_reason"),
               "construction": code.provenance.get("construction"), "verdict": _verdict(code)}
    if as_json:
        emit_json(payload)
        return
    click.echo(f"{code.objective} {dict(code.params)} d={code.d} K={code.K}")
    for name, value in code.scores.items():
        click.echo(f"  {name:>14s} = {value:.15g}")
    # a code returned from a catalog may carry no timing, seed or stop reason (made elsewhere, or a construction)
    seconds = payload["time_s"]
    timing = f"{seconds:.2f} s" if isinstance(seconds, (int, float)) else "-"
    click.echo(f"  {'time':>14s} = {timing}   seed={payload['seed']}   ({payload['stop_reason'] or 'no search'})")
    if payload["verdict"]:
        click.echo(f"  {'certificate':>14s} = {payload['verdict']}")
    if payload["construction"]:
        click.echo(f"  matches the exact construction '{payload['construction']}' (returned exactly)")
    if out:
        click.echo(f"  written to {out}")


def _resume_command() -> str:
    """The command line that continues this search: the given options (not their defaults) and --resume."""
    ctx = click.get_current_context()
    parts = ["spherecodes", "generate"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if isinstance(param, click.Argument):
            parts.append(shlex.quote(str(value)))
            continue
        if param.name == "resume" or value is None or value == param.default or value == ():
            continue
        opt = min(param.opts, key=len) if param.name in ("d", "K") else max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            if value:
                parts.append(opt)
            elif getattr(param, "secondary_opts", None):
                parts.append(param.secondary_opts[0])
        elif getattr(param, "multiple", False):
            for item in value:
                parts += [opt, shlex.quote(str(item))]
        else:
            parts += [opt, shlex.quote(str(value))]
    return " ".join([*parts, "--resume"])


def _report_interrupt(exc, primary: str) -> None:
    """What an interrupted search prints on stderr: what was saved and the command that resumes it."""
    if exc.checkpoint is None:
        click.echo(f"spherecodes: {exc}", err=True)
        return
    best = f"{primary}={(exc.best_scores or {}).get(primary, float('nan')):.12g}"
    click.echo(f"spherecodes: interrupted by {exc.signal_name} after {exc.rounds_done} perturbation round(s); "
               f"best so far {best}", err=True)
    click.echo(f"  search state saved to {exc.checkpoint}", err=True)
    click.echo(f"  resume with: {_resume_command()}", err=True)


def _exit_now(status: int) -> None:
    """Exit with ``status`` at once when this is the real program (the state is saved and fsync-ed).

    The interpreter's normal teardown with torch loaded takes 0.5-2 s (static destructors), which
    would break "stops within a second". Under click's CliRunner or a captured stdout the normal
    SystemExit is raised instead, so that a test process is not ended.
    """
    if sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    raise SystemExit(status)


def _verdict(code) -> str | None:
    cert = code.certificate
    if cert is None:
        return None
    return cert.get("verdict") if isinstance(cert, dict) else cert.verdict


def _generate_distributed(objective, d, K, params, *, restarts, seed, device, dtype, time_budget, tile, out, as_json):
    """``generate --distributed``: every rank runs the same solve; rank 0 scores, writes and prints."""
    import torch

    from ..code import Code
    from ..errors import InvalidParameterError
    from ..objectives import get_objective
    from ..solvers.distributed import solve_distributed

    if time_budget is not None:
        raise InvalidParameterError("time-budget", time_budget,
                                    "not available with --distributed (ranks must stop together); drop it")
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    seed = 0 if seed is None else seed
    res = solve_distributed(objective, d, K, restarts=restarts, seed=seed, device=device, dtype=dtype, tile=tile,
                            **params)
    if res.rank != 0:
        return
    obj = get_objective(objective)
    scores = obj.score(res.points, res.params)
    code = Code(points=res.points, objective=obj.name, params=res.params, scores=scores,
                provenance={"solver": "solve_distributed", "seed": seed, "world_size": res.world_size,
                            "tile": res.tile, "iterations": res.iterations, "time_s": res.time_s,
                            "stop_reason": res.status[res.best]})
    if out:
        code.save(out)
    payload = {"objective": code.objective, "params": dict(code.params), "d": code.d, "K": code.K,
               "scores": dict(code.scores), "time_s": res.time_s, "out": out, "seed": seed,
               "stop_reason": res.status[res.best], "construction": None, "verdict": None,
               "world_size": res.world_size, "tile": res.tile}
    if as_json:
        emit_json(payload)
        return
    click.echo(f"{code.objective} {dict(code.params)} d={code.d} K={code.K}  "
               f"({res.world_size} rank(s), tile {res.tile})")
    for name, value in code.scores.items():
        click.echo(f"  {name:>14s} = {value:.15g}")
    click.echo(f"  {'time':>14s} = {res.time_s:.2f} s   seed={seed}   ({payload['stop_reason']})")
    if out:
        click.echo(f"  written to {out}")
