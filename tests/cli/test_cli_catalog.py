"""Tests of `spherecodes catalog ...`, `spherecodes lookup` and scripts/build_builtin_catalog.py."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from spherecodes.catalog import Catalog
from spherecodes.cli.catalog import command as catalog_cmd
from spherecodes.cli.lookup import command as lookup_cmd
from spherecodes.code import Code
from spherecodes.keys import make_key
from spherecodes.objectives import get_objective

RIESZ = get_objective("riesz")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_builtin_catalog.py"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERECODES_CATALOG", str(tmp_path / "user.h5"))
    fake_builtin = tmp_path / "builtin.h5"
    for name in ("spherecodes.catalog.lookup", "spherecodes.cli.catalog"):
        monkeypatch.setattr(importlib.import_module(name), "builtin_catalog_path", lambda: fake_builtin)


def riesz_code(d, K, seed=0, **params):
    x = np.random.default_rng(seed).standard_normal((K, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return Code(points=x, objective="riesz", params=RIESZ.normalise_params(**params))  # so that .key is canonical


def key_of(d, K, **params):
    return make_key("riesz", RIESZ.normalise_params(**params), d, K)


@pytest.fixture
def filled(tmp_path):
    path = tmp_path / "user.h5"
    codes = [riesz_code(3, 5, 1), riesz_code(3, 6, 2), riesz_code(4, 6, 3)]
    Catalog(path).put_many(codes)
    return path, codes


def run(cmd, args):
    return CliRunner().invoke(cmd, [str(a) for a in args], catch_exceptions=False)


def error_line(result):
    """The `Error: ...` line of a failed command."""
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


# ------------------------------------------------------------------ catalog
def test_path_prints_the_user_catalog(tmp_path):
    assert run(catalog_cmd, ["path"]).output.strip() == str(tmp_path / "user.h5")
    assert run(catalog_cmd, ["path", "--catalog", tmp_path / "x.h5"]).output.strip() == str(tmp_path / "x.h5")
    assert run(catalog_cmd, ["path", "--builtin"]).output.strip() == str(tmp_path / "builtin.h5")


def test_list_table_json_and_filters(filled):
    path, codes = filled
    res = run(catalog_cmd, ["list"])
    assert res.exit_code == 0
    for c in codes:
        assert c.key in res.output
    assert f"energy={RIESZ.score(codes[0].points, RIESZ.normalise_params())['energy']:.12g}" in res.output
    entries = json.loads(run(catalog_cmd, ["list", "--json"]).output)
    assert [e["key"] for e in entries] == [key_of(3, 5), key_of(3, 6), key_of(4, 6)]
    assert [e["key"] for e in json.loads(run(catalog_cmd, ["list", "--json", "-K", 6]).output)] == [
        key_of(3, 6), key_of(4, 6)]
    assert json.loads(run(catalog_cmd, ["list", "--json", "-d", 4, "--objective", "riesz"]).output)[0]["K"] == 6
    assert json.loads(run(catalog_cmd, ["list", "--json", "--objective", "tammes"]).output) == []


def test_list_of_a_missing_catalog_is_empty(tmp_path):
    res = run(catalog_cmd, ["list", "--catalog", tmp_path / "nothing.h5"])
    assert res.exit_code == 0 and "no entries" in res.output
    assert not (tmp_path / "nothing.h5").exists()


def test_show(filled):
    path, codes = filled
    res = run(catalog_cmd, ["show", codes[1].key])
    assert res.exit_code == 0 and codes[1].key in res.output and "energy=" in res.output
    meta = json.loads(run(catalog_cmd, ["show", "riesz[s=1]/d=3/K=6", "--json", "--points"]).output)
    assert meta["key"] == codes[1].key
    assert np.array_equal(np.array(meta["points"]), codes[1].points)
    assert meta["scores"]["energy"] == RIESZ.score(codes[1].points, RIESZ.normalise_params())["energy"]
    res = run(catalog_cmd, ["show", key_of(3, 99)])
    assert res.exit_code == 1 and "no entry" in error_line(res)
    res = run(catalog_cmd, ["show", "not a key"])
    assert res.exit_code == 2 and "key" in error_line(res)


def test_verify_exit_status(filled):
    path, codes = filled
    res = run(catalog_cmd, ["verify"])
    assert res.exit_code == 0 and "3 entries, 0 failed" in res.output
    with h5py.File(path, "r") as f:
        offset = f[f"entries/{codes[2].key}/points"].id.get_offset()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([b ^ 1]))
    res = run(catalog_cmd, ["verify"])
    assert res.exit_code == 1 and f"FAIL {codes[2].key}" in res.output and "1 failed" in res.output
    report = json.loads(run(catalog_cmd, ["verify", "--json"]).output)
    assert report["ok"] is False and [e["key"] for e in report["entries"] if not e["ok"]] == [codes[2].key]


def test_export_import_merge_remove(filled, tmp_path):
    path, codes = filled
    out = tmp_path / "part.h5"
    res = run(catalog_cmd, ["export", codes[0].key, codes[2].key, "--out", out])
    assert res.exit_code == 0 and Catalog(out, "r").keys() == [codes[0].key, codes[2].key]
    res = run(catalog_cmd, ["export", codes[0].key, "--out", out])
    assert res.exit_code == 2 and "exists" in error_line(res)
    assert run(catalog_cmd, ["export", codes[0].key, "--out", out, "--force"]).exit_code == 0
    other = tmp_path / "other.h5"
    res = run(catalog_cmd, ["import", out, "--catalog", other])
    assert res.exit_code == 0 and "stored=1" in res.output
    assert np.array_equal(Catalog(other, "r").get(codes[0].key).points, codes[0].points)
    res = run(catalog_cmd, ["merge", path, "--catalog", other])
    assert res.exit_code == 0 and "stored=2" in res.output and "kept=1" in res.output
    assert run(catalog_cmd, ["remove", codes[0].key, "--catalog", other]).exit_code == 0
    assert Catalog(other, "r").get(codes[0].key) is None
    res = run(catalog_cmd, ["remove", codes[0].key, "--catalog", other])
    assert res.exit_code == 1


def test_bad_catalog_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    res = run(catalog_cmd, ["list", "--catalog", bad])
    assert res.exit_code == 2 and "HDF5" in error_line(res)
    res = run(catalog_cmd, ["list", "--builtin"])
    assert res.exit_code == 2 and "not installed" in error_line(res)


def test_show_an_unknown_key_suggests_near_ones(filled, tmp_path):
    path, codes = filled
    res = run(catalog_cmd, ["show", key_of(3, 7)])
    line = error_line(res)
    assert res.exit_code == 1 and f"no entry {key_of(3, 7)}" in line
    # nearest first: K=6 (log 7/6), then K=5 (log 7/5), then d=4 (log 4/3 + log 7/6)
    assert f"nearest stored: {key_of(3, 6)}, {key_of(3, 5)}, {key_of(4, 6)}" in line
    # a malformed key: the syntax error, and what is stored near what it seems to mean (riesz/d=3/K=6, without
    # parameters, is a valid key now: the objective's defaults)
    res = run(catalog_cmd, ["show", "riesz[s=1/d=3/K=6"])
    line = error_line(res)
    assert res.exit_code == 2 and "keys look like" in line and f"nearest stored: {key_of(3, 6)}" in line
    # a misspelt objective
    res = run(catalog_cmd, ["show", "reisz[s=1]/d=4/K=6"])
    assert res.exit_code == 2 and f"nearest stored: {key_of(4, 6)}" in error_line(res)
    # nothing near
    res = run(catalog_cmd, ["show", "xylophone[]/d=3/K=6"])
    assert res.exit_code == 2 and "nearest" not in error_line(res) and "catalog list" in error_line(res)


def test_show_falls_back_to_the_builtin_catalog_like_lookup(filled, tmp_path):
    builtin_code = riesz_code(5, 9, 4)
    Catalog(tmp_path / "builtin.h5").put(builtin_code)
    res = run(catalog_cmd, ["show", builtin_code.key])
    assert res.exit_code == 0 and builtin_code.key in res.output
    assert f"catalog:    {tmp_path / 'builtin.h5'}" in res.output
    res = run(catalog_cmd, ["show", builtin_code.key, "--builtin"])
    assert res.exit_code == 0 and builtin_code.key in res.output
    res = run(catalog_cmd, ["show", key_of(5, 10)])  # in neither: not found
    assert res.exit_code == 1 and "no entry" in error_line(res)


def test_show_takes_a_key_without_parameters(filled, tmp_path):
    """``riesz/d=3/K=6`` is the key with the objective's default parameters."""
    res = run(catalog_cmd, ["show", "riesz/d=3/K=6"])
    assert res.exit_code == 0 and key_of(3, 6) in res.output


