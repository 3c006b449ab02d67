"""Grid builds of a catalog (spherecodes.catalog_build): planning, one process, and 2 gloo ranks merged."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from spherecodes.catalog import Catalog
from spherecodes.catalog_build import (
    build_catalog,
    grid_requests,
    key_requests,
    parse_int_list,
    shard_path,
)
from spherecodes.code import Code
from spherecodes.errors import InvalidParameterError, SpherecodesError
from spherecodes.objectives import get_objective

GRID = ["--objective", "riesz,tammes", "--dims", "3,4", "--sizes", "4-7", "--restarts", "2", "--rounds", "1"]


def fake_generate(calls=None, fail=()):
    """Random unit points seeded by (d, K); records every call; raises for K in ``fail``."""

    def generate(objective, d, K, **kwargs):
        if calls is not None:
            calls.append((objective, d, K, kwargs))
        if K in fail:
            raise RuntimeError(f"no luck with K={K}")
        obj = get_objective(objective)
        params = {k: v for k, v in kwargs.items() if k in obj.normalise_params()}
        x = np.random.default_rng([d, K]).standard_normal((K, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return Code(points=x, objective=objective, params=obj.normalise_params(**params))

    return generate


def test_parse_int_list_ranges_and_errors():
    assert parse_int_list("3-6,10, 4,12") == [3, 4, 5, 6, 10, 12]
    assert parse_int_list("7") == [7]
    for bad in ("", "a", "6-3", "3-x", "0-2", ","):
        with pytest.raises(InvalidParameterError) as info:
            parse_int_list(bad, "dims")
        assert info.value.param == "dims"


def test_grid_requests_are_sorted_by_pair_work_without_duplicates():
    requests, invalid = grid_requests({"riesz": {"s": 2}, "tammes": {}}, [4, 3, 3], [10, 5])
    assert invalid == []
    assert len(requests) == 2 * 2 * 2
    costs = [r.K * r.K * r.d for r in requests]
    assert costs == sorted(costs)
    assert requests[0].K == 5 and requests[0].d == 3
    assert all("s=2" in r.key for r in requests if r.objective == "riesz")
    with pytest.raises(InvalidParameterError):
        grid_requests(["no_such_objective"], [3], [5])
    with pytest.raises(InvalidParameterError) as info:
        grid_requests({"tammes": {"s": 1}}, [3], [5])  # tammes has no parameter s
    assert "s" in str(info.value)


def test_key_requests_fill_in_default_parameters():
    (req,) = key_requests(["riesz[s=1]/d=3/K=12"])
    assert req.key == "riesz[half_space=false,metric=euclidean,s=1]/d=3/K=12"
    with pytest.raises(InvalidParameterError):
        key_requests(["riesz/d=3"])


def test_build_stores_each_key_once_and_skips_present_ones(tmp_path):
    path = tmp_path / "c.h5"
    requests, _ = grid_requests(["riesz", "tammes"], [3], [4, 5, 6])
    calls: list = []
    report = build_catalog(path, requests, seed=7, restarts=2, generate=fake_generate(calls))
    assert sorted(Catalog(path, "r").keys()) == sorted(r.key for r in requests)
    assert report.statuses == {"solved": 6} and report.counts["stored"] == 6
    assert all(kw["seed"] == 7 and kw["restarts"] == 2 and kw["catalog"] is False for *_, kw in calls)
    assert [(o, d, K) for o, d, K, _ in calls] == [(r.objective, r.d, r.K) for r in requests]  # cheapest first
    # again: nothing to solve; with force: solved, and the equal codes are kept
    calls.clear()
    again = build_catalog(path, requests, generate=fake_generate(calls))
    assert calls == [] and again.statuses == {"present": 6}
    forced = build_catalog(path, requests, force=True, generate=fake_generate(calls))
    assert len(calls) == 6 and forced.counts["kept"] == 6 and len(Catalog(path, "r")) == 6


def test_a_failed_solve_is_reported_and_the_rest_stored(tmp_path):
    path = tmp_path / "c.h5"
    requests, _ = grid_requests(["riesz"], [3], [4, 5, 6])
    report = build_catalog(path, requests, generate=fake_generate(fail={5}))
    failed = [r for r in report.rows if r.status == "failed"]
    assert len(failed) == 1 and failed[0].K == 5 and "no luck with K=5" in failed[0].note
    assert len(Catalog(path, "r")) == 2


@pytest.mark.parametrize("kwargs,param", [(dict(seed=-1), "seed"), (dict(seed=None), "seed"),
                                          (dict(restarts=0), "restarts"), (dict(rounds=-1), "rounds")])
def test_bad_settings_name_the_parameter(tmp_path, kwargs, param):
    requests, _ = grid_requests(["riesz"], [3], [4])
    with pytest.raises(InvalidParameterError) as info:
        build_catalog(tmp_path / "c.h5", requests, generate=fake_generate(), **kwargs)
    assert info.value.param == param


def test_distributed_world_of_one_goes_through_a_shard_and_matches_a_plain_build(tmp_path):
    requests, _ = grid_requests(["riesz", "tammes"], [3, 4], [4, 5])
    plain = build_catalog(tmp_path / "plain.h5", requests, generate=fake_generate())
    dist_path = tmp_path / "dist.h5"
    report = build_catalog(dist_path, requests, distributed=True, generate=fake_generate())
    assert report.world_size == 1 and report.counts["stored"] == len(requests) == plain.counts["stored"]
    assert not shard_path(dist_path, 0, 1).exists()
    assert sorted(p.name for p in tmp_path.iterdir() if "shard" in p.name) == []
    a, b = Catalog(tmp_path / "plain.h5", "r"), Catalog(dist_path, "r")
    assert a.keys() == b.keys()
    for key in a.keys():
        np.testing.assert_array_equal(a.get(key).points, b.get(key).points)


def test_real_solves_store_the_known_optima(tmp_path):
    path = tmp_path / "c.h5"
    requests, _ = grid_requests(["riesz"], [3], [4, 6])
    build_catalog(path, requests, restarts=2, rounds=1, certify=False)
    cat = Catalog(path, "r")
    # tetrahedron: 6 edges of length sqrt(8/3); octahedron: 12 edges sqrt(2) and 3 antipodal pairs at 2
    assert cat.get("riesz", 3, 4).scores["energy"] == pytest.approx(3 * np.sqrt(6) / 2, rel=1e-10)
    assert cat.get("riesz", 3, 6).scores["energy"] == pytest.approx(12 / np.sqrt(2) + 3 / 2, rel=1e-10)


# ---------------------------------------------------------------- two gloo ranks, through the CLI

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Each rank runs the CLI twice in one process: the grid build, then a launch in which rank 1 asks for
# one size more (which must fail on both ranks, naming the difference).
CHILD = """
import sys, click
from spherecodes.cli import cli
for args in (sys.argv[1].split("|"), sys.argv[2].split("|")):
    try:
        cli.main(args, prog_name="spherecodes", standalone_mode=False)
        code = 0
    except click.ClickException as exc:
        print("Error: " + exc.format_message(), file=sys.stderr)
        code = exc.exit_code
    print(f"exit={code}", file=sys.stderr)
