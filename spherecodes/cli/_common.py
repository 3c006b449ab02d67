"""Pieces shared by the sub-commands: error translation, JSON output, parameter options."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import Any

import click

from ..errors import InvalidParameterError, ResourceError, SpherecodesError

__all__ = ["Choice", "library_errors", "emit_json", "parse_param_options", "objective_param_options", "progress_bar"]


class Choice(click.Choice):
    """:class:`click.Choice` whose "missing argument" error fits on one line (click lists the choices on
    tab-indented lines after it, which breaks the one-error-line contract of the CLI)."""

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "Choose from: " + ", ".join(map(str, self.choices)) + "."


def library_errors(func: Callable) -> Callable:
    """Turn the library's own errors into click errors: bad input exits 2 with one line, others exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InvalidParameterError, ResourceError) as exc:
            raise click.UsageError(str(exc)) from None
        except SpherecodesError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def emit_json(payload: dict) -> None:
    """Print one JSON object on stdout (non-finite floats as strings, so it is strict JSON)."""
    from ..code import _jsonable

    click.echo(json.dumps(_clean(_jsonable(payload)), sort_keys=True))


def parse_param_options(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("s=1", "metric=geodesic")`` -> dict; a malformed item is a usage error."""
    out: dict[str, str] = {}
    for item in pairs:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: write NAME=VALUE, e.g. --param s=2", param_hint="--param")
        out[name.strip()] = value.strip()
    return out


def objective_param_options(func: Callable) -> Callable:
    """The objective-parameter options shared by generate, lookup and validate."""
    options = [
        click.option("--s", "s", type=float, default=None, help="riesz: exponent s (r^-s; 0 = log; <0 = -r^|s|)."),
        click.option("--metric", type=Choice(["euclidean", "geodesic"]), default=None,
                     help="riesz: chord or angle distance."),
        click.option("--half-space/--full-space", "half_space", default=None, help="riesz: include antipodes."),
        click.option("--eps", type=float, default=None, help="mgd: Gaussian kernel width eps."),
        click.option("--param", "extra", multiple=True, metavar="NAME=VALUE", help="any objective parameter."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def collect_params(s: Any, metric: Any, half_space: Any, eps: Any, extra: tuple[str, ...]) -> dict[str, Any]:
    """The parameters given on the command line, and only those (defaults come from the objective)."""
    params: dict[str, Any] = parse_param_options(extra)
    for name, value in (("s", s), ("metric", metric), ("half_space", half_space), ("eps", eps)):
        if value is not None:
            params[name] = value
    return params


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A tqdm bar on stderr (disabled when stderr is not wanted)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, leave=False, unit="round")


#: image formats matplotlib writes without extra packages
IMAGE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def check_image_path(path: Any, option: str) -> None:
    """A usage error (exit 2) unless ``path`` ends in an image suffix and its folder exists."""
    from pathlib import Path

    p = Path(path)
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise click.BadParameter(f"{str(p)!r} is not an image file name; use one of {', '.join(IMAGE_SUFFIXES)}",
                                 param_hint=option)
    if not p.parent.is_dir():
        raise click.BadParameter(f"the folder {str(p.parent)!r} does not exist; create it first", param_hint=option)
