"""`spherecodes catalog build`: grids and keys, --distributed as a world of one, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from spherecodes.catalog import Catalog
from spherecodes.cli import cli

TINY = ["--objective", "riesz", "--dims", "3", "--sizes", "4-6", "--restarts", "2", "--rounds", "1", "-q"]


def run(args):
    return CliRunner().invoke(cli, ["catalog", "build", *[str(a) for a in args]])


def test_grid_build_stores_every_key_and_prints_a_table(tmp_path):
    path = tmp_path / "c.h5"
    result = run(["--grid", *TINY, "--catalog", path])
    assert result.exit_code == 0, result.output
    cat = Catalog(path, "r")
    assert cat.keys() == [f"riesz[half_space=false,metric=euclidean,s=1]/d=3/K={K}" for K in (4, 5, 6)]
    assert "solved=3" in result.output and "stored=3" in result.output
    # tetrahedron
    assert cat.get("riesz", 3, 4).scores["energy"] == pytest.approx(3 * np.sqrt(6) / 2, rel=1e-10)
    # a second run finds everything stored
    again = run(["--grid", *TINY, "--catalog", path, "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["statuses"] == {"present": 3}


def test_distributed_without_torchrun_is_one_rank_and_equals_the_plain_build(tmp_path):
    plain = run(["--grid", *TINY, "--catalog", tmp_path / "a.h5"])
    dist = run(["--grid", *TINY, "--catalog", tmp_path / "b.h5", "--distributed", "--json"])
    assert plain.exit_code == 0 and dist.exit_code == 0, dist.output
    report = json.loads(dist.output)
    assert report["world_size"] == 1 and report["counts"]["stored"] == 3
    a, b = Catalog(tmp_path / "a.h5", "r"), Catalog(tmp_path / "b.h5", "r")
    assert a.keys() == b.keys()
    for key in a.keys():
        np.testing.assert_array_equal(a.get(key).points, b.get(key).points)
    assert sorted(p.name for p in tmp_path.iterdir() if "shard" in p.name) == []


def test_keys_and_objective_parameters(tmp_path):
    path = tmp_path / "c.h5"
    result = run(["riesz[s=2]/d=3/K=5", "tammes[]/d=3/K=6", "--restarts", "2", "--rounds", "0", "-q",
                  "--catalog", path])
    assert result.exit_code == 0, result.output
    assert sorted(Catalog(path, "r").keys()) == ["riesz[half_space=false,metric=euclidean,s=2]/d=3/K=5",
                                                 "tammes[]/d=3/K=6"]
    grid = run(["--grid", "--objective", "riesz", "--s", "0", "--dims", "3", "--sizes", "5", "--rounds", "0", "-q",
                "--catalog", path])
    assert grid.exit_code == 0, grid.output
    assert "riesz[half_space=false,metric=euclidean,s=0]/d=3/K=5" in Catalog(path, "r").keys()


@pytest.mark.parametrize("args,needle", [
    ([], "--grid"),
    (["--grid", "--objective", "riesz", "--dims", "3"], "--sizes"),
    (["--grid", "--objective", "riesz", "--dims", "3", "--sizes", "6-4"], "sizes"),
    (["--grid", "--objective", "riesz", "--dims", "1", "--sizes", "4"], "dims"),
    (["--grid", "--objective", "nope", "--dims", "3", "--sizes", "4"], "nope"),
    (["--grid", "--objective", "tammes", "--s", "1", "--dims", "3", "--sizes", "4"], "s"),
    (["riesz/d=3"], "key"),
    (["riesz[s=1]/d=3/K=5", "--objective", "riesz"], "--grid"),
    (["--grid", *TINY, "--restarts", "0"], "--restarts"),
])
def test_bad_input_is_one_error_line(tmp_path, args, needle):
    result = run([*args, "--catalog", tmp_path / "c.h5"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and needle in errors[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "c.h5").exists()
