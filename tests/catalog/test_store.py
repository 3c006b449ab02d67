"""Tests of spherecodes.catalog.store.Catalog: round trips, keep-the-better, list/remove, verify, merge, export."""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest

from spherecodes.catalog import Catalog
from spherecodes.catalog import format as fmt
from spherecodes.catalog.store import canonical_key
from spherecodes.code import Code
from spherecodes.errors import CatalogError, InvalidParameterError
from spherecodes.keys import make_key
from spherecodes.objectives import OBJECTIVES, Objective, Param, register


class FakeEnergy(Objective):
    """Riesz-like test objective in plain numpy: energy = sum_{i<j} |x_i - x_j|^-s (unordered pairs)."""

    name = "catalog_test_energy"
    params = (Param("s", 1.0, float), Param("tag", "a", str, choices=("a", "b")))
    primary = "energy"
    maximise = False

    def score(self, points, params):
        iu = np.triu_indices(points.shape[0], 1)
        r = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)[iu]
        return {"energy": float(np.sum(r ** -float(params["s"]))), "min_distance": float(r.min())}


class FakeSeparation(FakeEnergy):
    """Same scores, but larger minimum distance is better (a maximised primary)."""

    name = "catalog_test_separation"
    primary = "min_distance"
    maximise = True


@pytest.fixture(autouse=True)
def fake_objectives(monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
    objs = [register(FakeEnergy()), register(FakeSeparation())]
    yield objs
    for o in objs:
        OBJECTIVES.pop(o.name, None)


def unit_rows(K, d, seed):
    x = np.random.default_rng(seed).standard_normal((K, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_code(K=6, d=3, seed=0, objective="catalog_test_energy", points=None, **params):
    pts = unit_rows(K, d, seed) if points is None else points
    return Code(points=pts, objective=objective, params=params, provenance={"solver": "test", "seed": seed})


def spread_and_clumped(K=8, d=3):
    """Two codes of the same size whose energy order is known: random rows vs the same rows pulled together."""
    good = unit_rows(K, d, 1)
    bad = good + 1.5 * good[0]
    bad /= np.linalg.norm(bad, axis=1, keepdims=True)
    return good, bad


class Cert:
    def to_dict(self):
        return {"kind": "test", "bound": 1.5, "ok": True}


# ------------------------------------------------------------------ round trip
def test_round_trip_is_bit_identical_with_recomputed_scores(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    code = make_code(K=7, d=4, seed=3, s=2).replace(certificate=Cert(), provenance={"solver": "x", "n": np.int64(5)})
    res = cat.put(code)
    assert res.action == "stored" and res.old_scores is None
    key = make_key("catalog_test_energy", {"s": 2.0, "tag": "a"}, 4, 7)
    assert res.key == key
    back = cat.get(key)
    assert np.array_equal(back.points, code.points)
    assert back.points.dtype == np.float64 and not back.points.flags.writeable
    expected = FakeEnergy().score(code.points, {"s": 2.0, "tag": "a"})
    assert dict(back.scores) == expected == res.new_scores
    assert dict(back.params) == {"s": 2.0, "tag": "a"}
    assert back.provenance["n"] == 5 and back.provenance["solver"] == "x"
    assert back.certificate == Cert().to_dict()
    # the other ways to ask for the same entry
    assert np.array_equal(cat.get(("catalog_test_energy", 4, 7, {"s": "2"})).points, code.points)
    assert np.array_equal(cat.get("catalog_test_energy[s=2.0]/d=4/K=7").points, code.points)
    assert cat.get(("catalog_test_energy", 4, 8, {"s": 2})) is None
    assert key in cat and len(cat) == 1


def test_canonical_key_fills_defaults():
    assert canonical_key("catalog_test_energy[s=1.0]/d=3/K=5") == "catalog_test_energy[s=1,tag=a]/d=3/K=5"
    assert canonical_key("not_registered[x=1]/d=3/K=5") == "not_registered[x=1]/d=3/K=5"
    with pytest.raises(InvalidParameterError):
        canonical_key("no slashes here")


def test_file_is_readable_with_plain_h5py(tmp_path):
    path = tmp_path / "c.h5"
    code = make_code(K=5, d=3, seed=2)
    key = Catalog(path).put(code).key
    with h5py.File(path, "r") as f:
        assert f.attrs["magic"] == fmt.MAGIC
        assert int(f.attrs["format_version"]) == fmt.FORMAT_VERSION
        assert str(f.attrs["generated_by"]).startswith("spherecodes ")
        assert str(f.attrs["created"]).endswith("Z")
        g = f["entries/" + key]
        pts = g["points"][()]
        assert g["points"].dtype == np.dtype("<f8") and pts.shape == (5, 3)
        assert np.array_equal(pts, code.points)
        raw = np.ascontiguousarray(pts, dtype="<f8").tobytes()
        assert g.attrs["sha256"] == hashlib.sha256(raw).hexdigest()
        assert json.loads(g.attrs["params"]) == {"s": 1.0, "tag": "a"}
        assert json.loads(g.attrs["scores"])["energy"] == FakeEnergy().score(code.points, {"s": 1.0})["energy"]
        assert (int(g.attrs["d"]), int(g.attrs["K"])) == (3, 5)
        assert g.attrs["objective"] == "catalog_test_energy" and g.attrs["primary"] == "energy"
        assert json.loads(g.attrs["provenance"])["solver"] == "test"


# ------------------------------------------------------------------ keep the better
def test_put_keeps_the_better_code(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    good, bad = spread_and_clumped()
    obj = FakeEnergy()
    e_good = obj.score(good, {"s": 1.0})["energy"]
    e_bad = obj.score(bad, {"s": 1.0})["energy"]
    assert e_good < e_bad
    r1 = cat.put(make_code(points=bad))
    assert r1.action == "stored"
    r2 = cat.put(make_code(points=good))
    assert r2.action == "replaced" and r2.old_scores["energy"] == e_bad and r2.new_scores["energy"] == e_good
    assert np.array_equal(cat.get(r2.key).points, good)
    r3 = cat.put(make_code(points=bad))
    assert r3.action == "kept" and r3.old_scores["energy"] == e_good
    assert np.array_equal(cat.get(r2.key).points, good)


def test_put_direction_follows_objective_maximise(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    good, bad = spread_and_clumped()
    assert cat.put(make_code(points=good, objective="catalog_test_separation")).action == "stored"
    assert cat.put(make_code(points=bad, objective="catalog_test_separation")).action == "kept"
    cat2 = Catalog(tmp_path / "c2.h5")
    cat2.put(make_code(points=bad, objective="catalog_test_separation"))
    assert cat2.put(make_code(points=good, objective="catalog_test_separation")).action == "replaced"


def test_tie_keeps_the_stored_code(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    pts = unit_rows(6, 3, 4)
    first = cat.put(make_code(points=pts))
    # -x has exactly the same pair distances, hence bit-identical scores, but different points
    mirrored = make_code(points=-pts)
    assert FakeEnergy().score(-pts, {"s": 1.0}) == first.new_scores
    res = cat.put(mirrored)
    assert res.action == "kept" and res.old_scores == res.new_scores
    assert np.array_equal(cat.get(res.key).points, pts)
    assert cat.put(make_code(points=pts)).action == "kept"


def test_scores_carried_by_the_code_are_ignored(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    good, bad = spread_and_clumped()
    cat.put(make_code(points=good))
    liar = Code(points=bad, objective="catalog_test_energy", scores={"energy": -1e300, "min_distance": 2.0})
    res = cat.put(liar)
    assert res.action == "kept"
    assert res.new_scores == FakeEnergy().score(bad, {"s": 1.0})
    # and what is stored is the recomputed score, not a supplied one
    cat3 = Catalog(tmp_path / "c3.h5")
    cat3.put(liar)
    assert dict(cat3.get(res.key).scores) == FakeEnergy().score(bad, {"s": 1.0})


def test_put_many_with_repeated_key_keeps_best(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    good, bad = spread_and_clumped()
    results = cat.put_many([make_code(points=bad), make_code(points=good), make_code(points=bad)])
    assert [r.action for r in results] == ["stored", "replaced", "kept"]
    assert np.array_equal(cat.get(results[0].key).points, good)


def test_put_rejects_bad_codes(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    with pytest.raises(InvalidParameterError, match="objective"):
        cat.put(make_code(objective="no_such_objective"))
    with pytest.raises(InvalidParameterError, match="tag"):
        cat.put(make_code(tag="zzz"))
    pts = np.array(unit_rows(5, 3, 0) * 1.001)
    pts.setflags(write=False)  # Code skips its own check for read-only float64 arrays: the catalog must not
    with pytest.raises(InvalidParameterError, match="unit norm"):
        cat.put(Code(points=pts, objective="catalog_test_energy"))
    with pytest.raises(InvalidParameterError):
        cat.put("not a code")
    assert not (tmp_path / "c.h5").exists()


# ------------------------------------------------------------------ list / remove
def test_list_filters(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    codes = [make_code(K=K, d=d, seed=K + d) for K in (4, 5, 12) for d in (2, 3)]
    codes += [make_code(K=5, d=3, seed=9, s=2), make_code(K=5, d=3, seed=9, objective="catalog_test_separation")]
    cat.put_many(codes)
    everything = cat.list()
    assert len(everything) == 8 and len(cat.keys()) == 8
    assert [(e.d, e.K) for e in cat.list(objective="catalog_test_energy", d=2)] == [(2, 4), (2, 5), (2, 12)]
    assert {e.objective for e in cat.list(K=5)} == {"catalog_test_energy", "catalog_test_separation"}
    assert len(cat.list(K=5)) == 4
    assert [e.key for e in cat.list(pattern="*s=2,*")] == ["catalog_test_energy[s=2,tag=a]/d=3/K=5"]
    assert cat.list(objective="nothing") == []
    info = cat.list(objective="catalog_test_separation")[0]
    assert info.primary == "min_distance" and info.maximise is True
    assert info.scores == FakeEnergy().score(codes[-1].points, {"s": 1.0})
    # ordered by objective/params, then d, then K numerically (12 after 5)
    energy_keys = [(e.d, e.K) for e in everything if e.key.startswith("catalog_test_energy[s=1,")]
    assert energy_keys == sorted(energy_keys)


def test_remove(tmp_path):
    path = tmp_path / "c.h5"
    cat = Catalog(path)
    r1 = cat.put(make_code(K=4))
    r2 = cat.put(make_code(K=5))
    assert cat.remove(r1.key) is True
    assert cat.get(r1.key) is None and cat.get(r2.key) is not None
    assert cat.remove(r1.key) is False
    assert cat.remove(r2.key) is True
    with h5py.File(path, "r") as f:  # emptied parent groups are pruned
        assert len(f["entries"]) == 0
    assert cat.list() == []


# ------------------------------------------------------------------ file header
def test_header_errors(tmp_path):
    path = tmp_path / "c.h5"
    Catalog(path).put(make_code())
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = fmt.FORMAT_VERSION + 1
    with pytest.raises(CatalogError, match="newer"):
        Catalog(path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["magic"] = "something-else"
    with pytest.raises(CatalogError, match="not a spherecodes catalog"):
        Catalog(other)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(CatalogError, match="HDF5"):
        Catalog(text)
    with pytest.raises(CatalogError, match="no catalog file"):
        Catalog(tmp_path / "missing.h5", "r")


def test_writes_never_touch_a_non_catalog_file(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.arange(3)
    before = other.read_bytes()
    cat = Catalog.__new__(Catalog)  # bypass the constructor's check to reach the write path
    cat.__init__(tmp_path / "fresh.h5")
    cat._path = other
    with pytest.raises(CatalogError, match="not a spherecodes catalog"):
        cat.put(make_code())
    assert other.read_bytes() == before


def test_read_only_mode(tmp_path):
    path = tmp_path / "c.h5"
    key = Catalog(path).put(make_code()).key
    ro = Catalog(path, "r")
    assert ro.get(key) is not None
    with pytest.raises(CatalogError, match="read-only"):
        ro.put(make_code(K=9))
    with pytest.raises(CatalogError, match="read-only"):
        ro.remove(key)
    with pytest.raises(InvalidParameterError):
        Catalog(path, "w")


# ------------------------------------------------------------------ verify
def _flip_byte(path, key, byte=3):
    with h5py.File(path, "r") as f:
        offset = f[f"entries/{key}/points"].id.get_offset()
    with open(path, "r+b") as fh:
        fh.seek(offset + byte)
        b = fh.read(1)[0]
        fh.seek(offset + byte)
        fh.write(bytes([b ^ 0x10]))


def test_verify_passes_then_detects_a_flipped_byte(tmp_path):
    path = tmp_path / "c.h5"
    cat = Catalog(path)
    keys = [r.key for r in cat.put_many([make_code(K=K, seed=K) for K in (4, 5, 6)])]
    report = cat.verify()
    assert report.ok and len(report.entries) == 3
    _flip_byte(path, keys[1])
    report = cat.verify()
    assert not report.ok
    assert [e.key for e in report.failures] == [keys[1]]
    assert any("SHA-256" in p for p in report.failures[0].problems)
    assert keys[1] in report.summary()
    # the other entries stay readable; the damaged one raises a clear error
    assert cat.get(keys[0]) is not None and cat.get(keys[2]) is not None
    with pytest.raises(CatalogError, match="corrupted"):
        cat.get(keys[1])
    # writes still work, and a new code for the damaged key replaces it
    assert cat.put(make_code(K=7)).action == "stored"
    res = cat.put(make_code(K=5, seed=50))
    assert res.action == "replaced" and res.old_scores is None
    assert cat.verify().ok


def test_verify_detects_bad_norms_and_score_mismatch(tmp_path):
    path = tmp_path / "c.h5"
    cat = Catalog(path)
    key = cat.put(make_code(K=5)).key
    cat.put(make_code(K=6))
    with h5py.File(path, "r+") as f:
        ds = f[f"entries/{key}/points"]
        scaled = ds[()] * (1 + 1e-6)
        ds[...] = scaled
        g = f[f"entries/{key}"]
        g.attrs["sha256"] = fmt.points_sha256(scaled)  # checksums consistent: only norms are off
        g.attrs[fmt.META_SHA256] = fmt.meta_sha256(g.attrs)
    report = cat.verify()
    (bad,) = report.failures
    assert bad.key == key
    assert any("unit_norm_tolerance" in p for p in bad.problems)
    assert any("SCORE_RTOL_FLOAT64" in p and "energy" in p for p in bad.problems)
    assert not any("SHA-256" in p for p in bad.problems)


def test_unreadable_entries_are_reported_not_fatal(tmp_path):
    path = tmp_path / "c.h5"
    cat = Catalog(path)
    k1, k2, k3 = [r.key for r in cat.put_many([make_code(K=K, seed=K) for K in (4, 5, 6)])]
    with h5py.File(path, "r+") as f:
        del f[f"entries/{k1}/points"]
        f[f"entries/{k2}"].attrs["scores"] = "{not json"
    report = cat.verify()
    assert {e.key for e in report.failures} == {k1, k2}
    assert [e.key for e in cat.list()] == [k3]
    assert cat.get(k3) is not None
    with pytest.raises(CatalogError, match="unreadable"):
        cat.get(k1)
    assert cat.remove(k1) and cat.remove(k2)
    assert cat.verify().ok


def test_verify_notes_unregistered_objectives(tmp_path):
    path = tmp_path / "c.h5"
    key = Catalog(path).put(make_code(objective="catalog_test_separation")).key
    OBJECTIVES.pop("catalog_test_separation")
    report = Catalog(path).verify()
    assert report.ok
    assert report.entries[0].key == key and "not registered" in report.entries[0].notes[0]


# ------------------------------------------------------------------ merge / export / import
def test_merge_keeps_the_better_of_each_pair(tmp_path):
    good, bad = spread_and_clumped()
    a = Catalog(tmp_path / "a.h5")
    b = Catalog(tmp_path / "b.h5")
    a.put_many([make_code(points=bad), make_code(K=4, seed=1)])
    b.put_many([make_code(points=good), make_code(K=5, seed=2), make_code(K=4, seed=1)])
    counts = a.merge(tmp_path / "b.h5")
    assert counts == {"stored": 1, "replaced": 1, "kept": 1, "skipped": 0}
    assert np.array_equal(a.get(make_code(points=good).key).points, good)
    assert len(a) == 3 and a.verify().ok
    with pytest.raises(InvalidParameterError):
        a.merge(a)


def test_merge_skips_corrupted_entries(tmp_path):
    a = Catalog(tmp_path / "a.h5")
    b = Catalog(tmp_path / "b.h5")
    k_bad, k_ok = [r.key for r in b.put_many([make_code(K=4), make_code(K=5)])]
    _flip_byte(tmp_path / "b.h5", k_bad)
    assert a.merge(b) == {"stored": 1, "replaced": 0, "kept": 0, "skipped": 1}
    assert a.keys() == [k_ok]


def test_export_import_round_trip(tmp_path):
    src = Catalog(tmp_path / "src.h5")
    codes = [make_code(K=K, d=3, seed=K) for K in (4, 5, 6)]
    keys = [r.key for r in src.put_many(codes)]
    out = src.export(keys[:2], tmp_path / "sub.h5")
    sub = Catalog(out, "r")
    assert sub.keys() == keys[:2] and sub.verify().ok
    dst = Catalog(tmp_path / "dst.h5")
    assert dst.import_(out) == {"stored": 2, "replaced": 0, "kept": 0, "skipped": 0}
    for code, key in zip(codes[:2], keys[:2]):
        back = dst.get(key)
        assert np.array_equal(back.points, code.points)
        assert dict(back.scores) == dict(src.get(key).scores)
    assert dst.get(keys[2]) is None
    with pytest.raises(InvalidParameterError, match="exists"):
        src.export(keys[:1], out)
    src.export(keys[2:], out, overwrite=True)
    assert Catalog(out, "r").keys() == keys[2:]
    with pytest.raises(InvalidParameterError, match="not in the catalog"):
        src.export(["catalog_test_energy[s=1,tag=a]/d=3/K=99"], tmp_path / "none.h5")
    assert not (tmp_path / "none.h5").exists()


def test_import_npz_code(tmp_path):
    code = make_code(K=5, seed=8)
    code.save(tmp_path / "code.npz")
    cat = Catalog(tmp_path / "c.h5")
    assert cat.import_(tmp_path / "code.npz") == {"stored": 1, "replaced": 0, "kept": 0, "skipped": 0}
    assert np.array_equal(cat.get(code.key).points, code.points)
    np.save(tmp_path / "pts.npy", code.points)
    with pytest.raises(InvalidParameterError):
        cat.import_(tmp_path / "pts.npy")


# ------------------------------------------------------------------ space
def _churn(path, n=16):
    """Put a big entry, then a small one after it, then remove the big one; return the file sizes seen."""
    cat = Catalog(path)
    sizes = []
    for i in range(n):
        key = cat.put(make_code(K=150 + i, d=32, seed=i)).key
        cat.put(make_code(K=10 + i, d=3, seed=i))
        cat.remove(key)
        sizes.append(path.stat().st_size)
    return cat, sizes


def test_replacements_do_not_grow_the_file_without_bound(tmp_path, monkeypatch):
    import spherecodes.catalog.writing as writing

    monkeypatch.setattr(writing, "COMPACT_SLACK", 64 * 1024)  # small data, same mechanism
    monkeypatch.setattr(writing, "COMPACT_FACTOR", 1e9)
    _, leaky = _churn(tmp_path / "leaky.h5")
    monkeypatch.setattr(writing, "COMPACT_FACTOR", 2.0)
    cat, sizes = _churn(tmp_path / "c.h5")
    before = cat.keys()
    cat.compact()
    compact_size = (tmp_path / "c.h5").stat().st_size
    # live data at any moment is at most the final entries plus one big entry (removed again later)
    big = (150 + 16) * 32 * 8 + 16 * 1024
    bound = 2.0 * (compact_size + big) + 64 * 1024
    assert max(leaky) > bound  # without compaction HDF5 leaks the space of deleted objects
    assert max(sizes) <= bound
    assert cat.keys() == before and cat.verify().ok


def test_riesz_entries_round_trip(tmp_path):
    cat = Catalog(tmp_path / "c.h5")
    code = make_code(K=6, d=3, seed=5, objective="riesz")
    res = cat.put(code)
    obj = OBJECTIVES["riesz"]
    params = obj.normalise_params()
    assert res.key == make_key("riesz", params, 3, 6)
    back = cat.get(("riesz", 3, 6))
    assert np.array_equal(back.points, code.points)
    assert dict(back.scores) == obj.score(code.points, params)
    assert cat.verify().ok
