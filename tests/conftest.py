"""Test-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_catalogs(tmp_path, monkeypatch):
    """Every test gets its own empty user catalog and no built-in catalog.

    Nothing touches the real user data directory, and results do not depend on what the shipped
    built-in catalog holds (tests that need a built-in catalog point the variable at their own file).
    """
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
    monkeypatch.setenv("SPHERECODES_BUILTIN_CATALOG", str(tmp_path / "no_builtin_catalog.h5"))
