"""Catalog files with flipped bytes: every read returns the stored data unchanged or raises CatalogError.

Regression tests for the defects found by ``bench/faults.py`` (one byte flipped anywhere in a catalog):
uncaught TypeError/OSError from damaged names and root attributes, a renamed score that nothing noticed
(the metadata had no checksum), and libhdf5 looping forever on a damaged global heap collection.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import struct

import h5py
import numpy as np
import pytest
from _helpers import PlainEnergy

from spherecodes.catalog import Catalog
from spherecodes.catalog import format as fmt
from spherecodes.code import Code
from spherecodes.errors import CatalogError
from spherecodes.objectives import OBJECTIVES, register

#: Flipped offsets per sweep: spread evenly over the whole file.
N_OFFSETS = 150


class DamageEnergy(PlainEnergy):
    name = "catalog_damage_energy"


@pytest.fixture(autouse=True)
def objective(monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user_catalog.h5"))
    obj = register(DamageEnergy())
    yield obj
    OBJECTIVES.pop(obj.name, None)


def _code(K, d, seed, s=1.0, certificate=None):
    x = np.random.default_rng(seed).standard_normal((K, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Code(points=x, objective="catalog_damage_energy", params={"s": s},
                provenance={"solver": "test", "seed": seed, "note": f"entry {seed}"}, certificate=certificate)


def _build(path):
    """A small catalog: 8 entries under two parameter groups, one with a certificate."""
    codes = [_code(K, d, seed=10 * K + d, s=s) for s in (1.0, 2.0) for d, K in ((2, 5), (3, 5), (3, 7), (4, 6))]
    codes[3] = _code(6, 4, seed=99, s=1.0, certificate={"verdict": "local_optimum", "eigenvalues": [0.5, 1.25]})
    return [r.key for r in Catalog(path).put_many(codes)]


def _snapshot(cat):
    """Everything a reader can get: points and metadata of each entry, and the list() view."""
    codes = {key: cat.get(key) for key in cat.keys()}
    infos = {e.key: _info_dict(e) for e in cat.list()}
    return {key: (c.points.tobytes(), json.dumps(c.metadata(), sort_keys=True, default=str))
            for key, c in codes.items()}, infos


def _info_dict(info):
    out = info.to_dict()
    out.pop("catalog")  # the path of the file read, not data
    return out


def _read_all(path, original, infos):
    """Read a (damaged) file in every way; 'refused', 'detected' or 'identical'. Other exceptions propagate."""
    try:
        cat = Catalog(path, "r")
    except CatalogError:
        return "refused"
    report = cat.verify()  # never raises for damage: file-level problems are in report.problems
    detected = not report.ok
    try:
        for e in cat.list():  # listed entries must be unchanged; damaged ones are left out (logged)
            assert e.key in infos and _info_dict(e) == infos[e.key], f"list() returned changed {e.key}"
    except CatalogError:
        detected = True
    for key, (points, meta) in original.items():
        try:
            code = cat.get(key)
        except CatalogError as exc:
            assert key in str(exc) or str(path) in str(exc), f"error does not name the entry or file: {exc}"
            detected = True
            continue
        if code is None:  # its group was renamed by the damage: a miss is only fine when verify failed
            assert not report.ok, f"{key} vanished and verify passed"
            continue
        assert code.points.tobytes() == points, f"{key}: points changed silently"
        assert json.dumps(code.metadata(), sort_keys=True, default=str) == meta, f"{key}: metadata changed silently"
    return "detected" if detected else "identical"


def test_flipped_bytes_give_identical_data_or_catalog_error(tmp_path):
    path = tmp_path / "c.h5"
    _build(path)
    original, infos = _snapshot(Catalog(path, "r"))
    assert len(original) == 8 and len(infos) == 8
    raw = path.read_bytes()
    damaged = tmp_path / "damaged.h5"
    step = max(1, len(raw) // N_OFFSETS)
    outcomes: dict[str, int] = {}
    for i, offset in enumerate(range(0, len(raw), step)):
        data = bytearray(raw)
        data[offset] ^= 1 + (97 * i) % 255  # a different non-zero pattern at each offset
        damaged.write_bytes(bytes(data))
        try:
            outcome = _read_all(damaged, original, infos)
        except AssertionError as exc:
            raise AssertionError(f"byte {offset} ^ {1 + (97 * i) % 255}: {exc}") from None
        except Exception as exc:  # the contract: CatalogError only
            raise AssertionError(f"byte {offset} ^ {1 + (97 * i) % 255}: {type(exc).__name__}: {exc}") from exc
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # the sweep must reach both the file structure and the data: some flips refused or detected, some harmless
    assert outcomes.get("refused", 0) + outcomes.get("detected", 0) > 0, outcomes
    assert outcomes.get("identical", 0) > 0, outcomes


# ------------------------------------------------------------------ the metadata checksum
def _flip_at(path, needle, inside=5, xor=0x01):
    """Flip one byte ``inside`` bytes into the only occurrence of ``needle`` in the file."""
    raw = bytearray(path.read_bytes())
    assert raw.count(needle) == 1, f"{needle!r} occurs {raw.count(needle)} times"
    offset = raw.index(needle) + inside
    raw[offset] ^= xor
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("field", ["scores", "provenance", "certificate"])
def test_a_flipped_byte_in_the_metadata_json_is_detected(tmp_path, field):
    path = tmp_path / "c.h5"
    keys = _build(path)
    key = keys[3]  # the entry with a certificate
    cat = Catalog(path, "r")
    with h5py.File(path, "r") as f:
        text = f[f"entries/{key}"].attrs[field]
    assert cat.verify().ok
    _flip_at(path, text.encode(), inside=text.index(":") - 2)  # inside a JSON name, e.g. min_distance -> min_distancd
    with pytest.raises(CatalogError, match="metadata") as info:
        cat.get(key)
    assert key in str(info.value) and str(path) in str(info.value)
    report = cat.verify()
    assert [e.key for e in report.failures] == [key]
    assert any(fmt.META_SHA256 in p for p in report.failures[0].problems)
    assert key not in [e.key for e in cat.list()]  # left out of the list, the other entries stay
    assert len(cat.list()) == len(keys) - 1
    assert all(cat.get(k) is not None for k in keys if k != key)
    with pytest.raises(CatalogError, match="metadata"):
        cat.info(key)


def test_the_metadata_checksum_follows_the_documented_recipe(tmp_path):
    """docs/catalog.md: SHA-256 of the JSON of all other attributes (sorted keys, ',' and ':'), with plain h5py."""
    path = tmp_path / "c.h5"
    keys = _build(path)
    with h5py.File(path, "r") as f:
        for key in keys:
            g = f[f"entries/{key}"]
            meta = {n: (v.item() if hasattr(v, "item") else v) for n, v in g.attrs.items() if n != "meta_sha256"}
            text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
            assert hashlib.sha256(text.encode()).hexdigest() == g.attrs["meta_sha256"]
            assert {"scores", "provenance", "stored", "sha256", "key"} <= set(meta)


def test_entries_without_a_metadata_checksum_still_read(tmp_path):
    """Entries written before meta_sha256 existed: readable, verify passes with a note."""
    path = tmp_path / "c.h5"
    keys = _build(path)
    cat = Catalog(path, "r")
    before = {k: cat.get(k) for k in keys}
    with h5py.File(path, "r+") as f:
        for key in keys:
            del f[f"entries/{key}"].attrs[fmt.META_SHA256]
    for key in keys:
        code = cat.get(key)
        assert code.points.tobytes() == before[key].points.tobytes() and code.scores == before[key].scores
    report = cat.verify()
    assert report.ok and len(report.entries) == len(keys)
    assert all(any("no metadata checksum" in n for n in e.notes) for e in report.entries)
    assert len(cat.list()) == len(keys)
    # storing the code again adds the checksum to that entry
    writable = Catalog(path)
    writable.remove(keys[0])
    writable.put(before[keys[0]])
    (check,) = [e for e in writable.verify().entries if e.key == keys[0]]
    assert check.ok and not any("no metadata checksum" in n for n in check.notes)


# ------------------------------------------------------------------ damaged names (was a TypeError in _walk)
def test_a_group_name_that_is_not_utf8_is_reported_not_fatal(tmp_path):
    path = tmp_path / "c.h5"
    keys = _build(path)
    top = keys[-1].split("/")[0]  # catalog_damage_energy[s=2]: one of two top-level names, so they get sorted
    # the link name in the group's local heap; c ^ 0x80 starts a UTF-8 sequence that "a" does not continue
    _flip_at(path, b"\x00" + top.encode() + b"\x00", inside=1, xor=0x80)
    cat = Catalog(path, "r")
    listed = cat.keys()
    assert len(listed) == len(keys)
    damaged = [k for k in listed if k not in keys]
    assert damaged and all(k.startswith("\\x") for k in damaged)  # first byte shown escaped
    report = cat.verify()
    assert {e.key for e in report.failures} == set(damaged)
    assert all("UTF-8" in e.problems[0] for e in report.failures)
    readable = [k for k in keys if not k.startswith(top)]
    assert all(cat.get(k) is not None for k in readable)
    assert {e.key for e in cat.list()} == set(readable)


def test_a_hidden_entries_group_is_damage_not_an_empty_catalog(tmp_path):
    """A flip in the root group's index hid /entries: every read must say so, not report an empty catalog."""
    path = tmp_path / "c.h5"
    keys = _build(path)
    _flip_at(path, b"\x00entries\x00", inside=7)  # the link name in the root group's local heap: "entrier"
    cat = Catalog(path, "r")
    report = cat.verify()
    assert not report.ok and any("/entries" in p for p in report.problems)
    for call in (cat.keys, cat.list, lambda: cat.get(keys[0]), lambda: cat.info(keys[0])):
        with pytest.raises(CatalogError, match="damaged"):
            call()


