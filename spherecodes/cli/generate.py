"""``spherecodes generate``: compute a code with the batched solver."""

from __future__ import annotations

import click

from ..objectives import available_objectives
from ..solvers import DEFAULTS
from ._common import collect_params, emit_json, library_errors, objective_param_options, progress_bar


@click.command(name="generate")
@click.argument("objective", type=click.Choice(available_objectives()))
@click.option("-d", "d", type=int, required=True, help="Ambient dimension (points on S^{d-1} in R^d).")
@click.option("-K", "K", type=int, required=True, help="Number of points.")
@objective_param_options
@click.option("--restarts", type=int, default=DEFAULTS["restarts"], show_default=True, help="Random starts per batch.")
@click.option("--rounds", type=int, default=DEFAULTS["rounds"], show_default=True, help="Basin-hopping rounds at most.")
@click.option("--seed", type=int, default=None, help="Random seed (same seed, same result on the same device).")
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default=None,
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
@library_errors
def command(objective, d, K, s, metric, half_space, eps, extra, restarts, rounds, seed, device, dtype, time_budget,
            no_constructions, catalog_path, no_catalog, force, lp_bounds, out, as_json, quiet):
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
    with progress_bar(rounds + 1, f"{objective} d={d} K={K}", enabled=not quiet) as bar:
        def on_round(info: dict) -> None:
            bar.update(1)
            bar.set_postfix(best=f"{info['best']:.10g}")

        code = generate(objective, d, K, restarts=restarts, rounds=rounds, seed=seed, device=device, dtype=dtype,
                        time_budget=time_budget, use_constructions=not no_constructions,
                        catalog=False if no_catalog else catalog_path, force=force, certify_lp=lp_bounds,
                        progress=on_round, **params)
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
    click.echo(f"  {'time':>14s} = {payload['time_s']:.2f} s   seed={payload['seed']}   ({payload['stop_reason']})")
    if payload["verdict"]:
        click.echo(f"  {'certificate':>14s} = {payload['verdict']}")
    if payload["construction"]:
        click.echo(f"  matches the exact construction '{payload['construction']}' (returned exactly)")
    if out:
        click.echo(f"  written to {out}")


def _verdict(code) -> str | None:
    cert = code.certificate
    if cert is None:
        return None
    return cert.get("verdict") if isinstance(cert, dict) else cert.verdict
