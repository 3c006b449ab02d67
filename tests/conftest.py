"""Test-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_user_catalog(tmp_path, monkeypatch):
    """Every test gets its own user catalog, so nothing touches the real user data directory."""
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