def test_remove_an_unknown_key_suggests_near_ones(filled):
    res = run(catalog_cmd, ["remove", key_of(3, 7)])
    assert res.exit_code == 1 and f"nearest stored: {key_of(3, 6)}" in error_line(res)


def test_newer_format_version_is_named(filled):
    path, codes = filled
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 99
    for cmd, args in ((catalog_cmd, ["list"]), (catalog_cmd, ["show", codes[0].key]),
                      (lookup_cmd, ["riesz", "-d", 3, "-K", 5])):
        res = run(cmd, args)
        assert res.exit_code == 2
        line = error_line(res)
        assert "format version 99" in line and "newer" in line and "upgrade spherecodes" in line


def test_read_only_catalog_reads_work_and_writes_say_so(filled, tmp_path):
    path, codes = filled
    other = tmp_path / "other.h5"
    Catalog(other).put(riesz_code(3, 8, 7))
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        assert run(catalog_cmd, ["list"]).exit_code == 0
        assert run(catalog_cmd, ["show", codes[0].key]).exit_code == 0
        assert run(catalog_cmd, ["verify"]).exit_code == 0
        assert run(lookup_cmd, ["riesz", "-d", 3, "-K", 5]).output.splitlines()[0] == codes[0].key
        for args in (["remove", codes[0].key], ["merge", other], ["import", other]):
            res = run(catalog_cmd, args)
            assert res.exit_code == 2, args
            line = error_line(res)
            assert "read-only" in line and str(path) in line
    finally:
        os.chmod(path, 0o644)
    assert path.read_bytes() == before


