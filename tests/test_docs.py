"""The documentation: the README's shape, and the mkdocs site builds without a warning (``--strict``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: the two commands of the README, exactly (CI runs the second one)
INSTALL_AND_GENERATE = 'pip install "torch==2.13.0" -e . && spherecodes generate riesz -d 3 -K 100 --s 1'
INSTALL_AND_TEST = 'pip install "torch==2.13.0" -e ".[test]" && python -m pytest -q'


def test_readme_is_short_and_has_its_parts():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert INSTALL_AND_GENERATE in text and INSTALL_AND_TEST in text
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    for part in ("Two commands", "A short tour", "The command line at a glance", "Where to read more",
                 "Architecture"):
        assert part in headings, f"README lacks the section {part!r}"
    start, end = text.index("<!-- bad-input:start -->"), text.index("<!-- bad-input:end -->")
    assert start < end


def test_readme_links_to_pages_that_exist():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links, "the README links to the docs pages"
    for link in links:
        assert (ROOT / link).is_file(), f"README links to {link}, which does not exist"


@pytest.mark.slow
def test_mkdocs_builds_the_site_without_warnings(tmp_path):
    # mkdocs and mkdocstrings[python] are in the test extra: no skip, CI must build the site
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "api" / "index.html").is_file()
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    # the reference is generated from the docstrings
    assert "spherecodes.api.generate" in api and "Catalog" in api