"""


def _launch(argv_per_rank, tmp_path):
    """Run CHILD with ``argv`` as the ranks of one gloo world on 127.0.0.1; [(returncode, stdout, stderr)]."""
    port = _free_port()
    world = len(argv_per_rank)
    procs = []
    for rank, argv in enumerate(argv_per_rank):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                   WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                   GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, "-c", CHILD, *argv], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("ranks did not finish within 120 s")
        outs.append((p.returncode, out, err))
    return outs


@pytest.fixture(scope="module")
def two_rank_build(tmp_path_factory):
    import torch

    tmp = tmp_path_factory.mktemp("build2")
    args = ["catalog", "build", "--grid", *GRID, "--seed", "3", "-q", "--distributed"]
    good = args + ["--catalog", str(tmp / "two.h5")]
    bad = [args + ["--catalog", str(tmp / "bad.h5")],
           [a if a != "4-7" else "4-8" for a in args] + ["--catalog", str(tmp / "bad.h5")]]
    ranks = _launch([("|".join(good), "|".join(bad[r])) for r in range(2)], tmp)
    # the reference: one process, no distribution, one thread like the ranks
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        requests, _ = grid_requests(["riesz", "tammes"], [3, 4], range(4, 8))
        build_catalog(tmp / "one.h5", requests, restarts=2, rounds=1, seed=3)
    finally:
        torch.set_num_threads(threads)
    return tmp, ranks


def test_two_ranks_store_every_key_once_and_equal_the_one_process_build(two_rank_build):
    tmp, ranks = two_rank_build
    for rc, _, err in ranks:
        assert rc == 0 and err.splitlines()[0] == "exit=0", err[-3000:]
    report = ranks[0][1]
    assert "2 rank(s)" in report and ranks[1][1] == ""  # only rank 0 prints the report
    solved_by = {line.split()[0]: line.split()[1] for line in report.splitlines()[1:-1]}
    assert set(solved_by.values()) == {"0", "1"}  # both ranks did work
    expected, _ = grid_requests(["riesz", "tammes"], [3, 4], range(4, 8))
    two_cat, one_cat = Catalog(tmp / "two.h5", "r"), Catalog(tmp / "one.h5", "r")
    keys = two_cat.keys()
    assert len(keys) == len(set(keys)) == len(expected)
    assert sorted(keys) == sorted(r.key for r in expected) == sorted(one_cat.keys())
    for key in keys:
        a, b = two_cat.get(key), one_cat.get(key)
        np.testing.assert_array_equal(a.points, b.points)
        assert a.scores == b.scores
    assert two_cat.verify().ok
    assert not [p for p in tmp.iterdir() if "shard" in p.name]


def test_ranks_with_different_grids_fail_on_every_rank(two_rank_build):
    tmp, ranks = two_rank_build
    for _, _, err in ranks:
        lines = err.splitlines()
        assert lines[-1] == "exit=2", err[-3000:]
        assert "distributed launch" in lines[-2] and "rank 1" in lines[-2] and "Traceback" not in err
    assert not (tmp / "bad.h5").exists()


def test_a_rank_that_cannot_write_its_shard_fails_every_rank(tmp_path, monkeypatch):
    # one process standing for a failed rank: the error is raised, not swallowed, and names the rank
    import spherecodes.catalog_build as build

    def broken(*args, **kwargs):
        return [], {}, "OSError: disk full"

    monkeypatch.setattr(build, "_solve_all", broken)
    requests, _ = grid_requests(["riesz"], [3], [4])
    with pytest.raises(SpherecodesError, match="rank 0: OSError: disk full"):
        build_catalog(tmp_path / "c.h5", requests, distributed=True, generate=fake_generate())
