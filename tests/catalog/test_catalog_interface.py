"""The catalog issue's interface: put returns a str, get(objective, d, K, **params), list/verify with no
arguments, near-key suggestions, read-only catalogs (simulated here; real ones in test_catalog_read_only.py)."""

from __future__ import annotations

import copy
import errno
import json
import os
import pickle
import shutil

import numpy as np
import pytest
from _helpers import PlainEnergy

import spherecodes
from spherecodes.catalog import Catalog, PutResult, ReadOnlyCatalogError, nearest_keys, store_code
from spherecodes.code import Code
from spherecodes.errors import CatalogError, InvalidParameterError, UnknownNameError
from spherecodes.keys import make_key
from spherecodes.objectives import OBJECTIVES, register


class FakeEnergy(PlainEnergy):
    name = "catalog_iface_energy"

    def validate_size(self, d, K, params):
        if K < 2:
            raise InvalidParameterError("K", K, "catalog_iface_energy needs K >= 2")


OBJ = FakeEnergy()


@pytest.fixture(autouse=True)
def fake_objective(monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
    register(OBJ)
    yield
    OBJECTIVES.pop(OBJ.name, None)


def unit_rows(K, d, seed):
    x = np.random.default_rng(seed).standard_normal((K, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_code(K=6, d=3, seed=0, points=None, **params):
    pts = unit_rows(K, d, seed) if points is None else points
    # params normalised so that code.key is the canonical key
    return Code(points=pts, objective=OBJ.name, params=OBJ.normalise_params(**params), provenance={"solver": "test"})


def key_of(d, K, s=1.0):
    return make_key(OBJ.name, {"s": float(s)}, d, K)


def spread_and_clumped(K=8, d=3):
    good = unit_rows(K, d, 1)
    bad = good + 1.5 * good[0]
    return good, bad / np.linalg.norm(bad, axis=1, keepdims=True)


# ------------------------------------------------------------------ put returns a str
def test_put_returns_a_str_equal_to_the_action(tmp_path):
    cat = spherecodes.Catalog(tmp_path / "c.h5")
    good, bad = spread_and_clumped()
    first = cat.put(make_code(points=bad))
    assert isinstance(first, str) and isinstance(first, PutResult)
    assert first == "stored" and first.action == "stored" and type(first.action) is str
    assert first.key == key_of(3, 8) and first.old_scores is None
    assert first.new_scores == OBJ.score(bad, {"s": 1.0})
    second = cat.put(make_code(points=good))
    assert second == "replaced" and second != "stored"
    assert second.old_scores == first.new_scores and second.new_scores == OBJ.score(good, {"s": 1.0})
    third = cat.put(make_code(points=bad))
    assert third == "kept" and third.old_scores == second.new_scores
    # the str value is the action wherever a string is used
    assert json.dumps(third) == '"kept"' and f"{third}" == "kept" and str(third) == "kept"
    assert {first: 1}["stored"] == 1  # hashes as the action string


def test_put_many_items_are_str_results(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    good, bad = spread_and_clumped()
    results = cat.put_many([make_code(points=bad), make_code(points=good), make_code(K=5)])
    assert results == ["stored", "replaced", "stored"]
    assert all(isinstance(r, PutResult) for r in results)
    assert [r.key for r in results] == [key_of(3, 8), key_of(3, 8), key_of(3, 5)]


def test_put_result_keeps_its_fields_through_pickle_and_copy():
    r = PutResult("replaced", "k", {"energy": 2.0}, {"energy": 1.0})
    for back in (pickle.loads(pickle.dumps(r)), copy.deepcopy(r), copy.copy(r)):
        assert back == "replaced" and isinstance(back, PutResult)
        assert (back.key, back.old_scores, back.new_scores) == ("k", {"energy": 2.0}, {"energy": 1.0})
    assert r.to_dict() == {"action": "replaced", "key": "k", "old_scores": {"energy": 2.0},
                           "new_scores": {"energy": 1.0}}
    assert "key='k'" in repr(r)
    with pytest.raises(AttributeError):
        r.key = "other"
    with pytest.raises(InvalidParameterError, match="action"):
        PutResult("added", "k", None, {})


# ------------------------------------------------------------------ get(objective, d, K, **params)
def test_get_by_objective_d_K_and_params(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    code = make_code(K=7, d=4, seed=3, s=2)
    cat.put(code)
    for got in (cat.get(OBJ.name, 4, 7, s=2), cat.get(OBJ.name, 4, 7, s="2.0"), cat.get(OBJ.name, d=4, K=7, s=2.0),
                cat.get(key_of(4, 7, s=2)), cat.get(f"{OBJ.name}[s=2]/d=4/K=7"), cat.get((OBJ.name, 4, 7, {"s": 2}))):
        assert isinstance(got, Code) and np.array_equal(got.points, code.points)
        assert got.key == key_of(4, 7, s=2)
    # params are normalised with the objective's defaults: no s means s=1, which is not stored
    assert cat.get(OBJ.name, 4, 7) is None
    assert cat.get(OBJ.name, 4, 8, s=2) is None
    assert cat.info(OBJ.name, 4, 7, s=2).sha256 == cat.info(key_of(4, 7, s=2)).sha256
    assert cat.info(OBJ.name, 4, 7) is None


@pytest.mark.parametrize("args, kwargs, exc, word", [
    ((OBJ.name, 3), {}, InvalidParameterError, "K"),
    ((OBJ.name,), {"K": 5}, InvalidParameterError, "d"),
    ((OBJ.name, 1, 5), {}, InvalidParameterError, "d"),
    ((OBJ.name, 3, 2.5), {}, InvalidParameterError, "K"),
    ((OBJ.name, 3, 1), {}, InvalidParameterError, "K >= 2"),  # the objective's validate_size
    ((OBJ.name, 3, 5), {"colour": "red"}, UnknownNameError, "colour"),
    (("no_such_objective", 3, 5), {}, UnknownNameError, "catalog_iface_energy"),
    ((f"{OBJ.name}[s=1]/d=3/K=5", 3, 5), {}, InvalidParameterError, "not both"),
    (("not a key",), {}, InvalidParameterError, "keys look like"),
])
def test_get_bad_requests_raise_even_on_an_empty_catalog(tmp_path, args, kwargs, exc, word):
    cat = Catalog(tmp_path / "c.h5")
    with pytest.raises(exc, match=word):
        cat.get(*args, **kwargs)
    cat.put(make_code(K=5))
    with pytest.raises(exc, match=word):
        cat.get(*args, **kwargs)


# ------------------------------------------------------------------ list / verify
def test_list_and_verify_take_no_arguments(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    assert cat.list() == [] and cat.keys() == []
    empty = cat.verify()  # no file yet: an empty catalog
    assert empty.ok and empty.entries == [] and empty.problems == []
    codes = [make_code(K=K, seed=K) for K in (4, 5, 6)]
    cat.put_many(codes)
    assert [e.key for e in cat.list()] == [c.key for c in codes]
    report = cat.verify()
    assert report.ok and [e.key for e in report.entries] == [c.key for c in codes]


# ------------------------------------------------------------------ near keys
def test_near_keys_for_missing_malformed_and_misspelt_keys(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    cat.put_many([make_code(K=K, seed=K) for K in (4, 6, 12)] + [make_code(K=6, d=5, seed=1)]
                 + [make_code(K=6, seed=2, s=3)])
    # a size that is not stored: same objective and params first, nearest in |log d'/d| + |log K'/K|
    assert cat.get(key_of(3, 7)) is None
    # distances: K=6 log(7/6)=0.154, K=12 log(12/7)=0.539, K=4 log(7/4)=0.560,
    # s=3,K=6 0.5+0.154=0.654 (one parameter differs), d=5,K=6 log(5/3)+0.154=0.665
    assert cat.near_keys(key_of(3, 7)) == [key_of(3, 6), key_of(3, 12), key_of(3, 4), key_of(3, 6, s=3),
                                           key_of(5, 6)]
    # a non-canonical spelling and the tuple form are understood
    assert cat.near_keys(f"{OBJ.name}[s=1.0]/d=3/K=7")[0] == key_of(3, 6)
    assert cat.near_keys((OBJ.name, 3, 7))[0] == key_of(3, 6)
    # a malformed key that still names objective, d and K
    assert cat.near_keys(f"{OBJ.name}/d=3/K=12")[0] == key_of(3, 12)
    # a misspelt objective
    typo = "catalog_iface_enrgy[s=1]/d=3/K=12"
    assert cat.get(typo) is None and cat.near_keys(typo)[0] == key_of(3, 12)
    # nothing like it
    assert cat.near_keys("zzz") == [] and cat.near_keys("xylophone[]/d=3/K=4") == []
    assert len(cat.near_keys(key_of(3, 7), n=2)) == 2


def test_nearest_keys_never_suggests_the_key_itself():
    stored = [key_of(3, 5), key_of(3, 6)]
    assert nearest_keys(key_of(3, 5), stored) == [key_of(3, 6)]


def test_export_of_a_missing_key_suggests_near_ones(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    cat.put_many([make_code(K=5), make_code(K=9)])
    with pytest.raises(InvalidParameterError, match=r"nearest stored to .*K=6: .*K=5"):
        cat.export([key_of(3, 6)], tmp_path / "out.h5")


# ------------------------------------------------------------------ read-only catalogs (simulated)
@pytest.fixture
def stored(tmp_path):
    path = tmp_path / "c.h5"
    code = make_code(K=5, seed=1)
    Catalog(path).put(code)
    return path, code


def _assert_read_only_put(cat, path, before):
    with pytest.raises(ReadOnlyCatalogError, match="read-only") as info:
        cat.put(make_code(K=9, seed=2))
    assert isinstance(info.value, CatalogError) and str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.glob(".c.h5.tmp-*")) == []


def test_read_only_file_falls_back_to_reads(stored):
    """A file without write permission bits is read-only even for root (whose writes os.access allows)."""
    path, code = stored
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        cat = Catalog(path, "a")
        assert cat.mode == "a" and cat.writable is False and "no write permission" in cat.read_only_reason()
        assert np.array_equal(cat.get(code.key).points, code.points)
        assert [e.key for e in cat.list()] == [code.key] and cat.verify().ok
        _assert_read_only_put(cat, path, before)
        for write in (lambda: cat.remove(code.key), cat.compact, lambda: cat.put_many([make_code(K=7)])):
            with pytest.raises(ReadOnlyCatalogError, match="read-only"):
                write()
        assert path.read_bytes() == before
    finally:
        os.chmod(path, 0o644)
    assert Catalog(path).writable and Catalog(path).put(make_code(K=9, seed=2)) == "stored"


def test_read_only_directory_via_os_access(stored, monkeypatch):
    path, code = stored
    before = path.read_bytes()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real_access(p, mode, **kw))
    cat = Catalog(path, "a")
    assert not cat.writable and cat.get(code.key) is not None
    _assert_read_only_put(cat, path, before)
    # a catalog that does not exist yet in a read-only directory: reads give nothing, writes say why
    fresh = Catalog(path.parent / "sub" / "new.h5", "a")
    assert fresh.get(code.key) is None and fresh.list() == [] and fresh.verify().ok
    with pytest.raises(ReadOnlyCatalogError, match="directory .* is not writable"):
        fresh.put(make_code())
    assert not (path.parent / "sub").exists()


def test_read_only_file_system_is_named(stored, monkeypatch):
    path, code = stored
    before = path.read_bytes()
    real = os.statvfs

    class ReadOnlyFs:
        def __init__(self, p):
            self.f_flag = real(p).f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", ReadOnlyFs)
    cat = Catalog(path)
    assert cat.read_only_reason() == f"{path} is on a read-only file system"
    assert cat.get(code.key) is not None
    _assert_read_only_put(cat, path, before)


@pytest.mark.parametrize("where", ["lock", "copy", "replace"])
@pytest.mark.parametrize("err", [errno.EACCES, errno.EROFS, errno.EPERM])
def test_permission_errors_during_a_write_become_catalog_errors(stored, monkeypatch, where, err):
    """The permission check passes, but the file system refuses at one step of the write."""
    import filelock

    path, code = stored
    before = path.read_bytes()

    def refuse(*args, **kwargs):
        raise OSError(err, os.strerror(err), str(path))

    target = {"lock": (filelock.FileLock, "acquire"), "copy": (shutil, "copyfile"), "replace": (os, "replace")}
    monkeypatch.setattr(*target[where], refuse)
    cat = Catalog(path, "a")
    assert cat.writable
    _assert_read_only_put(cat, path, before)
    assert cat.get(code.key) is not None
    monkeypatch.undo()
    assert Catalog(path).put(make_code(K=9, seed=2)) == "stored"


def test_other_os_errors_during_a_write_are_catalog_errors_too(stored, monkeypatch):
    path, _ = stored
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(CatalogError, match="No space left.*unchanged") as info:
        Catalog(path).put(make_code(K=9))
    assert not isinstance(info.value, ReadOnlyCatalogError)
    assert path.read_bytes() == before


def test_export_into_a_read_only_place_is_a_catalog_error(stored, monkeypatch, tmp_path):
    path, code = stored

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ReadOnlyCatalogError, match="read-only"):
        Catalog(path, "r").export([code.key], tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()


# ------------------------------------------------------------------ store_code (what generate stores with)
def test_store_code_keeps_the_better_and_survives_read_only(stored, caplog):
    path, code = stored
    good, bad = spread_and_clumped()
    cat = Catalog(path)
    assert store_code(make_code(points=good), cat).points is not None
    back = store_code(make_code(points=bad), path)  # kept: the stored (better) code comes back
    assert np.array_equal(back.points, good)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        fresh = make_code(K=11, seed=4)
        with caplog.at_level("WARNING", logger="spherecodes.catalog.lookup"):
            out = store_code(fresh, path)
        assert out is fresh and path.read_bytes() == before
        assert any("read-only" in r.getMessage() and fresh.key in r.getMessage() for r in caplog.records)
    finally:
        os.chmod(path, 0o644)


def test_store_code_into_a_file_that_is_not_a_catalog_returns_the_code(tmp_path, caplog):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    code = make_code()
    with caplog.at_level("WARNING", logger="spherecodes.catalog.lookup"):
        assert store_code(code, bad) is code
    assert any("HDF5" in r.getMessage() for r in caplog.records)
    assert bad.read_text() == "not hdf5"
