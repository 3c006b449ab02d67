"""Every code block of README.md and docs/*.md runs, so that none can go stale.

* ``python`` blocks are executed, each in a fresh namespace (so every block is self-contained);
* ``bash`` blocks are command lines of the ``spherecodes`` CLI, run one line after the other through
  the click group of the console script (in this process), and must each exit with status 0;
* ``text`` blocks (layouts, diagrams) and ``console`` blocks (a shell session with its output, or
  a command that must not run here) are shown, not run;
* a block preceded by ``<!-- skip-test -->`` is not run (the install commands, jobs of hours).

Each block runs twice, in a temporary working directory with an empty user catalog
(``$SPHERECODES_CATALOG``): once with no built-in catalog ("fresh": everything is computed) and
once with the shipped built-in catalog ("builtin": most requests are catalog hits).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: docs/bad_input.md is written (and checked) by scripts/ of its own: its table is generated output
PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "bad_input.md")
SKIP_MARK = "<!-- skip-test -->"
RUN_LANGS = ("python", "bash")
SHOWN_LANGS = ("text", "console")
#: blocks expected to fail, by a snippet of their text (none today; keep the hook for known defects)
XFAIL: dict[str, str] = {}
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: page, first line number (1-based, the fence), language, text, skip mark."""

    page: Path
    line: int
    lang: str
    text: str
    skip: bool

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """The fenced blocks of a markdown page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        before = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        out.append(Block(page, start + 1, lang, "\n".join(lines[start + 1:j]) + "\n", before == SKIP_MARK))
        i = j + 1
    return out


ALL_BLOCKS = [b for page in PAGES for b in code_blocks(page)]


def _params(lang: str) -> list:
    params = []
    for b in ALL_BLOCKS:
        if b.lang != lang or b.skip:
            continue
        marks = [pytest.mark.xfail(strict=False, reason=reason) for snippet, reason in XFAIL.items()
                 if snippet in b.text]
        params.append(pytest.param(b, id=b.id, marks=marks))
    return params


@pytest.fixture(params=["fresh", "builtin"])
def catalogs(request, tmp_path, monkeypatch):
    """A temporary working directory and user catalog; no built-in catalog, or the shipped one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
    if request.param == "builtin":
        from spherecodes.catalog import locations

        shipped = Path(locations.__file__).resolve().parent.parent / "data" / locations.BUILTIN_NAME
        if not shipped.exists():
            pytest.skip("no built-in catalog in this installation")
        monkeypatch.setenv("SPHERECODES_BUILTIN_CATALOG", str(shipped))
    return request.param


def command_lines(text: str) -> list[list[str]]:
    """The argument lists of a bash block: one command a line, ``\\`` continues a line, ``#`` comments."""
    joined = re.sub(r"\\\n", " ", text)
    return [args for line in joined.splitlines() if (args := shlex.split(line, comments=True))]


# ------------------------------------------------------------------ the blocks themselves
@pytest.mark.slow
@pytest.mark.parametrize("block", _params("python"))
def test_python_block_runs(block, catalogs):
    exec(compile(block.text, block.id, "exec"), {"__name__": "__docs_example__"})


@pytest.mark.slow
@pytest.mark.parametrize("block", _params("bash"))
def test_bash_block_runs(block, catalogs):
    from click.testing import CliRunner

    from spherecodes.cli import cli

    for args in command_lines(block.text):
        assert args[0] == "spherecodes", f"{block.id}: only spherecodes commands run here: {args}"
        # in this process (the click group of the console script): a new interpreter per line costs seconds
        result = CliRunner().invoke(cli, args[1:], prog_name="spherecodes", catch_exceptions=False)
        assert result.exit_code == 0, f"{block.id}: `{shlex.join(args)}` exited {result.exit_code}:\n{result.output}"


# ------------------------------------------------------------------ the rules for blocks
def test_every_block_is_run_shown_or_marked_skipped():
    for b in ALL_BLOCKS:
        assert b.lang in RUN_LANGS + SHOWN_LANGS, (
            f"{b.id}: code block language {b.lang!r}: use python or bash (run by this test), text or console "
            f"(shown), or mark it {SKIP_MARK}")
        if b.lang == "bash" and not b.skip:
            for args in command_lines(b.text):
                assert args[0] == "spherecodes", (
                    f"{b.id}: a bash block runs spherecodes commands only ({shlex.join(args)}); "
                    f"use a console block or mark it {SKIP_MARK}")


def test_the_parser_finds_blocks_languages_and_skip_marks(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n\n```python\nx = 1\n```\n<!-- skip-test -->\n\n```bash\npip install x\n```\n"
                    "```text\nlayout\n```\n")
    blocks = code_blocks(page)
    assert [(b.line, b.lang, b.text, b.skip) for b in blocks] == [
        (3, "python", "x = 1\n", False), (8, "bash", "pip install x\n", True), (11, "text", "layout\n", False)]
    assert command_lines("spherecodes a 'b c' \\\n  --d  # comment\n\n# only a comment\nspherecodes e\n") == [
        ["spherecodes", "a", "b c", "--d"], ["spherecodes", "e"]]


def test_skips_are_few():
    skipped = [b.id for b in ALL_BLOCKS if b.skip]
    # the two install commands of the README and the jobs of hours in the catalog and reliability pages
    assert len(skipped) <= 6, skipped
