"""Benchmarks that claim solver results must not read a catalog: every ``generate(`` call in bench/*.py passes
``catalog=False`` (the built-in catalog holds many benchmarked codes, and a lookup is not a solve)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def generate_calls_without_catalog_false(source: str) -> list[int]:
    """Line numbers of ``generate(...)`` / ``x.generate(...)`` calls that lack the keyword ``catalog=False``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "generate":
            continue
        if not any(k.arg == "catalog" and isinstance(k.value, ast.Constant) and k.value.value is False
                   for k in node.keywords):
            lines.append(node.lineno)
    return lines


def test_every_bench_script_that_calls_generate_passes_catalog_false():
    scripts = sorted(BENCH.glob("*.py"))
    assert scripts
    offenders = {p.name: lines for p in scripts if (lines := generate_calls_without_catalog_false(p.read_text()))}
    assert not offenders, f"generate() without catalog=False in {offenders}"


def test_the_check_finds_a_call_without_catalog_false():
    assert generate_calls_without_catalog_false("import spherecodes\nspherecodes.generate('riesz', 3, 5)\n") == [2]
    assert generate_calls_without_catalog_false("generate('riesz', 3, 5, catalog=None)\n") == [1]
    assert generate_calls_without_catalog_false("generate('riesz', 3, 5, catalog=False)\n") == []
