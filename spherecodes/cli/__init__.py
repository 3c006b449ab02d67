"""The command-line interface: a thin click layer over the library, one module per command.

Sub-command modules are imported when their command runs (or for ``--help``), so that a quick
command such as ``spherecodes lookup`` does not pay for torch or cvxpy.
"""

from __future__ import annotations

import importlib
import logging

import click

from .._version import __version__
from ._common import exit_status_help

#: sub-command modules, each defining a click object called ``command``
COMMAND_MODULES = ["generate", "construct", "validate", "plot", "lookup", "catalog", "export", "train"]
#: the one-line help ``spherecodes --help`` lists for each command, kept here so that listing them imports none
#: of the command modules (``generate`` alone pulls in torch); a test checks it against each command's own help
SHORT_HELP = {
    "catalog": "Inspect and maintain code catalogs (HDF5 files of precomputed codes).",
    "construct": "Build the exact construction NAME with K points in R^d.",
    "export": "Export FILE_OR_KEY (a code file or catalog key) as class proxies to --out.",
    "generate": "Compute K points on S^{d-1} that optimise OBJECTIVE.",
    "lookup": "Look up the stored code for OBJECTIVE with K points in d dimensions.",
    "plot": "Draw the code in PATH (d=2: circle, d=3: sphere), its angles and its convergence.",
    "train": "Train a small MLP on scikit-learn's digits with hyperspherical class proxies.",
    "validate": "Certify the code in PATH (.npz, .npy, proxies .pt, or a text file with one point per line).",
}


class LazyGroup(click.Group):
    """A click group that imports ``spherecodes.cli.<name>`` only when command ``name`` is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            self.add_command(importlib.import_module(f"{__name__}.{name}").command, name)
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name) or self.get_command(ctx, name).get_short_help_str())
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
             epilog="\b\nExit status (every command):\n" + exit_status_help())
@click.version_option(__version__, "-V", "--version", prog_name="spherecodes")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """spherecodes: point configurations on the unit hypersphere S^{d-1} in R^d."""
    level = logging.WARNING if verbose == 0 else (logging.INFO if verbose == 1 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="spherecodes")
