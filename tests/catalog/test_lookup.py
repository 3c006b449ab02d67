"""Tests of spherecodes.catalog.lookup, spherecodes.catalog.locations and spherecodes.catalog_compute (the
lookup with compute on a miss)."""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pytest
from _helpers import random_rotation

from spherecodes import catalog_compute
from spherecodes.catalog import Catalog, LookupMiss, default_catalogs, find_stored, lookup
from spherecodes.catalog.locations import builtin_catalog_path, user_catalog_path
from spherecodes.code import Code
from spherecodes.errors import CatalogError, InvalidParameterError, SpherecodesError, UnknownNameError
from spherecodes.keys import make_key
from spherecodes.objectives import get_objective

RIESZ = get_objective("riesz")
# the package exports the function `lookup`, which hides the submodule of the same name as an attribute
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


def energy_of(code):
    return RIESZ.score(code.points, RIESZ.normalise_params(**code.params))["energy"]


def key_of(d, K, **params):
    return make_key("riesz", RIESZ.normalise_params(**params), d, K)


# ------------------------------------------------------------------ locations
def test_user_catalog_path_env_and_default(monkeypatch, tmp_path):
    assert user_catalog_path() == tmp_path / "user.h5"
    monkeypatch.setenv("SPHERECODES_CATALOG", "~/somewhere/cat.h5")
    assert user_catalog_path() == Path.home() / "somewhere" / "cat.h5"
    import platformdirs

    default = Path(platformdirs.user_data_dir("spherecodes")) / "catalog.h5"
    monkeypatch.setenv("SPHERECODES_CATALOG", "")
    assert user_catalog_path() == default
    monkeypatch.delenv("SPHERECODES_CATALOG")
    assert user_catalog_path() == default


def test_builtin_catalog_path_is_inside_the_package(monkeypatch, tmp_path):
    import spherecodes

    monkeypatch.delenv("SPHERECODES_BUILTIN_CATALOG")
    assert builtin_catalog_path() == Path(spherecodes.__file__).resolve().parent / "data" / "builtin_catalog.h5"
    monkeypatch.setenv("SPHERECODES_BUILTIN_CATALOG", str(tmp_path / "b.h5"))
    assert builtin_catalog_path() == tmp_path / "b.h5"


# ------------------------------------------------------------------ hits
def test_lookup_hits_the_user_catalog_with_normalised_params(tmp_path):
    code = riesz_code(3, 7, seed=1)
    Catalog(tmp_path / "user.h5").put(code)
    for kwargs in ({}, {"s": 1}, {"s": "1.0"}, {"metric": "euclidean", "half_space": "false"}):
        got = lookup("riesz", 3, 7, **kwargs)
        assert np.array_equal(got.points, code.points)
        assert got.key == key_of(3, 7)


def test_lookup_order_user_then_builtin(tmp_path):
    builtin = Catalog(tmp_path / "builtin.h5")
    only_builtin = riesz_code(3, 5, seed=2)
    in_both_builtin = riesz_code(3, 6, seed=3)
    builtin.put_many([only_builtin, in_both_builtin])
    user_version = riesz_code(3, 6, seed=4)
    Catalog(tmp_path / "user.h5").put(user_version)
    assert np.array_equal(lookup("riesz", 3, 5).points, only_builtin.points)
    # both hold K=6: the better code wins, wherever it is stored
    better, worse = sorted([user_version, in_both_builtin], key=energy_of)
    assert energy_of(better) < energy_of(worse)
    assert np.array_equal(lookup("riesz", 3, 6).points, better.points)
    # an explicit catalog replaces the user one; the built-in one is still searched
    other = Catalog(tmp_path / "other.h5")
    assert np.array_equal(lookup("riesz", 3, 6, catalog=other).points, in_both_builtin.points)
    assert np.array_equal(lookup("riesz", 3, 6, catalog=tmp_path / "missing.h5").points, in_both_builtin.points)


# ------------------------------------------------------------------ misses
def test_miss_lists_nearest_keys_and_the_command(tmp_path):
    cat = Catalog(tmp_path / "user.h5")
    cat.put_many([riesz_code(3, K, seed=K) for K in (4, 8, 10, 40)]
                 + [riesz_code(5, 9, seed=5), riesz_code(3, 9, seed=6, s=2.0)])
    with pytest.raises(LookupMiss) as info:
        lookup("riesz", 3, 9)
    miss = info.value
    assert isinstance(miss, KeyError) and isinstance(miss, SpherecodesError)
    assert miss.key == key_of(3, 9)
    # same objective and params only (the s=2 entry is not "nearby"); the same d first, nearest first in
    # |log(d'/d)| + |log(K'/K)|: K=10 (0.105) before K=8 (0.118), K=4 (0.81), K=40 (1.49), then d=5 (0.51)
    assert miss.nearby == [key_of(3, 10), key_of(3, 8), key_of(3, 4), key_of(3, 40), key_of(5, 9)]
    assert key_of(3, 9, s=2.0) not in miss.nearby
    text = str(miss)
    assert "\n" not in text and key_of(3, 8) in text
    assert miss.command == "spherecodes generate riesz -d 3 -K 9"
    assert miss.command in text and "--compute" in text
    assert str(tmp_path / "user.h5") in text and "built-in catalog (not installed)" in text


