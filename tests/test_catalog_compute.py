"""Tests of spherecodes.catalog_compute: lookup with compute on a miss (the api's generate, then a store)."""

from __future__ import annotations

import importlib
import os
import sys
import types

import numpy as np
import pytest

import spherecodes
from spherecodes.catalog import Catalog
from spherecodes.catalog_compute import lookup
from spherecodes.code import Code
from spherecodes.keys import make_key
from spherecodes.objectives import get_objective

RIESZ = get_objective("riesz")
lookup_mod = importlib.import_module("spherecodes.catalog.lookup")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """User catalog in tmp_path; the built-in catalog replaced by a tmp path that does not exist."""
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user.h5"))
    monkeypatch.setattr(lookup_mod, "builtin_catalog_path", lambda: tmp_path / "builtin.h5")
    return tmp_path


def riesz_code(d, K, seed=0, **params):
    x = np.random.default_rng(seed).standard_normal((K, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Code(points=x, objective="riesz", params=params)


def key_of(d, K, **params):
    return make_key("riesz", RIESZ.normalise_params(**params), d, K)


def test_importing_it_installs_the_hook_and_the_catalog_lookup_uses_it(tmp_path, monkeypatch):
    import spherecodes.catalog_compute as cc

    assert lookup_mod._compute_hook is cc.compute_uncatalogued
    monkeypatch.setitem(sys.modules, "spherecodes.api", types.SimpleNamespace(
        generate=lambda objective, d, K, *, catalog, **params: riesz_code(d, K, seed=4, **params)))
    made = spherecodes.catalog.lookup("riesz", 3, 9, compute=True)
    assert np.array_equal(made.points, riesz_code(3, 9, seed=4).points)


def test_compute_generates_once_and_stores_in_the_user_catalog(tmp_path, monkeypatch):
    calls = []

    def fake_generate(objective, d, K, *, catalog, **params):
        assert catalog is False  # lookup stores the result itself, once
        calls.append((objective, d, K, params))
        return riesz_code(d, K, seed=11, **params)

    monkeypatch.setitem(sys.modules, "spherecodes.api", types.SimpleNamespace(generate=fake_generate))
    made = lookup("riesz", 3, 11, compute=True, s=2)
    assert calls == [("riesz", 3, 11, RIESZ.normalise_params(s=2))]
    assert np.array_equal(made.points, riesz_code(3, 11, seed=11).points)
    stored = Catalog(tmp_path / "user.h5", "r").get(key_of(3, 11, s=2))
    assert np.array_equal(stored.points, made.points)
    again = lookup("riesz", 3, 11, compute=True, s=2)
    assert len(calls) == 1 and np.array_equal(again.points, made.points)
    # with an explicit catalog the result goes there
    lookup("riesz", 3, 12, compute=True, catalog=tmp_path / "mine.h5")
    assert Catalog(tmp_path / "mine.h5", "r").get(key_of(3, 12)) is not None
    assert Catalog(tmp_path / "user.h5", "r").get(key_of(3, 12)) is None


def test_compute_with_a_read_only_catalog_returns_the_code(tmp_path, monkeypatch, caplog):
    def fake_generate(objective, d, K, *, catalog, **params):
        return riesz_code(d, K, seed=12, **params)

    monkeypatch.setitem(sys.modules, "spherecodes.api", types.SimpleNamespace(generate=fake_generate))
    path = tmp_path / "user.h5"
    Catalog(path).put(riesz_code(3, 5))
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        with caplog.at_level("WARNING", logger="spherecodes.catalog.lookup"):
            made = lookup("riesz", 3, 13, compute=True)
        assert np.array_equal(made.points, riesz_code(3, 13, seed=12).points)
        assert path.read_bytes() == before
        assert any("read-only" in r.getMessage() for r in caplog.records)
    finally:
        os.chmod(path, 0o644)


