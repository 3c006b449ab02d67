"""Distributed Riesz: 2 gloo ranks on loopback give the single-process loss, gradient and final points."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from _helpers import random_code

from spherecodes.errors import InvalidParameterError
from spherecodes.objectives import get_objective
from spherecodes.solvers.distributed import distributed_loss_and_grad, rank_blocks, solve_distributed

RIESZ = get_objective("riesz")
K, D, TILE = 40, 3, 7
SOLVE = dict(d=D, K=K, restarts=2, seed=3, max_iter=60, polish_iter=40, tile=TILE)

# Each rank: loss + gradient of a fixed configuration (two parameter sets), a short solve, then a
# launch where rank 1 asks for one point more, which must fail on both ranks with a clear message.
CHILD = textwrap.dedent("""
    import datetime, os, sys
    import numpy as np, torch, torch.distributed as dist
    torch.set_num_threads(1)
    from spherecodes.errors import InvalidParameterError
    from spherecodes.solvers.distributed import distributed_loss_and_grad, solve_distributed
    out, points, solve_kw = sys.argv[1], sys.argv[2], eval(sys.argv[3])
    rank = int(os.environ["RANK"])
    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=60))
    X = torch.from_numpy(np.load(points))
    l1, g1 = distributed_loss_and_grad(X, s=1.0, tile=solve_kw["tile"])
    l2, g2 = distributed_loss_and_grad(X, s=0.0, metric="geodesic", half_space=True, tile=solve_kw["tile"])
    res = solve_distributed("riesz", **solve_kw)
    bad = dict(solve_kw, K=solve_kw["K"] + rank, max_iter=1, polish_iter=0)
    try:
        solve_distributed("riesz", **bad)
        err = ""
    except InvalidParameterError as exc:
        err = str(exc)
    np.savez(out, l1=l1.numpy(), g1=g1.numpy(), l2=l2.numpy(), g2=g2.numpy(), points=res.all_points,
             loss=res.loss, world=res.world_size, iterations=res.iterations)
    with open(out + ".err", "w") as fh:
        fh.write(err)
    dist.destroy_process_group()
