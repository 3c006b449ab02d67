"""spherecodes._lazy and the cheap-to-import objectives (catalog keys and lookups must not import torch)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spherecodes._lazy import LazyModule


def test_lazy_module_imports_on_first_attribute():
    lazy = LazyModule("json")
    assert "not loaded" in repr(lazy)
    assert lazy.dumps([1]) == "[1]"
    assert "loaded" in repr(lazy) and "not loaded" not in repr(lazy)


def test_lazy_module_missing_attribute_and_module():
    with pytest.raises(AttributeError):
        LazyModule("json").no_such_function  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        LazyModule("no_such_module_spherecodes").anything  # noqa: B018


def test_naming_every_objective_and_building_keys_does_not_import_torch():
    code = ("import sys\n"
            "from spherecodes.objectives import get_objective, available_objectives\n"
            "from spherecodes.keys import make_key\n"
            "for name in available_objectives():\n"
            "    obj = get_objective(name)\n"
            "    make_key(name, obj.normalise_params(), 3, 10)\n"
            "print(sorted(m for m in ('torch', 'scipy.optimize', 'cvxpy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