def test_lookup_compute_with_a_read_only_catalog_still_prints_the_code(filled, monkeypatch):
    path, codes = filled
    made = riesz_code(3, 9, 13)
    fake = types.SimpleNamespace(generate=lambda objective, d, K, *, catalog, **params: made)
    monkeypatch.setitem(sys.modules, "spherecodes.api", fake)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    try:
        res = run(lookup_cmd, ["riesz", "-d", 3, "-K", 9, "--compute", "--json"])
    finally:
        os.chmod(path, 0o644)
    assert res.exit_code == 0
    assert np.array_equal(np.array(json.loads(res.output)["points"]), made.points)
    assert path.read_bytes() == before


# ------------------------------------------------------------------ lookup
def test_lookup_found_json_and_out(filled, tmp_path):
    path, codes = filled
    res = run(lookup_cmd, ["riesz", "-d", 3, "-K", 6])
    assert res.exit_code == 0 and res.output.splitlines()[0] == codes[1].key
    meta = json.loads(run(lookup_cmd, ["riesz", "-d", 3, "-K", 6, "--json"]).output)
    assert np.array_equal(np.array(meta["points"]), codes[1].points)
    out = tmp_path / "c.npz"
    assert run(lookup_cmd, ["riesz", "-d", 4, "-K", 6, "--out", out]).exit_code == 0
    assert np.array_equal(Code.load(out).points, codes[2].points)


