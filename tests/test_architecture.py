"""The layers of the package, read from its source with ``ast`` (no import is executed).

Layers, top to bottom (README "Architecture"): cli -> api -> catalog | solvers | validation -> objectives ->
kernels. A layer never imports one above it, and no two subpackages import each other (directly or through
a longer cycle). Every import counts: module level, inside functions, ``importlib.import_module("...")`` and
:class:`spherecodes._lazy.LazyModule("...")` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import spherecodes

PACKAGE = Path(spherecodes.__file__).resolve().parent
ROOT = "spherecodes"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """Absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, including those inside functions."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            out.append((base, node.lineno))
            # "from . import solvers": the names may be submodules
            out.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("LazyModule", "import_module"):
                out.append((node.args[0].value, node.lineno))
    return [(name, line) for name, line in out if name == ROOT or name.startswith(ROOT + ".")]


def _area(module: str) -> str:
    """The first component below the package: a subpackage (``solvers``) or a top-level module (``api``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_subpackage(area: str) -> bool:
    return (PACKAGE / area).is_dir()


def _edges() -> list[tuple[str, str, str, int]]:
    """(importing area, imported area, file, line) for every import that crosses areas."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        src = _area(_module_name(path))
        for name, line in _imports(path):
            dst = _area(name)
            if dst and dst != src:
                out.append((src, dst, str(path.relative_to(PACKAGE.parent)), line))
    return out


EDGES = _edges()


def _violations(source: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{file}:{line} imports spherecodes.{dst}" for src, dst, file, line in EDGES
            if src == source and dst in forbidden]


def test_the_parser_sees_imports_inside_functions_and_lazy_modules(tmp_path):
    """The checks below are only as good as the import reader: it must see every form."""
    pkg = tmp_path / ROOT / "objectives"
    pkg.mkdir(parents=True)
    (pkg / "demo.py").write_text(
        "from ..kernels import pairwise\n"
        "def f():\n    from ..solvers.lbfgs import riemannian_lbfgs\n"
        "    import spherecodes.catalog\n"
        "x = LazyModule('spherecodes.validation.one_vs_rest')\n"
        "y = importlib.import_module('spherecodes.api')\n", encoding="utf-8")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / ROOT
    try:
        names = {name for name, _ in _imports(pkg / "demo.py")}
    finally:
        PACKAGE = saved
    assert {"spherecodes.kernels", "spherecodes.solvers.lbfgs", "spherecodes.catalog",
            "spherecodes.validation.one_vs_rest", "spherecodes.api"} <= names


@pytest.mark.parametrize("layer", ["objectives", "kernels"])
def test_maths_layers_import_no_procedure_storage_or_api(layer):
    bad = _violations(layer, ("solvers", "validation", "catalog", "api"))
    assert not bad, f"{layer}/ must not import solvers/, validation/, catalog/ or the api:\n" + "\n".join(bad)


def test_catalog_imports_neither_the_api_nor_the_solvers():
    bad = _violations("catalog", ("api", "solvers"))
    assert not bad, "catalog/ is storage only:\n" + "\n".join(bad)


def test_no_cycle_between_subpackages():
    graph: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    for src, dst, file, line in EDGES:
        if _is_subpackage(src) and _is_subpackage(dst):
            graph.setdefault(src, set()).add(dst)
            where.setdefault((src, dst), f"{file}:{line}")
    # a cycle exists iff some node reaches itself; report the first one found with the files that make it
    cycles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    cycles.append(trail + [start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    described = [" -> ".join(c) + "  (" + ", ".join(where[(a, b)] for a, b in zip(c, c[1:])) + ")"
                 for c in cycles]
    assert not cycles, "subpackages that import each other:\n" + "\n".join(sorted(set(described)))


def test_kernels_modules_do_not_import_each_other_in_a_cycle():
    """Inside kernels/ too (blocked.py and pairwise.py used to import each other)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((PACKAGE / "kernels").glob("*.py")):
        src = _module_name(path)
        graph[src] = {name for name, _ in _imports(path) if name.startswith(f"{ROOT}.kernels.") and name != src}
    for a, targets in graph.items():
        for b in targets:
            assert a not in graph.get(b, set()), f"{a} and {b} import each other"
