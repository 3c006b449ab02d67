"""Tests for the ``train`` command object, invoked directly with click's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spherecodes.cli.train import command


def run(args):
    return CliRunner().invoke(command, args)


def test_json_output_is_deterministic():
    args = ["--epochs", "1", "--seed", "2", "--json", "--no-progress"]
    a, b = run(args), run(args)
    assert a.exit_code == 0, a.output
    data = json.loads(a.stdout)
    assert data == json.loads(b.stdout)
    assert 0.0 <= data["test_accuracy"] <= 1.0
    assert {"nc1", "nc2_one_vs_rest", "nc3", "reverse_energy"} <= set(data["metrics"])
    assert data["config"]["head"] == "fixed" and data["config"]["feature_dim"] == 16


def test_text_output_and_progress_bar_on_stderr():
    result = run(["--epochs", "2", "--head", "learnable", "--loss", "hug", "--dim", "4"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.stdout and "nc1" in result.stdout
    assert "test_acc=" in result.stderr  # tqdm writes its bar (with the postfix) to stderr, never to stdout
    assert "test_acc=" not in result.stdout


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "features.png"
    result = run(["--epochs", "1", "--head", "class_mean", "--dim", "2", "--plot", str(png), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_proxies_from_file(tmp_path):
    rng = np.random.default_rng(0)
    P = rng.normal(size=(10, 3))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    np.save(tmp_path / "p.npy", P)
    result = run(["--epochs", "1", "--dim", "3", "--proxies", str(tmp_path / "p.npy"), "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["proxies"] == str(tmp_path / "p.npy")


@pytest.mark.parametrize("args,needle", [
    (["--epochs", "0"], "--epochs"),
    (["--dim", "4"], "--proxies"),  # the default simplex needs d >= 9
    (["--proxies", "construction:no_such_thing"], "no_such_thing"),
    (["--loss", "mse"], "--loss"),
])
def test_bad_input_exits_2_with_one_error_line(args, needle):
    result = run(args + ["--no-progress"])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and needle in result.output
