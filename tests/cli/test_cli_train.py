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
    (["--dataset", "mnist"], "--dataset"),
    (["--loss", "hug_mhs", "--hug-variant", "mgd"], "--hug-variant"),
])
def test_bad_input_exits_2_with_one_error_line(args, needle):
    result = run(args + ["--no-progress"])
    assert_one_line_error(result)
    assert needle in result.output


def assert_one_line_error(result):
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output


def unit_rows(K: int, d: int, seed: int = 0) -> np.ndarray:
    P = np.random.default_rng(seed).normal(size=(K, d))
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def test_proxies_of_the_wrong_dimension_or_too_few_exit_2(tmp_path):
    np.save(tmp_path / "d3.npy", unit_rows(10, 3))
    wrong_dim = run(["--proxies", str(tmp_path / "d3.npy"), "--dim", "5", "--no-progress"])
    assert_one_line_error(wrong_dim)
    assert "R^3" in wrong_dim.output and "--proxies" in wrong_dim.output
    np.save(tmp_path / "k7.npy", unit_rows(7, 16))
    too_few = run(["--proxies", str(tmp_path / "k7.npy"), "--head", "rotated", "--no-progress"])
    assert_one_line_error(too_few)
    assert "fewer codewords than the 10 classes" in too_few.output


def test_dataset_option_and_help():
    result = run(["--dataset", "digits", "--epochs", "1", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["dataset"] == "digits"
    help_text = " ".join(run(["--help"]).output.split())
    assert "--dataset [digits]" in help_text and "Only scikit-learn's bundled digits" in help_text
    assert "--catalog PATH" in help_text


def test_named_hug_losses(tmp_path):
    result = run(["--loss", "hug_mhs", "--head", "learnable", "--epochs", "1", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config"]["loss"] == "hug_mhs" and data["config"]["hug_variant"] == "mhs"
    assert 0.0 <= data["test_accuracy"] <= 1.0 and "gnc2_energy_mean" in data["metrics"]


def test_catalog_key_from_the_catalog_option(tmp_path):
    from spherecodes import Catalog
    from spherecodes.code import Code

    P = unit_rows(10, 3, seed=4)
    key = Catalog(tmp_path / "mine.h5").put(Code(points=P, objective="riesz", params={"s": 1.25})).key
    args = ["--proxies", key, "--dim", "3", "--epochs", "1", "--json", "--no-progress"]
    ok = run(args + ["--catalog", str(tmp_path / "mine.h5")])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["config"]["proxies"] == key and data["config"]["catalog"] == str(tmp_path / "mine.h5")
    miss = run(args)  # the private user catalog and the built-in one do not hold it: not found, exit 1
    assert miss.exit_code == 1 and "Traceback" not in miss.output
    assert [line for line in miss.output.splitlines() if line.startswith("Error")] and "no code for" in miss.output


def test_json_is_strict_even_with_infinite_metrics(monkeypatch):
    import spherecodes.training as training

    real = training.train

    def with_inf(**kwargs):
        result = real(**kwargs)
        result.metrics["nc2_riesz_energy"] = float("inf")
        result.metrics["gnc2_energy_mean"] = float("nan")
        return result

    monkeypatch.setattr(training, "train", with_inf)
    result = run(["--epochs", "1", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["metrics"]["nc2_riesz_energy"] is None and data["metrics"]["gnc2_energy_mean"] is None
