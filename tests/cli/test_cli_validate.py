"""CLI ``spherecodes validate``: bad input gives one clear line and exit 2; duplicates exit 1; --normalize.

Exit statuses (documented in ``spherecodes validate --help``): 0 valid code, 1 a readable code that is not
valid (duplicate points, a violated bound), 2 unusable input.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spherecodes.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def octahedron():
    return np.vstack([np.eye(3), -np.eye(3)])


def invoke(runner, *args):
    result = runner.invoke(cli, ["validate", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def write_npz_without_points(path):
    np.savez(path, x=np.eye(3))


@pytest.mark.parametrize("name,write,needle", [
    ("flat.npy", lambda p: np.save(p, np.ones(5)), "shape (5,)"),
    ("cube.npy", lambda p: np.save(p, np.ones((2, 3, 4))), "shape (2, 3, 4)"),
    ("column.npy", lambda p: np.save(p, np.ones((4, 1))), "invalid d=1"),
    ("other.npz", write_npz_without_points, "no 'points' array"),
    ("words.txt", lambda p: p.write_text("hello world\n1 2 3\n"), "could not read points"),
    ("ragged.txt", lambda p: p.write_text("1 0 0\n0 1\n"), "could not read points"),
    ("empty.txt", lambda p: p.write_text("\n\n"), "is empty"),
    ("single.txt", lambda p: p.write_text("0 0 1\n"), "at least 2 points"),
    ("notarray.npy", lambda p: p.write_bytes(b"not numpy at all"), "could not read points"),
])
def test_files_that_are_not_k_by_d_arrays_exit_2_with_one_line(runner, tmp_path, name, write, needle):
    path = tmp_path / name
    write(path)
    result = invoke(runner, path, "--no-lp")
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error:")


@pytest.mark.parametrize("name,write,needle", [
    ("nan.npy", lambda p: np.save(p, np.where(np.eye(3) == 1, np.nan, 0.0)), "row 0, column 0 is nan"),
    ("inf.txt", lambda p: p.write_text("1 0 0\n0 1 0\n0 0 inf\n"), "row 2, column 2 is inf"),
])
def test_nan_and_inf_exit_2_and_say_where(runner, tmp_path, name, write, needle):
    path = tmp_path / name
    write(path)
    result = invoke(runner, path, "--no-lp")
    assert result.exit_code == 2, result.output
    assert "NaN or inf" in result.output and needle in result.output


def test_rows_not_of_unit_norm_say_by_how_much_and_offer_normalize(runner, tmp_path):
    X = octahedron()
    X[3] *= 1.5
    X[5] *= 1.0 + 1e-6
    path = tmp_path / "scaled.npy"
    np.save(path, X)
    bad = invoke(runner, path, "--no-lp")
    assert bad.exit_code == 2
    assert "unit norm" in bad.output and "2 of 6 rows" in bad.output
    assert "row 3 has norm 1.5, off by 0.5" in bad.output and "tolerance 2.2e-10" in bad.output
    assert "--normalize" in bad.output
    for flag in ("--normalize", "--normalise"):
        ok = invoke(runner, path, flag, "--no-lp", "--json")
        assert ok.exit_code == 0, ok.output
        cert = json.loads(ok.stdout)
        assert cert["verdict"] == "optimal" and cert["ok"] is True  # the projected rows are the octahedron


def test_duplicate_points_exit_1_and_name_the_pair(runner, tmp_path):
    path = tmp_path / "dup.txt"
    X = np.vstack([octahedron(), octahedron()[2]])
    np.savetxt(path, X)
    result = invoke(runner, path, "--no-lp")
    assert result.exit_code == 1, result.output
    assert "check distinct: FAILED" in result.stdout
    assert "duplicate points: rows 2 and 6 are at distance 0 <= tol 1.5e-08" in result.stderr
    as_json = invoke(runner, path, "--no-lp", "--json")
    assert as_json.exit_code == 1
    cert = json.loads(as_json.stdout)
    assert cert["ok"] is False and cert["verdict"].startswith("invalid (duplicate points: rows 2 and 6")
    assert cert["scores"]["energy"] == "inf"


def test_unknown_objective_and_parameter_exit_2(runner, tmp_path):
    path = tmp_path / "oct.npy"
    np.save(path, octahedron())
    result = invoke(runner, path, "--objective", "thomson")
    assert result.exit_code == 2
    assert "'thomson' is not one of" in result.output and "riesz" in result.output and "tammes" in result.output
    result = invoke(runner, path, "--eps", "1", "--no-lp")
    assert result.exit_code == 2 and "unknown parameter 'eps'" in result.output
    result = invoke(runner, path, "--objective", "mgd", "--eps", "-1", "--no-lp")
    assert result.exit_code == 2 and "eps" in result.output


@pytest.mark.parametrize("objective,extra,primary", [
    ("tammes", [], "max_cosine"),
    ("softmax_code", [], "one_vs_rest"),
    ("mgd", ["--eps", "1"], "logdet"),
    ("riesz", ["--s", "2"], "energy"),
])
def test_valid_code_exits_0_for_every_objective(runner, tmp_path, objective, extra, primary):
    path = tmp_path / "oct.npy"
    np.save(path, octahedron())
    result = invoke(runner, path, "--objective", objective, *extra, "--no-lp", "--json")
    assert result.exit_code == 0, result.output
    cert = json.loads(result.stdout)
    assert cert["objective"] == objective and cert["primary"] == primary and cert["ok"] is True
    assert cert["checks"]["distinct"]["ok"] is True
