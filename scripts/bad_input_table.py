"""Run the command line on bad input and write the table of what it answers: ``docs/bad_input.md``.

Each case is one ``spherecodes`` command line; the table gives its exit status (1: not found, 2: bad
input; see ``spherecodes --help``) and the one-line message. The cases run in-process (click's
CliRunner) in a scratch folder that holds the files they name, with a private user catalog and the
built-in catalog of this checkout, so the table is the same on every machine.

Usage::

    python scripts/bad_input_table.py          # rewrite docs/bad_input.md (and the README block)
    python scripts/bad_input_table.py --check  # exit 1 when docs/bad_input.md is stale

``tests/cli/test_bad_input_table.py`` runs the same cases and fails when a case tracebacks, exits
with a status other than 1 or 2, or the file is stale. When README.md holds the markers
``<!-- bad-input:start -->`` and ``<!-- bad-input:end -->``, the table between them is refreshed too.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bad_input.md"
README = ROOT / "README.md"
START, END = "<!-- bad-input:start -->", "<!-- bad-input:end -->"

#: the command lines (after ``spherecodes``); files they name are made by :func:`_scratch_files`
CASES = (
    "generate riesz -d 1 -K 5",
    "generate riesz -d 3 -K 1",
    "generate foo -d 3 -K 5",
    "generate riesz -d 3 -K 5 --restarts 0",
    "generate riesz -d 3 -K 5 --restarts -5",
    "generate riesz -d 3 -K 5 --rounds -1",
    "generate riesz -d 3 -K 5 --seed -1",
    "generate riesz -d 3 -K 5 --time-budget 0",
    "generate riesz -d 3 -K 5 --device tpu",
    "generate riesz -d 3 -K 5 --device cuda:7",
    "generate riesz -d 3 -K 5 --dtype int8",
    "generate riesz -d 3 -K 5 --param t=1",
    "generate riesz -d 3 -K 5 --param s=abc",
    "generate riesz -d 3 -K 5 --param s",
    "generate riesz -d 3 -K 5 --s 1 --param s=2",
    "generate riesz -d 3 -K 5 --checkpoint state.txt",
    "generate riesz -d 3 -K 5 --resume",
    "generate riesz -d 3 -K 5 --catalog not_a_catalog.h5",
    "lookup riesz -d 3 -K 1",
    "lookup riesz -d 3 -K 999",
    "lookup foo -d 3 -K 5",
    "lookup riesz -d 3 -K 5 --catalog not_a_catalog.h5",
    "catalog list --objective foo",
    "catalog list --catalog not_a_catalog.h5",
    "catalog show riesz/d=3/K=999",
    "catalog show riesz[s=1/d=3",
    "catalog show riesz/d=3/K=12 --catalog mine.h5 --builtin",
    "catalog remove riesz/d=3/K=999",
    "export nosuch.npy --out proxies.pt",
    "export riesz/d=3/K=999 --out proxies.pt",
    "export code.npz --out proxies.xyz",
    "export code.npz --out proxies.pt --dtype float16",
    "export code.npz --out nosuchdir/proxies.pt",
    "validate nosuch.npy",
    "validate not_unit.txt",
    "validate has_nan.txt",
    "validate empty.txt",
    "validate code.npz --objective foo",
    "construct simplex",
    "construct foo",
    "construct e8 -d 3 -K 5",
    "plot code.npz --out picture.txt",
    "train --epochs 0",
    "train --proxies nosuch.npy",
    "train --proxies riesz/d=16/K=999",
)


@dataclass(frozen=True)
class Outcome:
    """What one case answered."""

    command: str
    exit_code: int
    message: str
    traceback: bool


def _scratch_files(folder: Path) -> None:
    """The files the cases name: a valid code, a file that is not a catalog, bad point files."""
    import numpy as np

    from spherecodes import construct

    construct("icosahedron", 3, 12).save(folder / "code.npz")
    (folder / "not_a_catalog.h5").write_text("not HDF5\n")
    (folder / "not_unit.txt").write_text("1 0 0\n0 2 0\n0 0 1\n")
    (folder / "has_nan.txt").write_text("1 0 0\nnan 1 0\n0 0 1\n")
    (folder / "empty.txt").write_text("")
    np.save(folder / "unused.npy", np.eye(3))


def _message(output: str) -> str:
    """The error line without click's ``Error: `` prefix (or the first line when there is none)."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    text = errors[-1][len("Error: "):] if errors else (lines[0] if lines else "")
    return " ".join(text.split())


@contextlib.contextmanager
def _environment(folder: Path):
    """cwd = ``folder``; a private user catalog in it; the checkout's built-in catalog."""
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    os.chdir(folder)
    os.environ["SPHERECODES_CATALOG"] = "user_catalog.h5"
    os.environ["SPHERECODES_BUILTIN_CATALOG"] = str(ROOT / "spherecodes" / "data" / "builtin_catalog.h5")
    os.environ["COLUMNS"] = "200"
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_cases(cases: tuple[str, ...] = CASES) -> list[Outcome]:
    """Run every case through click's CliRunner; never raises for a case's own failure."""
    from click.testing import CliRunner

    from spherecodes.cli import cli

    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _scratch_files(folder)
        with _environment(folder):
            for case in cases:
                result = CliRunner().invoke(cli, shlex.split(case), prog_name="spherecodes")
                crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
                # the scratch folder's name changes from run to run: show it as "."
                message = _message(result.output)
                for name in {str(folder.resolve()), str(folder)}:
                    message = message.replace(name + os.sep, "").replace(name, ".")
                outcomes.append(Outcome(case, result.exit_code, message, crashed or "Traceback" in result.output))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """The markdown table (no title)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| command | exit | message |", "|---|---|---|"]
    rows += [f"| `spherecodes {cell(o.command)}` | {o.exit_code} | {cell(o.message)} |" for o in outcomes]
    return "\n".join(rows) + "\n"


def document(outcomes: list[Outcome]) -> str:
    """The whole of docs/bad_input.md."""
    return ("# What the command line says to bad input\n\n"
            "Generated by `python scripts/bad_input_table.py` (checked by `tests/cli/test_bad_input_table.py`): "
            f"{len(outcomes)} command lines, their exit status (1: not found, 2: bad input; see "
            "`spherecodes --help`) and the one-line message.\n\n" + table(outcomes))


def refresh_readme(outcomes: list[Outcome], readme: Path = README) -> bool:
    """Replace the table between the README's markers; False when the markers are not there."""
    if not readme.exists():
        return False
    text = readme.read_text()
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table(outcomes)}{END}{tail}")
    return True


def main(argv: list[str]) -> int:
    outcomes = run_cases()
    text = document(outcomes)
    if "--check" in argv:
        stale = not DOC.exists() or DOC.read_text() != text
        print(f"{DOC} is {'stale: rerun python scripts/bad_input_table.py' if stale else 'up to date'}")
        return 1 if stale else 0
    DOC.write_text(text)
    print(f"wrote {DOC} ({len(outcomes)} cases)" + ("; refreshed README.md" if refresh_readme(outcomes) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
