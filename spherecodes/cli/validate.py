"""``spherecodes validate``: certify any file of points against known optima and bounds."""

from __future__ import annotations

import click

from ..objectives import available_objectives
from ._common import collect_params, emit_json, library_errors, objective_param_options


@click.command(name="validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--objective", type=click.Choice(available_objectives()), default=None,
              help="Objective to certify for [default: the file's, else riesz].")
@objective_param_options
@click.option("--normalise", is_flag=True, help="Project rows onto the sphere instead of requiring unit norm.")
@click.option("--no-lp", is_flag=True, help="Skip the linear-programming bounds (faster).")
@click.option("--json", "as_json", is_flag=True, help="Print the certificate as one JSON object.")
@library_errors
def command(path, objective, s, metric, half_space, eps, extra, normalise, no_lp, as_json):
    """Certify the code in PATH (.npz, .npy or a text file with one point per line).

    Exit status 0 when the code is valid (finite, unit rows, no bound violated), 1 otherwise.
    """
    from ..code import Code
    from ..validation import certify

    code = Code.load(path, normalise=normalise)
    params = collect_params(s, metric, half_space, eps, extra)
    cert = certify(code, objective or (code.objective if code.objective in available_objectives() else "riesz"),
                   lp=not no_lp, **params)
    if as_json:
        emit_json(cert.to_dict())
    else:
        click.echo(cert.table())
    if not cert.ok:
        raise SystemExit(1)
