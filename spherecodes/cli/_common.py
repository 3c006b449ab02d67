"""Pieces shared by the sub-commands: the one error path (library error -> exit status and message), JSON
output, parameter options, catalog keys and optional extras.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

import click

__all__ = ["Choice", "library_errors", "EXIT_STATUS", "exit_status_help", "cli_message", "emit_json",
           "parse_param_options", "objective_param_options", "progress_bar", "require_extra", "bracket_key",
           "file_or_key"]

#: The one table from library errors to exit statuses, used by every command (through :func:`library_errors`)
#: and printed by ``spherecodes --help``. The first row whose class matches wins, so specific classes come first.
#: Classes are named, not imported, so that ``--help`` imports nothing heavy.
EXIT_STATUS = (
    ("spherecodes.catalog.lookup.LookupMiss", 1, "not found: no catalog holds the code (the message says how "
                                                 "to make it)"),
    ("spherecodes.errors.InvalidParameterError", 2, "bad input: an option, argument, key or file that cannot be "
                                                    "used"),
    ("spherecodes.errors.ResourceError", 2, "bad input: too large for the memory, or a device that is not there"),
    ("spherecodes.errors.CatalogError", 2, "bad input: an unusable catalog path (not a catalog, a newer format, "
                                           "read-only, locked)"),
    ("builtins.FileNotFoundError", 2, "bad input: a file that does not exist"),
    ("spherecodes.errors.SpherecodesError", 1, "a computation failed (e.g. a numerical sub-solver)"),
)
#: exit statuses that do not come from a library error
OTHER_EXIT_STATUS = ((0, "success"), (1, "validate: the code is not valid; catalog verify: a check failed"),
                     (2, "bad input found by the command line itself (click's usage errors)"),
                     (130, "interrupted by Ctrl-C (SIGINT)"), (143, "stopped by SIGTERM"))

#: library parameter name -> the command-line flag that sets it (messages name the flag)
PARAM_FLAGS = {"normalise": "--normalise", "overwrite": "--force", "force": "--force",
               "time_budget": "--time-budget", "restarts": "--restarts", "rounds": "--rounds", "seed": "--seed",
               "device": "--device", "dtype": "--dtype", "catalog": "--catalog", "checkpoint": "--checkpoint",
               "resume": "--resume", "certify_lp": "--lp-bounds", "use_constructions": "--no-constructions"}


def exit_status_help() -> str:
    """The exit-status table as plain text, for ``spherecodes --help``."""
    rows = [(0, "success")]
    seen = set()
    for _cls, status, meaning in EXIT_STATUS:
        if (status, meaning) not in seen:
            seen.add((status, meaning))
            rows.append((status, meaning))
    rows += [row for row in OTHER_EXIT_STATUS if row[0] != 0]
    return "\n".join(f"{status:>3d}  {meaning}" for status, meaning in rows)


def _error_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def error_exit_status(exc: BaseException) -> int | None:
    """The exit status :data:`EXIT_STATUS` gives ``exc``, or None when no row matches."""
    for path, status, _meaning in EXIT_STATUS:
        if isinstance(exc, _error_class(path)):
            return status
    return None


def cli_message(exc: BaseException) -> str:
    """The error's message on one line, with the library's parameter spellings turned into the CLI's flags.

    ``invalid time_budget=0.0: ...`` becomes ``invalid --time-budget 0.0: ...``, ``pass normalise=True``
    becomes ``pass --normalise``.
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file"
    for param, flag in PARAM_FLAGS.items():
        text = re.sub(rf"\b{param}=PATH\b", f"{flag} FILE", text)
        text = re.sub(rf"\b{param}=True\b", flag, text)
        text = re.sub(rf"\binvalid {param}=", f"invalid {flag} ", text)
    return text


def library_errors(func: Callable) -> Callable:
    """Turn the library's errors into click errors by :data:`EXIT_STATUS` (one line, no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            status = error_exit_status(exc)
            if status is None:
                raise
            if status == 2:
                raise click.UsageError(cli_message(exc)) from None
            raise click.ClickException(cli_message(exc)) from None

    return wrapper


def require_extra(module: str, extra: str, what: str) -> None:
    """A usage error (exit 2) with the install command when the optional ``module`` is missing."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise click.UsageError(f"{what} needs {module}, which is not installed: "
                               f"pip install 'spherecodes[{extra}]'") from None


_UNBRACKETED_KEY = re.compile(r"^(?P<obj>[A-Za-z0-9_\-]+)/(?P<rest>d=\d+/K=\d+)$")


