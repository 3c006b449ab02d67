"""The bad-input table (docs/bad_input.md, scripts/bad_input_table.py): every case answers in one line with exit
status 1 or 2, and the file in the repository is what the cases answer now."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bad_input_table.py"


def _script():
    spec = importlib.util.spec_from_file_location("bad_input_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated():
    script = _script()
    return script, script.run_cases()


@pytest.mark.slow
def test_every_case_exits_1_or_2_with_one_line_and_no_traceback(generated):
    _, outcomes = generated
    assert len(outcomes) >= 30
    for o in outcomes:
        assert not o.traceback, o.command
        assert o.exit_code in (1, 2), (o.command, o.exit_code, o.message)
        assert o.message and "\n" not in o.message, o.command


@pytest.mark.slow
def test_the_table_in_docs_is_not_stale(generated):
    script, outcomes = generated
    assert script.DOC.read_text() == script.document(outcomes), "rerun: python scripts/bad_input_table.py"
    readme = script.README.read_text()
    if script.START in readme:  # the README shows the same table between its markers
        block = readme.split(script.START, 1)[1].split(script.END, 1)[0]
        assert block == "\n" + script.table(outcomes), "rerun: python scripts/bad_input_table.py"


def test_the_readme_block_is_refreshed_between_the_markers(tmp_path):
    script = _script()
    outcome = script.Outcome("lookup riesz -d 3 -K 1", 2, "a | b", False)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{script.START}\nold table\n{script.END}\noutro\n")
    assert script.refresh_readme([outcome], readme)
    text = readme.read_text()
    assert "old table" not in text and "`spherecodes lookup riesz -d 3 -K 1` | 2 | a \\| b |" in text
    assert text.startswith("intro\n") and text.endswith("outro\n")
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not script.refresh_readme([outcome], plain) and plain.read_text() == "no markers\n"