# ------------------------------------------------------------------ a damaged global heap (libhdf5 would hang)
def _free_space_objects(raw):
    """(collection offset, byte offset of object 0's size field) for each global heap collection."""
    out = []
    pos = raw.find(b"GCOL\x01\x00\x00\x00")
    while pos >= 0:
        (size,) = struct.unpack_from("<Q", raw, pos + 8)
        p = pos + 16
        while p + 16 <= pos + size:
            idx, osize = struct.unpack_from("<H6xQ", raw, p)
            if idx == 0:
                out.append((pos, p + 8))
                break
            p += 16 + ((osize + 7) & ~7)
        pos = raw.find(b"GCOL\x01\x00\x00\x00", pos + 1)
    return out


def _open_in_child(path, fd):
    try:
        Catalog(path, "r").keys()
        out = "opened"
    except CatalogError as exc:
        out = f"CatalogError: {exc}"
    except Exception as exc:
        out = f"{type(exc).__name__}: {exc}"
    os.write(fd, out.encode())
    os._exit(0)


def test_a_global_heap_object_of_size_zero_is_refused_not_a_hang(tmp_path):
    path = tmp_path / "c.h5"
    _build(path)
    raw = bytearray(path.read_bytes())
    assert fmt.global_heap_problem(path) == ""  # no false alarm on a sound file
    free = _free_space_objects(raw)
    assert free, "no global heap collection with free space found"
    gcol, size_field = free[0]
    raw[size_field:size_field + 8] = bytes(8)  # libhdf5's walk over the collection would stop advancing
    path.write_bytes(bytes(raw))
    assert f"collection at byte {gcol}" in fmt.global_heap_problem(path)
    # in a child process: should the check ever miss it, libhdf5 loops forever and the test must not hang
    r, w = os.pipe()
    child = mp.get_context("fork").Process(target=_open_in_child, args=(path, w))
    child.start()
    os.close(w)
    child.join(timeout=120)  # a hang detector, not a speed requirement: the check takes milliseconds
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("reading the damaged catalog hung (libhdf5 loop not prevented)")
    out = os.read(r, 65536).decode()
    os.close(r)
    assert out.startswith("CatalogError") and "global heap" in out and str(path) in out


def test_no_false_alarm_on_the_builtin_catalog():
    from pathlib import Path

    from spherecodes.catalog import locations

    # the shipped file itself ($SPHERECODES_BUILTIN_CATALOG points the tests elsewhere): a large real catalog
    path = Path(locations.__file__).resolve().parent.parent / "data" / locations.BUILTIN_NAME
    if not path.exists():
        pytest.skip("no built-in catalog in this installation")
    assert fmt.global_heap_problem(path) == ""
