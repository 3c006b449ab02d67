"""The command-line interface: a thin click layer over the library, one module per command.

Sub-command modules are imported when their command runs (or for ``--help``), so that a quick
command such as ``spherecodes lookup`` does not pay for torch or cvxpy.
"""

from __future__ import annotations

import importlib
import logging

import click

from .._version import __version__

#: sub-command modules, each defining a click object called ``command``
COMMAND_MODULES = ["generate", "construct", "validate", "plot", "lookup", "catalog", "export", "train"]


class LazyGroup(click.Group):
    """A click group that imports ``spherecodes.cli.<name>`` only when command ``name`` is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            self.add_command(importlib.import_module(f"{__name__}.{name}").command, name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "-V", "--version", prog_name="spherecodes")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """spherecodes: point configurations on the unit hypersphere S^{d-1} in R^d."""
    level = logging.WARNING if verbose == 0 else (logging.INFO if verbose == 1 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="spherecodes")
