"""``spherecodes validate``: certify any file of points against known optima and bounds.

Exit status: 0 when the code is valid (finite, unit rows, distinct points, no bound violated); 1 when the
file was read but the code is not valid: duplicate points (the certificate names the pair, its distance and
the tolerance; with ``--json`` it is still printed) or a violated bound; 2 for bad input that cannot be
certified at all: a file that is not a (K, d) array of numbers, NaN or inf, rows not of unit norm (unless
``--normalize``), fewer than two points, an unknown objective or parameter. Errors are one line, no traceback.
"""

from __future__ import annotations

import click

from ..errors import InvalidParameterError
from ..objectives import available_objectives
from ._common import Choice, collect_params, emit_json, library_errors, objective_param_options


def _raw_array(path: str):
    """The array in the file as Code.load reads it, without any check; None when that fails.

    Only used to describe bad input precisely (which rows, by how much).
    """
    import warnings
    from pathlib import Path

    import numpy as np

    try:
        suffix = Path(path).suffix.lower()
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return np.asarray(data["points"], dtype=np.float64)
        if suffix == ".npy":
            return np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(Path(path).read_text().replace(",", " ").splitlines(), ndmin=2)
    except Exception:
        return None


def _describe_bad_rows(path: str) -> str:
    """'2 of 5 rows, worst row 1 with norm 1.5' or 'row 1, column 1 is nan (3 in all)'; '' if unknown."""
    import numpy as np

    X = _raw_array(path)
    if X is None or X.ndim != 2 or X.size == 0:
        return ""
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        return (f"row {i}, column {j} is {float(X[i, j])}; {int(bad.sum())} non-finite coordinate(s) "
                f"in {int(bad.any(axis=1).sum())} row(s)")
    from ..tolerances import unit_norm_tolerance

    dev = np.abs(np.linalg.norm(X, axis=1) - 1.0)
    off = dev > unit_norm_tolerance()
    worst = int(np.argmax(dev))
    return (f"{int(off.sum())} of {X.shape[0]} rows; worst: row {worst} has norm "
            f"{float(np.linalg.norm(X[worst])):.6g}, off by {float(dev[worst]):.3g}")


def _load(path: str, normalise: bool):
    """Code.load with the command line's error messages: they say which rows, by how much, and what to pass."""
    import warnings
    from pathlib import Path

    from ..code import Code

    if Path(path).suffix.lower() == ".pt":  # proxies written by `spherecodes export`
        from ..export import read_proxies

        return read_proxies(path)
    if Path(path).suffix.lower() not in (".npz", ".npy"):
        try:
            text = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"{path}: cannot be read as text ({type(exc).__name__}); "
                                   "pass a .npy, .npz or a text file with one point per line") from None
        if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
            raise click.UsageError(f"{path}: is empty; expected one point per line (K lines of d numbers)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's loadtxt warnings: the error below says it in one line
            return Code.load(path, normalise=normalise)
    except InvalidParameterError as exc:
        from ..tolerances import unit_norm_tolerance

        if "finite" in str(exc.fix):
            detail = _describe_bad_rows(path)
            raise click.UsageError(f"{path}: contains NaN or inf ({detail or exc.value}); "
                                   "every coordinate must be a finite number") from None
        if not normalise and "unit norm" in str(exc.fix):
            detail = _describe_bad_rows(path)
            raise click.UsageError(
                f"{path}: rows are not of unit norm ({detail or exc.value}; tolerance "
                f"{unit_norm_tolerance():.1e}); pass --normalize to project them onto the sphere") from None
        raise


@click.command(name="validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--objective", type=Choice(available_objectives()), default=None,
              help="Objective to certify for [default: the file's, else riesz].")
@objective_param_options
@click.option("--normalize", "--normalise", "normalise", is_flag=True,
              help="Project rows onto the sphere instead of requiring unit norm.")
@click.option("--no-lp", is_flag=True, help="Skip the linear-programming bounds (faster).")
@click.option("--json", "as_json", is_flag=True, help="Print the certificate as one JSON object.")
@library_errors
def command(path, objective, extra, normalise, no_lp, as_json, **objective_params):
    """Certify the code in PATH (.npz, .npy, proxies .pt, or a text file with one point per line).

    Exit status 0 when the code is valid (finite, unit rows, distinct points, no bound violated);
    1 when it is not (e.g. duplicate points: the certificate names the pair); 2 for unusable input
    (not a (K, d) array, NaN/inf, rows not of unit norm without --normalize, unknown objective).
    """
    from ..validation import certify

    code = _load(path, normalise)
    if code.K < 2:
        raise click.UsageError(f"{path}: holds {code.K} point; a code needs at least 2 points")
    params = collect_params(objective_params, extra)
    cert = certify(code, objective or (code.objective if code.objective in available_objectives() else "riesz"),
                   lp=not no_lp, **params)
    if as_json:
        emit_json(cert.to_dict())
    else:
        click.echo(cert.table())
    if not cert.ok:
        if not as_json:
            failed = [f"{k}: {v['reason']}" for k, v in cert.checks.items() if k != "stationary" and not v["ok"]]
            click.echo("invalid code: " + "; ".join(failed), err=True)
        raise SystemExit(1)