""")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _points() -> np.ndarray:
    return np.stack([random_code(K, D, seed=b) for b in range(2)])


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Run CHILD on 2 gloo ranks over 127.0.0.1; returns the per-rank outputs."""
    tmp = tmp_path_factory.mktemp("dist")
    pts = tmp / "X.npy"
    np.save(pts, _points())
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                   LOCAL_RANK=str(rank), GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, "-c", CHILD, str(tmp / f"rank{rank}.npz"), str(pts),
                                       repr(SOLVE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outs = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("distributed ranks did not finish within 120 s")
        assert p.returncode == 0, err.decode()[-3000:]
    for rank in range(2):
        data = dict(np.load(tmp / f"rank{rank}.npz"))
        data["err"] = (tmp / f"rank{rank}.npz.err").read_text()
        outs.append(data)
    return outs


def test_two_ranks_match_one_process_loss_and_gradient(two_ranks):
    X = torch.from_numpy(_points())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        l1, g1 = distributed_loss_and_grad(X, s=1.0, tile=TILE)
        l2, g2 = distributed_loss_and_grad(X, s=0.0, metric="geodesic", half_space=True, tile=TILE)
    finally:
        torch.set_num_threads(threads)
    for out in two_ranks:
        np.testing.assert_allclose(out["l1"], l1.numpy(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(out["g1"], g1.numpy(), rtol=0, atol=1e-12 * np.abs(g1.numpy()).max())
        np.testing.assert_allclose(out["l2"], l2.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(out["g2"], g2.numpy(), rtol=0, atol=1e-12 * np.abs(g2.numpy()).max())


def test_two_ranks_end_at_the_single_process_points(two_ranks):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = solve_distributed("riesz", **SOLVE)
    finally:
        torch.set_num_threads(threads)
    assert single.world_size == 1
    for out in two_ranks:
        assert int(out["world"]) == 2
        assert int(out["iterations"]) == single.iterations
        np.testing.assert_allclose(out["points"], single.all_points, rtol=0, atol=1e-12)
        np.testing.assert_allclose(out["loss"], single.loss, rtol=1e-12, atol=0)
    # the ranks agree with each other exactly
    np.testing.assert_array_equal(two_ranks[0]["points"], two_ranks[1]["points"])


def test_mismatched_launch_fails_on_every_rank_naming_the_setting(two_ranks):
    for out in two_ranks:
        assert "distributed launch" in out["err"] and f"K={K + 1}" in out["err"] and "rank 1" in out["err"]


def test_loss_matches_the_dense_riesz_loss_without_a_process_group():
    X = torch.from_numpy(_points())
    for params in (dict(s=1.0), dict(s=3.0, half_space=True), dict(s=-1.0, metric="geodesic")):
        p = RIESZ.normalise_params(**params)
        Y = X.clone().requires_grad_(True)
        dense = RIESZ.loss(Y, p)
        (g,) = torch.autograd.grad(dense.sum(), Y)
        loss, grad = distributed_loss_and_grad(X, p["s"], p["metric"], p["half_space"], tile=TILE)
        np.testing.assert_allclose(loss.numpy(), dense.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(grad.numpy(), g.numpy(), rtol=1e-10, atol=1e-12 * np.abs(g.numpy()).max())


def test_world_size_one_solve_lowers_the_energy():
    res = solve_distributed("riesz", d=3, K=12, restarts=2, seed=0, max_iter=200, polish_iter=200)
    assert res.world_size == 1 and res.points.shape == (12, 3)
    start = solve_distributed("riesz", d=3, K=12, restarts=2, seed=0, max_iter=0, polish_iter=0)
    assert (res.loss < start.loss).all()
    # 12 points: the icosahedron, energy 49.165253058 (Thomson problem; ../shared/reference/thomson_s2.csv)
    from spherecodes.kernels import riesz_energy

    assert riesz_energy(res.points, 1.0) == pytest.approx(49.165253058, rel=1e-9)


def test_blocks_are_shared_without_gaps():
    for n, world in ((6, 2), (5, 3), (2, 4), (0, 2)):
        ranges = [rank_blocks(n, r, world) for r in range(world)]
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


@pytest.mark.parametrize("kwargs,param", [(dict(objective="tammes"), "objective"), (dict(K=1), "K"),
                                          (dict(restarts=0), "restarts"), (dict(tile=0), "tile"),
                                          (dict(init=np.ones((3, 3))), "init")])
def test_bad_input_names_the_parameter(kwargs, param):
    args = dict(objective="riesz", d=3, K=5, max_iter=1, polish_iter=0)
    args.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        solve_distributed(**args)
    assert info.value.param == param


def test_generate_cli_distributed_single_rank_and_tile_option(tmp_path):
    import json

    from click.testing import CliRunner

    from spherecodes.cli import cli

    out = tmp_path / "c.npz"
    result = CliRunner().invoke(cli, ["generate", "riesz", "-d", "3", "-K", "12", "--distributed", "--restarts", "2",
                                      "--tile", "5", "--seed", "1", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["world_size"] == 1 and payload["tile"] == 5 and out.exists()
    assert payload["scores"]["energy"] == pytest.approx(49.165253058, rel=1e-9)  # icosahedron
    bad = CliRunner().invoke(cli, ["generate", "riesz", "-d", "3", "-K", "12", "--distributed", "--time-budget", "2"])
    assert bad.exit_code == 2 and "time-budget" in bad.output and "Traceback" not in bad.output
    bad = CliRunner().invoke(cli, ["generate", "riesz", "-d", "3", "-K", "12", "--tile", "0"])
    assert bad.exit_code == 2 and "--tile" in bad.output


def test_distributed_result_is_a_solve_result_and_becomes_a_code():
    """One result type: solve_distributed returns a SolveResult (distributed fields set), scored in float64."""
    from spherecodes.api import code_from_result
    from spherecodes.kernels import riesz_energy
    from spherecodes.solvers import SearchOptions, SolveResult

    res = solve_distributed("riesz", d=3, K=8, options=SearchOptions(restarts=2, seed=1, max_iter=100),
                            polish_iter=100)
    assert isinstance(res, SolveResult) and res.objective == "riesz" and res.restarts == 2
    assert res.all_points.shape == (2, 8, 3) and res.best in (0, 1) and len(res.status) == 2
    np.testing.assert_array_equal(res.points, res.all_points[res.best])
    assert res.scores["energy"] == pytest.approx(riesz_energy(res.points, 1.0), rel=1e-14)
    assert res.stop_reason == res.status[res.best]
    code = code_from_result(res)
    assert code.provenance["world_size"] == 1 and "success_rate" not in code.provenance
    assert code.scores == res.scores and code.params == res.params
    with pytest.raises(InvalidParameterError, match="time_budget"):
        solve_distributed("riesz", d=3, K=8, options=SearchOptions(time_budget=1.0))
