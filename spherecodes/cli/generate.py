"""``spherecodes generate``: compute a code with the batched solver (or return the stored one).

A catalog hit is returned as it is unless a search option (``--seed``, ``--restarts``, ``--rounds``,
``--time-budget``, ``--device``, ``--dtype``, ``--checkpoint``) is given: then the search runs and the better
of the stored and the new code is returned (see :func:`spherecodes.api.generate`). The output says where
the code came from (``source``: ``catalog:user``, ``catalog:builtin``, ``construction`` or ``solved``), this
call's seconds (``time_s``) and the seconds of the search that made it (``solve_time_s``).

Without ``--checkpoint``, Ctrl-C drops the run and says how to keep one next time. With
``--checkpoint FILE`` the search state is saved to FILE; Ctrl-C (SIGINT) or SIGTERM stops the
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

#: what a search option's help adds: giving it on a catalog hit means "search and keep the better"
_SEARCHES = " Given: search even on a catalog hit and keep the better code."


@click.command(name="generate")
@click.argument("objective", type=Choice(available_objectives()))
@click.option("-d", "d", type=int, required=True, help="Ambient dimension (points on S^{d-1} in R^d).")
@click.option("-K", "K", type=int, required=True, help="Number of points.")
@objective_param_options
@click.option("--restarts", type=int, default=None,
              help=f"Random starts per batch [default: {DEFAULTS['restarts']}].{_SEARCHES}")
@click.option("--rounds", type=int, default=None,
              help=f"Basin-hopping rounds at most [default: {DEFAULTS['rounds']}].{_SEARCHES}")
@click.option("--seed", type=int, default=None,
              help=f"Random seed (same seed, same result on the same device).{_SEARCHES}")
@click.option("--device", default=None, help=f"cpu, cuda, cuda:N or auto [default: auto].{_SEARCHES}")
@click.option("--dtype", type=Choice(["float32", "float64"]), default=None,
              help=f"First-phase dtype [default: float32 on CUDA, float64 on CPU]; the polish is float64.{_SEARCHES}")
@click.option("--time-budget", type=float, default=None,
              help=f"Seconds; returns the best code found by then.{_SEARCHES}")
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
                   "Ctrl-C or SIGTERM then stops at once, saves it and prints how to resume." + _SEARCHES)
@click.option("--resume", is_flag=True, help="Continue the search saved in --checkpoint FILE (same options).")
@click.option("--tile", type=click.IntRange(min=1), default=None,
              help="Rows per block of the tiled pair evaluation (riesz, large K) [default: from the free memory].")
@click.option("--distributed", is_flag=True,
              help="Split the pair work of one configuration over the ranks of a torchrun launch (riesz; gloo on "
                   "CPU, NCCL on GPU): random restarts + L-BFGS + float64 polish, no basin hopping, no catalog; "
                   "rank 0 prints and writes --out. Without torchrun: one rank.")
@library_errors
def command(objective, d, K, extra, restarts, rounds, seed, device, dtype, time_budget,
            no_constructions, catalog_path, no_catalog, force, lp_bounds, out, as_json, quiet, checkpoint, resume,
            tile, distributed, **objective_params):
    """Compute K points on S^{d-1} that optimise OBJECTIVE.

    A code stored in the catalog is returned as it is, unless a search option (--seed, --restarts,
    --rounds, --time-budget, --device, --dtype, --checkpoint) is given: then it searches and keeps
    the better of the stored and the new code. The output names the source of the code.

    Example: spherecodes generate riesz -d 3 -K 100 --s 1 --json
    """
    from ..api import generate
    from ..objectives import get_objective
    from ..solvers.options import SearchOptions
    from ..solvers.solve import check_size

    params = collect_params(objective_params, extra)
    # validate before the progress bar appears, so that a bad request prints only its error
    check_size(d, K)
    get_objective(objective).normalise_params(**params)
    SearchOptions(restarts=restarts, seed=seed, rounds=rounds, time_budget=time_budget, device=device,
                  dtype=dtype).validate()
    if not no_catalog and not distributed:
        from ..catalog import default_catalogs

        default_catalogs(catalog_path)  # an unusable --catalog: exit 2 before the progress bar
    if checkpoint is not None and not checkpoint.lower().endswith(".npz"):
        raise click.BadParameter(f"{checkpoint!r}: the search state is a numpy .npz archive; use a name ending "
                                 "in .npz", param_hint="--checkpoint")
    from ..kernels.tiled import tile_rows
    from ..solvers.solve import SearchInterrupted

    if distributed:
        _generate_distributed(objective, d, K, params, restarts=restarts, seed=seed, device=device, dtype=dtype,
                              time_budget=time_budget, tile=tile, out=out, as_json=as_json)
        return

    bar_rounds = DEFAULTS["rounds"] if rounds is None else rounds
    with tile_rows(tile), progress_bar(max(bar_rounds, 0) + 1, f"{objective} d={d} K={K}", enabled=not quiet) as bar:
        def on_round(info: dict) -> None:
            bar.update(max(info["round"] + 1 - bar.n, 0))  # a resumed search starts part-way
            if "iteration" in info:  # the large-K near-pair search reports every step of its one run
                bar.set_postfix(iteration=info["iteration"], best=f"{info['best']:.10g}")
            else:
                bar.set_postfix(best=f"{info['best']:.10g}")

        try:
            code = generate(objective, d, K, restarts=restarts, rounds=rounds, seed=seed, device=device,
                            dtype=dtype, time_budget=time_budget, use_constructions=not no_constructions,
                            catalog=False if no_catalog else catalog_path, force=force, certify_lp=lp_bounds,
                            progress=on_round, checkpoint=checkpoint, resume=resume, **params)
        except SearchInterrupted as exc:
            interrupted = exc
        except KeyboardInterrupt:
            # no checkpoint: the search state is gone; say how to keep it next time (exit status 130)
            click.echo("\nspherecodes: interrupted; nothing was saved. Add --checkpoint FILE.npz to keep the search "
                       "state on Ctrl-C, then rerun with --resume to continue it.", err=True)
            raise SystemExit(130) from None
        else:
            interrupted = None
    if interrupted is not None:
        _report_interrupt(interrupted, get_objective(objective).primary)
        _exit_now(interrupted.exit_status)
    if out:
        code.save(out)
    prov = code.provenance
    payload = {"objective": code.objective, "params": dict(code.params), "d": code.d, "K": code.K,
               "scores": dict(code.scores), "source": prov.get("source"), "time_s": prov.get("call_time_s"),
               "solve_time_s": prov.get("time_s"), "out": out, "seed": prov.get("seed"),
               "stop_reason": prov.get("stop_reason"), "construction": prov.get("construction"),
               "verdict": _verdict(code),
               "verdict_note": None if code.certificate is None else code.certificate.verdict_note()}
    if as_json:
        emit_json(payload)
        return
    click.echo(f"{code.objective} {dict(code.params)} d={code.d} K={code.K}")
    for name, value in code.scores.items():
        click.echo(f"  {name:>14s} = {value:.15g}")
    click.echo(f"  {'source':>14s} = {_describe_source(payload['source'])}")
    click.echo(f"  {'time':>14s} = {_seconds(payload['time_s'])} this call")
    # a code returned from a catalog may carry no timing, seed or stop reason (made elsewhere, or a construction)
    click.echo(f"  {'search':>14s} = {_seconds(payload['solve_time_s'])}   seed={payload['seed']}   "
               f"({_describe_stop(payload['stop_reason'])})")
    if payload["verdict"]:
        note = code.certificate.verdict_note()
        if payload["source"] and payload["source"].startswith("catalog:"):
            how = "stored with the code; `spherecodes validate` recomputes it, with the LP bounds"
        elif not lp_bounds:
            how = "without the LP bounds: --lp-bounds adds them, as `spherecodes validate` does"
        else:
            how = "with the LP bounds, as `spherecodes validate` computes it"
        click.echo(f"  {'certificate':>14s} = {payload['verdict']}" + (f" ({note})" if note else "") + f"  [{how}]")
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
    return None if code.certificate is None else code.certificate.verdict


#: how the human output names each source
_SOURCE_TEXT = {"catalog:user": "the user catalog (stored earlier; no search in this call)",
                "catalog:builtin": "the built-in catalog (shipped with spherecodes; no search in this call)",
                "construction": "an exact construction", "solved": "the solver (searched in this call)"}


def _describe_source(source: str | None) -> str:
    return f"{source}: {_SOURCE_TEXT[source]}" if source in _SOURCE_TEXT else str(source)


def _seconds(value) -> str:
    return f"{value:.2f} s" if isinstance(value, (int, float)) else "-"


def _describe_stop(stop_reason: str | None) -> str:
    """The stop reason, saying what a time budget means for the result."""
    if not stop_reason:
        return "no search"
    if "time" in stop_reason:
        return f"{stop_reason}: the best code found when the time budget ran out, not necessarily a local optimum"
    return stop_reason


def _generate_distributed(objective, d, K, params, *, restarts, seed, device, dtype, time_budget, tile, out, as_json):
    """``generate --distributed``: every rank runs the same solve; rank 0 scores, writes and prints."""
    import torch

    from ..api import code_from_result
    from ..errors import InvalidParameterError
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
    code = code_from_result(res, source="solved", seed=seed)
    if out:
        code.save(out)
    payload = {"objective": code.objective, "params": dict(code.params), "d": code.d, "K": code.K,
               "scores": dict(code.scores), "source": "solved", "time_s": res.time_s, "solve_time_s": res.time_s,
               "out": out, "seed": seed,
               "stop_reason": res.stop_reason, "construction": None, "verdict": None,
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