def file_or_key(text: str, option: str) -> str:
    """What a FILE_OR_KEY argument names: an existing file's path, a catalog key (bracketed by
    :func:`bracket_key`) or ``construction:NAME``, returned as is; anything else is a usage error that
    says the file does not exist."""
    from pathlib import Path

    if text.startswith("construction:") or Path(text).exists():
        return text
    key = bracket_key(text)
    if re.match(r"^[A-Za-z0-9_\-]+\[[^\]]*\]/d=", key):
        return key
    raise click.BadParameter(f"{text}: no such file (and not a catalog key such as riesz/d=3/K=12)",
                             param_hint=option)


def bracket_key(key: str) -> str:
    """``riesz/d=3/K=12`` -> the canonical ``riesz[half_space=false,metric=euclidean,s=1]/d=3/K=12`` (default
    parameters); other text is returned as is."""
    match = _UNBRACKETED_KEY.match(key.strip())
    if not match:
        return key
    from ..catalog import canonical_key

    return canonical_key(f"{match['obj']}[]/{match['rest']}")


class Choice(click.Choice):
    """:class:`click.Choice` whose "missing argument" error fits on one line (click lists the choices on
    tab-indented lines after it, which breaks the one-error-line contract of the CLI)."""

    def get_missing_message(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "Choose from: " + ", ".join(map(str, self.choices)) + "."


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


#: option names the commands use themselves: an objective parameter of such a name is given with --param only
_COMMAND_OPTION_NAMES = frozenset({
    "objective", "objectives", "d", "K", "restarts", "rounds", "seed", "device", "dtype", "time_budget", "out",
    "catalog_path", "extra", "force", "compute", "as_json", "quiet", "checkpoint", "resume", "tile", "distributed",
    "keys", "grid", "dims", "sizes", "normalise", "no_lp", "path", "no_catalog", "no_constructions", "lp_bounds",
    "no_certify"})


def declared_params() -> dict[str, tuple[Any, list[str]]]:
    """Every parameter the registered objectives declare: name -> (its ``Param``, the objectives declaring it).

    The command-line options of objective parameters are built from these declarations (the first
    objective in registry order that declares a name gives its type and flag), so a parameter added to
    an objective gets its option without touching the CLI. Loading the declarations imports no torch.
    """
    from ..objectives import OBJECTIVES, available_objectives

    out: dict[str, tuple[Any, list[str]]] = {}
    for name in available_objectives():
        for param in OBJECTIVES[name].params:
            out.setdefault(param.name, (param, []))[1].append(name)
    return {k: v for k, v in out.items() if k.isidentifier() and k not in _COMMAND_OPTION_NAMES}


def _param_option(param: Any, owners: list[str]) -> Callable:
    help_text = f"{', '.join(owners)}: {param.help or param.name}."
    if param.kind is bool:
        return click.option(param.cli_flag, param.name, default=None, help=help_text)
    if param.choices:
        kind: Any = Choice(list(param.choices))
    else:
        kind = float if param.kind is float else str
    return click.option(param.cli_flag, param.name, type=kind, default=None, help=help_text)


def objective_param_options(func: Callable) -> Callable:
    """One option per declared objective parameter (see :func:`declared_params`) and ``--param NAME=VALUE``.

    The command receives the parameters as keyword arguments named after them (None when not given)
    and ``extra`` for ``--param``; :func:`collect_params` turns them into the objective's keywords.
    """
    options = [_param_option(param, owners) for param, owners in declared_params().values()]
    options.append(click.option("--param", "extra", multiple=True, metavar="NAME=VALUE",
                                help="any objective parameter (also one of a user-registered objective)."))
    for option in reversed(options):
        func = option(func)
    return func


def collect_params(given: dict[str, Any], extra: tuple[str, ...]) -> dict[str, Any]:
    """The parameters given on the command line, and only those (defaults come from the objective).

    ``given`` maps declared parameter names to their option's value (None: not given); ``extra`` holds the
    ``--param NAME=VALUE`` items. A parameter given both ways is a usage error.
    """
    params: dict[str, Any] = parse_param_options(extra)
    declared = declared_params()
    for name, value in given.items():
        if value is None:
            continue
        if name in params:
            flag = declared[name][0].cli_flag if name in declared else f"--{name}"
            raise click.BadParameter(f"{name} is given twice, as {flag} and as --param {name}=...; "
                                     "give it once", param_hint="--param")
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