def test_miss_command_carries_non_default_params(tmp_path):
    with pytest.raises(LookupMiss) as info:
        lookup("riesz", 4, 20, s=2, metric="geodesic")
    assert info.value.command == "spherecodes generate riesz -d 4 -K 20 --param metric=geodesic --param s=2"
    assert info.value.nearby == []
    assert "no codes stored" in str(info.value) and "(no file)" in str(info.value)


def test_miss_mentions_other_parameter_sets(tmp_path):
    Catalog(tmp_path / "user.h5").put(riesz_code(3, 9, seed=6, s=2.0))
    with pytest.raises(LookupMiss) as info:
        lookup("riesz", 3, 9)
    assert key_of(3, 9, s=2.0).split("/")[0] in str(info.value)


def test_bad_requests_raise_invalid_parameter():
    with pytest.raises(UnknownNameError):
        lookup("no_such_objective", 3, 4)
    with pytest.raises(InvalidParameterError, match="d"):
        lookup("riesz", 1, 4)
    with pytest.raises(InvalidParameterError, match="K"):
        lookup("riesz", 3, 2.5)
    with pytest.raises(InvalidParameterError):
        lookup("riesz", 3, 4, metric="manhattan")


# ------------------------------------------------------------------ compute (through the hook the api installs)
@pytest.fixture
def no_hook():
    previous = lookup_mod.set_compute_hook(None)
    yield
    lookup_mod.set_compute_hook(previous)


def test_compute_goes_through_the_installed_hook_and_stores_once(tmp_path, no_hook):
    calls = []

    def compute(objective, d, K, params):
        calls.append((objective, d, K, params))
        return riesz_code(d, K, seed=3, **params)

    lookup_mod.set_compute_hook(compute)
    made = lookup("riesz", 3, 7, compute=True, s=2)
    assert calls == [("riesz", 3, 7, RIESZ.normalise_params(s=2))]
    stored = Catalog(tmp_path / "user.h5", "r").get(key_of(3, 7, s=2))
    assert np.array_equal(stored.points, made.points)
    assert np.array_equal(lookup("riesz", 3, 7, compute=True, s=2).points, made.points) and len(calls) == 1


def test_compute_without_a_hook_is_a_clear_error_and_a_hit_needs_none(tmp_path, no_hook):
    with pytest.raises(CatalogError, match=r"storage only.*spherecodes\.lookup\(\.\.\., compute=True\)"):
        lookup("riesz", 3, 7, compute=True)
    Catalog(tmp_path / "user.h5").put(riesz_code(3, 7))
    assert lookup("riesz", 3, 7, compute=True).K == 7
    with pytest.raises(InvalidParameterError, match="compute"):
        lookup_mod.set_compute_hook("generate")


# ------------------------------------------------------------------ compute with the hook of catalog_compute
def test_importing_it_installs_the_hook_and_the_catalog_lookup_uses_it(tmp_path, monkeypatch):
    assert lookup_mod._compute_hook is catalog_compute.compute_uncatalogued
    monkeypatch.setitem(sys.modules, "spherecodes.api", types.SimpleNamespace(
        generate=lambda objective, d, K, *, catalog, **params: riesz_code(d, K, seed=4, **params)))
    made = lookup("riesz", 3, 9, compute=True)
    assert np.array_equal(made.points, riesz_code(3, 9, seed=4).points)


def test_compute_generates_once_and_stores_in_the_user_catalog(tmp_path, monkeypatch):
    calls = []

    def fake_generate(objective, d, K, *, catalog, **params):
        assert catalog is False  # lookup stores the result itself, once
        calls.append((objective, d, K, params))
        return riesz_code(d, K, seed=11, **params)

    monkeypatch.setitem(sys.modules, "spherecodes.api", types.SimpleNamespace(generate=fake_generate))
    made = catalog_compute.lookup("riesz", 3, 11, compute=True, s=2)
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


