"""CLI: generate / construct / validate / plot through click's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spherecodes.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_version_and_help(runner):
    assert runner.invoke(cli, ["-V"]).output.startswith("spherecodes, version")
    for cmd in ["generate", "construct", "validate", "plot", "lookup", "catalog", "export", "train"]:
        result = runner.invoke(cli, [cmd, "--help"])
        assert result.exit_code == 0, (cmd, result.output)


def test_generate_json(runner, tmp_path):
    out = tmp_path / "c.npz"
    result = runner.invoke(cli, ["generate", "riesz", "-d", "3", "-K", "6", "--s", "1", "--seed", "0", "-q",
                                 "--no-catalog", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["K"] == 6 and payload["d"] == 3 and payload["objective"] == "riesz"
    assert payload["scores"]["energy"] == pytest.approx(9.985281374, abs=5e-9)  # Thomson N=6 (octahedron)
    assert payload["out"] == str(out) and out.exists()
    assert set(payload) >= {"objective", "params", "d", "K", "scores", "time_s", "out"}


@pytest.mark.parametrize("args,needle", [
    (["-d", "1", "-K", "5"], "invalid d=1"),
    (["-d", "3", "-K", "0"], "invalid K=0"),
    (["-d", "3", "-K", "5", "--eps", "2"], "unknown parameter 'eps'"),
    (["-d", "3", "-K", "5", "--restarts", "0"], "invalid --restarts 0"),
    (["-d", "3", "-K", "5", "--device", "cuda:7"], "device"),
    (["-d", "3", "-K", "5", "--param", "s"], "NAME=VALUE"),
    (["-d", "3", "-K", "5000000"], "restarts"),
])
def test_generate_bad_input_exits_2_with_one_clear_line(runner, args, needle):
    result = runner.invoke(cli, ["generate", "riesz", "-q", "--no-catalog", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_unknown_objective_lists_valid_ones(runner):
    result = runner.invoke(cli, ["generate", "thomson", "-d", "3", "-K", "5"])
    assert result.exit_code == 2 and "riesz" in result.output


def test_construct_list_and_json(runner):
    listing = runner.invoke(cli, ["construct", "--list"])
    for name in ["polygon", "simplex", "cross_polytope", "orthoplex", "icosahedron", "24-cell", "600-cell", "e8"]:
        assert name in listing.output
    result = runner.invoke(cli, ["construct", "600-cell", "-d", "4", "-K", "120", "--json"])
    payload = json.loads(result.output)
    assert payload["scores"]["max_cosine"] == pytest.approx((1 + 5**0.5) / 4, abs=1e-15)
    bad = runner.invoke(cli, ["construct", "simplex", "-d", "3", "-K", "9"])
    assert bad.exit_code == 2 and "K" in bad.output


def test_validate_and_plot(runner, tmp_path):
    path = tmp_path / "ico.npz"
    runner.invoke(cli, ["construct", "icosahedron", "-d", "3", "-K", "12", "--out", str(path)])
    result = runner.invoke(cli, ["validate", str(path), "--no-lp", "--json"])
    assert result.exit_code == 0, result.output
    cert = json.loads(result.output)
    assert cert["verdict"] == "optimal" and cert["ok"] is True
    text = runner.invoke(cli, ["validate", str(path), "--no-lp"])
    assert "known_optimum" in text.output and "optimal" in text.output
    png = tmp_path / "ico.png"
    result = runner.invoke(cli, ["plot", str(path), "--out", str(png)])
    assert result.exit_code == 0 and png.stat().st_size > 1000


def test_validate_rejects_non_unit_rows_unless_normalised(runner, tmp_path):
    path = tmp_path / "pts.npy"
    np.save(path, 2.0 * np.eye(3))
    bad = runner.invoke(cli, ["validate", str(path)])
    assert bad.exit_code == 2 and "unit norm" in bad.output
    ok = runner.invoke(cli, ["validate", str(path), "--normalise", "--no-lp"])
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("module", ["generate", "lookup", "validate"])
def test_objective_parameter_options_come_from_the_declarations(module):
    import importlib

    from spherecodes.objectives import OBJECTIVES, available_objectives

    command = importlib.import_module(f"spherecodes.cli.{module}").command
    options = {p.name: p for p in command.params}
    declared = {p.name: p for name in available_objectives() for p in OBJECTIVES[name].params}
    assert declared, "the built-in objectives declare parameters"
    for name, param in declared.items():
        assert name in options, f"no option for the declared parameter {name!r}"
        assert param.cli_flag.split("/")[0] in options[name].opts
    assert "extra" in options  # --param NAME=VALUE for any other parameter