def test_lookup_params_and_catalog_option(tmp_path):
    other = tmp_path / "other.h5"
    code = riesz_code(3, 7, 5, s=2.0)
    Catalog(other).put(code)
    for args in (["--s", 2], ["--param", "s=2"]):
        res = run(lookup_cmd, ["riesz", "-d", 3, "-K", 7, "--catalog", other, *args])
        assert res.exit_code == 0 and res.output.splitlines()[0] == code.key
    res = run(lookup_cmd, ["riesz", "-d", 3, "-K", 7, "--catalog", other])
    assert res.exit_code == 1


def test_lookup_miss_exit_1_with_one_line(filled):
    res = run(lookup_cmd, ["riesz", "-d", 3, "-K", 7])
    assert res.exit_code == 1
    line = error_line(res)
    assert key_of(3, 6) in line and "spherecodes generate riesz -d 3 -K 7" in line


@pytest.mark.parametrize("args, word", [
    (["riesz", "-d", 3, "-K", 7, "--param", "s"], "NAME=VALUE"),
    (["nope", "-d", 3, "-K", 7], "objective"),
    (["riesz", "-d", 1, "-K", 7], "-d"),
    (["riesz", "-d", 3, "-K", 7, "--param", "colour=red"], "colour"),
])
def test_lookup_bad_input_exit_2(args, word):
    res = run(lookup_cmd, args)
    assert res.exit_code == 2
    assert word in error_line(res)


def test_lookup_bad_catalog_exit_2(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    res = run(lookup_cmd, ["riesz", "-d", 3, "-K", 7, "--catalog", bad])
    assert res.exit_code == 2 and "HDF5" in error_line(res)


# ------------------------------------------------------------------ build script
@pytest.fixture
def build_script(monkeypatch):
    spec = importlib.util.spec_from_file_location("build_builtin_catalog", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_builtin_catalog", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_parse_int_list(build_script):
    assert build_script.parse_int_list("3-5,10, 4") == [3, 4, 5, 10]


def test_build_script_on_a_tiny_grid(build_script, tmp_path):
    calls = []

    def fake_generate(objective, d, K, *, seed=None, device=None, restarts=None, **params):
        calls.append((objective, d, K, restarts))
        return riesz_code(d, K, seed=d * 100 + K, **params)

    out = tmp_path / "data" / "builtin.h5"
    objectives = {"riesz": {"s": 1.0}, "not_an_objective_xyz": {}}
    rows = build_script.build(out, objectives=objectives, dims=[2, 3], sizes=[3, 4], restarts=2,
                              generate=fake_generate)
    # cheapest first (K*d), all solved, the unknown objective skipped
    assert [(c[1], c[2]) for c in calls] == [(2, 3), (2, 4), (3, 3), (3, 4)] and calls[0][3] == 2
    assert sorted(r.status for r in rows) == ["skipped", "stored", "stored", "stored", "stored"]
    cat = Catalog(out, "r")
    assert cat.keys() == [key_of(2, 3), key_of(2, 4), key_of(3, 3), key_of(3, 4)] and cat.verify().ok
    table = build_script.format_table(rows)
    assert "stored=4" in table and "skipped=1" in table
    # a second run only fills what is missing
    rows = build_script.build(out, objectives={"riesz": {"s": 1.0}}, dims=[2, 3], sizes=[3, 4, 5],
                              generate=fake_generate)
    assert sorted(r.status for r in rows) == ["present"] * 4 + ["stored"] * 2
    assert len(calls) == 6


def test_build_script_stops_at_the_size_budget(build_script, tmp_path):
    out = tmp_path / "b.h5"
    rows = build_script.build(out, objectives={"riesz": {}}, dims=[8], sizes=[100, 200, 300, 400],
                              max_mb=0.05, generate=lambda o, d, K, **kw: riesz_code(d, K, seed=K))
    statuses = [r.status for r in rows]
    assert statuses[-1] == "stopped" and "size budget" in rows[-1].note
    stored = Catalog(out, "r").keys()
    assert 0 < len(stored) < 4
    assert out.stat().st_size <= 0.05 * 2**20