# ------------------------------------------------------------------ damaged entries
def _flip_points_byte(path, key):
    with h5py.File(path, "r") as f:
        offset = f[f"entries/{key}/points"].id.get_offset()
    with open(path, "r+b") as fh:
        fh.seek(offset + 3)
        b = fh.read(1)[0]
        fh.seek(offset + 3)
        fh.write(bytes([b ^ 0x10]))


def test_a_damaged_entry_is_reported_skipped_and_the_rest_kept(tmp_path, caplog):
    user = Catalog(tmp_path / "user.h5")
    user.put_many([riesz_code(3, 5, seed=1), riesz_code(3, 6, seed=3)])
    in_builtin = riesz_code(3, 5, seed=2)
    Catalog(tmp_path / "builtin.h5").put(in_builtin)
    _flip_points_byte(tmp_path / "user.h5", key_of(3, 5))
    with pytest.raises(CatalogError, match="corrupted"):  # Catalog.get never returns damaged data
        user.get(key_of(3, 5))
    with caplog.at_level("WARNING", logger="spherecodes.catalog.lookup"):
        got = lookup("riesz", 3, 5)
    assert np.array_equal(got.points, in_builtin.points)  # skipped to the next catalog
    assert any("corrupted" in r.getMessage() and key_of(3, 5) in r.getMessage() for r in caplog.records)
    assert np.array_equal(find_stored(key_of(3, 5)).points, in_builtin.points)
    assert np.array_equal(lookup("riesz", 3, 6).points, riesz_code(3, 6, seed=3).points)  # the rest is kept


def test_a_miss_names_the_damaged_entry(tmp_path):
    user = Catalog(tmp_path / "user.h5")
    user.put(riesz_code(3, 5, seed=1))
    _flip_points_byte(tmp_path / "user.h5", key_of(3, 5))
    assert find_stored(key_of(3, 5)) is None
    with pytest.raises(LookupMiss) as info:
        lookup("riesz", 3, 5)
    assert info.value.damaged == [str(tmp_path / "user.h5")]
    assert "damaged" in str(info.value) and "catalog verify" in str(info.value)


def test_a_stored_worse_code_does_not_hide_a_better_builtin_one(tmp_path):
    """The user's catalog keeps what generate found earlier (maybe under a time budget); a better code in the
    built-in catalog is still what lookup and generate return, and ties keep the user's code."""
    import spherecodes

    stale = riesz_code(3, 7, seed=1)
    Catalog(tmp_path / "user.h5").put(stale)
    shipped = spherecodes.generate("riesz", 3, 7, seed=0, restarts=2, rounds=0, catalog=False)
    assert energy_of(shipped) < energy_of(stale)
    Catalog(tmp_path / "builtin.h5").put(shipped)
    assert np.array_equal(lookup("riesz", 3, 7).points, shipped.points)
    assert np.array_equal(spherecodes.generate("riesz", 3, 7, seed=5).points, shipped.points)
    # equal scores up to rounding (a rotated copy): the first catalog's code
    twin = Code(points=shipped.points @ random_rotation(3, seed=2).T, objective="riesz")
    assert Catalog(tmp_path / "user.h5").put(twin).action == "replaced"
    assert np.array_equal(lookup("riesz", 3, 7).points, twin.points)


def test_a_broken_builtin_catalog_does_not_stop_a_user_hit(tmp_path):
    user_code = riesz_code(3, 5, seed=1)
    Catalog(tmp_path / "user.h5").put(user_code)
    (tmp_path / "builtin.h5").write_text("not hdf5")  # opening it logs a warning and skips it
    assert np.array_equal(lookup("riesz", 3, 5).points, user_code.points)
    assert [c.path.name for c in default_catalogs()] == ["user.h5"]  # the broken built-in one is skipped


# ------------------------------------------------------------------ generate (spherecodes/api.py)


def test_generate_with_a_read_only_catalog_returns_the_computed_code(tmp_path):
    import spherecodes

    path = tmp_path / "user.h5"
    Catalog(path).put(riesz_code(3, 5))
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        code = spherecodes.generate("riesz", 3, 4, catalog=path, certify=False)
    finally:
        os.chmod(path, 0o644)
    assert code.K == 4 and code.d == 3 and path.read_bytes() == before


def test_generate_recomputes_over_a_damaged_entry(tmp_path):
    import spherecodes

    path = tmp_path / "user.h5"
    Catalog(path).put_many([riesz_code(3, 4, seed=1), riesz_code(3, 5, seed=2)])
    _flip_points_byte(path, key_of(3, 4))
    code = spherecodes.generate("riesz", 3, 4, catalog=path, certify=False)
    stored = Catalog(path, "r").get(key_of(3, 4))  # the damaged entry was replaced by the new code
    assert np.array_equal(stored.points, code.points) and Catalog(path, "r").verify().ok
