"""Tests of the large-K prototype solver (spherecodes.solvers.prototypes)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from spherecodes.errors import InvalidParameterError, ResourceError
from spherecodes.solvers import prototypes as P
from spherecodes.validation.one_vs_rest import one_vs_rest, one_vs_rest_distances


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small tensors: one intra-op thread avoids waking a thread pool on every step of a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _random_points(K: int, d: int, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((K, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _dense_max(X: np.ndarray) -> float:
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


@pytest.mark.parametrize("block", [1, 7, 1024])
def test_blocked_max_cosine_equals_dense(block):
    X = _random_points(57, 5)
    eps = 4 * np.finfo(np.float64).eps  # a 1-row tile goes through gemv, not gemm: another summation order
    assert P.max_cosine_blocked(X, block=block) == pytest.approx(_dense_max(X), abs=eps)
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    assert np.allclose(P.row_max_cosines(X, block=block), G.max(axis=1), rtol=0, atol=eps)


@pytest.mark.parametrize("block", [1, 9, 1024])
def test_near_pairs_equal_dense_enumeration(block):
    X = _random_points(80, 4, seed=1)
    T = torch.from_numpy(X)
    I, J = P.near_pairs(T, 0.3, block=block)
    i, j = np.nonzero(np.triu(X @ X.T > 0.3, k=1))
    assert np.array_equal(I.numpy(), i) and np.array_equal(J.numpy(), j)
    assert P.near_pairs(T, 0.3, block=block, max_pairs=len(i) - 1) is None


def test_list_step_equals_dense_step():
    X = torch.from_numpy(_random_points(90, 6, seed=2))
    m = P.max_cosine_blocked(X.numpy())
    t = 60.0
    cut = m - P.WEIGHT_SPAN / t
    I, J = P.near_pairs(X, cut - 0.01)
    G_list, m_list = P._list_step_gradient(X, I, J, t, m)
    G_dense, m_dense = P._dense_step_gradient(X, t, m, block=16)
    assert m_list == pytest.approx(m, abs=1e-14) and m_dense == pytest.approx(m, abs=1e-14)
    assert torch.allclose(G_list, G_dense, rtol=1e-12, atol=1e-14)


def test_one_vs_rest_near_equals_dense_exact():
    X = _random_points(60, 5, seed=3)
    dense = one_vs_rest_distances(X)
    for k in range(0, 60, 6):
        rho, idx, lam = P.one_vs_rest_near(X, k, neighbours=8)  # few neighbours: the certificate must add more
        assert rho == pytest.approx(dense[k], abs=1e-10)
        assert lam.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.linalg.norm(X[k] - lam @ X[idx]) == pytest.approx(rho, abs=1e-10)


def test_min_one_vs_rest_blocked_equals_dense(monkeypatch):
    X = _random_points(70, 4, seed=4)
    monkeypatch.setattr(P, "DENSE_ONE_VS_REST_MAX_K", 0)  # force the neighbour path
    assert P.min_one_vs_rest_blocked(X, block=16, neighbours=6) == pytest.approx(one_vs_rest(X), abs=1e-10)


def test_solve_reaches_the_tetrahedron_and_octahedron():
    r = P.solve_prototypes("tammes", 3, 4, steps=1500, seed=1)
    assert r.scores["max_cosine"] <= -1.0 / 3.0 + 1e-3
    r = P.solve_prototypes("tammes", 3, 6, steps=1500, seed=1)
    assert r.scores["max_cosine"] <= 1e-3


def test_result_scores_are_independent_float64():
    r = P.solve_prototypes("tammes", 6, 40, max_iterations=60, seed=0)
    assert r.points.dtype == np.float64 and r.points.shape == (40, 6)
    assert np.allclose(np.linalg.norm(r.points, axis=1), 1.0, atol=1e-15)
    assert r.scores["max_cosine"] == _dense_max(r.points)
    assert r.history and r.history[-1][2] == pytest.approx(r.scores["max_cosine"], abs=1e-5)


def test_stop_reasons():
    r = P.solve_prototypes("tammes", 5, 30, time_budget=0.3)
    assert r.stop_reason == "time_budget"
    r = P.solve_prototypes("tammes", 5, 30, steps=50, patience=20, plateau_rtol=1e-2)
    assert r.stop_reason == "plateau" and r.iterations >= 50
    r = P.solve_prototypes("tammes", 5, 30, max_iterations=7)
    assert r.stop_reason == "max_iterations" and r.iterations == 7


def test_progress_is_monotone():
    seen = []
    P.solve_prototypes("tammes", 5, 30, max_iterations=40, progress=lambda it, best: seen.append((it, best)))
    its = [s[0] for s in seen]
    bests = [s[1] for s in seen]
    assert its == list(range(1, 41))
    assert all(b2 <= b1 for b1, b2 in zip(bests, bests[1:]))


def test_block_size_does_not_change_the_trajectory():
    kw = dict(max_iterations=15, dtype="float64", seed=3)
    a = P.solve_prototypes("tammes", 4, 30, block=7, **kw)
    b = P.solve_prototypes("tammes", 4, 30, block=1024, **kw)
    assert np.allclose(a.points, b.points, atol=1e-9)


def test_seeded_runs_are_reproducible_and_init_is_used():
    a = P.solve_prototypes("tammes", 4, 20, max_iterations=30, seed=5)
    b = P.solve_prototypes("tammes", 4, 20, max_iterations=30, seed=5)
    assert np.array_equal(a.points, b.points)
    c = P.solve_prototypes("tammes", 4, 20, max_iterations=30, init=a.points)
    assert c.scores["max_cosine"] <= a.scores["max_cosine"] + 1e-6


@pytest.mark.slow
def test_softmax_code_mode_scores_one_vs_rest():
    r = P.solve_prototypes("softmax_code", 4, 12, steps=300, polish_rounds=20, seed=0)
    assert r.scores["one_vs_rest"] == pytest.approx(one_vs_rest(r.points), abs=1e-12)
    assert r.scores["one_vs_rest"] >= r.scores["one_vs_rest_lower_bound"] - 1e-12
    r = P.solve_prototypes("softmax_code", 4, 12, max_iterations=5, polish_rounds=1, score_one_vs_rest=False)
    assert r.scores["one_vs_rest"] is None


@pytest.mark.parametrize("kwargs, param", [
    (dict(objective="riesz"), "objective"),
    (dict(K=1), "K"),
    (dict(time_budget=-1.0), "time_budget"),
    (dict(dtype="int8"), "dtype"),
    (dict(init=np.ones((3, 3))), "init"),
    (dict(block=0), "block"),
])
def test_bad_input(kwargs, param):
    args = dict(objective="tammes", d=4, K=10)
    args.update(kwargs)
    with pytest.raises(InvalidParameterError, match=param):
        P.solve_prototypes(args.pop("objective"), args.pop("d"), args.pop("K"), **args)


def test_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(P, "available_memory_bytes", lambda dev: 1 << 20)
    monkeypatch.setattr(P, "_initial_points", lambda *a: pytest.fail("allocated before the memory check"))
    with pytest.raises(ResourceError, match="stage: solve.*GiB free"):
        P.solve_prototypes("tammes", 64, 20000)


def test_memory_estimate_grows_with_every_size():
    base = P.prototype_memory_bytes(64, 2000)
    assert P.prototype_memory_bytes(128, 2000) > base
    assert P.prototype_memory_bytes(64, 4000) > base
    assert P.prototype_memory_bytes(64, 2000, block=2000) > base
    assert P.prototype_memory_bytes(64, 2000, objective="softmax_code") > base


_PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import torch
    torch.set_num_threads(1)
    from spherecodes.solvers.prototypes import solve_prototypes, prototype_memory_bytes

    def status(field):
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(field))

    d, K, obj = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    solve_prototypes(obj, 3, 8, max_iterations=3, polish_rounds=1)   # imports, kernels, allocator warm
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")                                                 # reset the high-water mark VmHWM
    before = status("VmRSS:")
    solve_prototypes(obj, d, K, max_iterations=30, polish_rounds=2, block=256, max_pairs=200_000)
    grew = status("VmHWM:") - before
    need = prototype_memory_bytes(d, K, block=256, max_pairs=200_000, objective=obj)
    print(json.dumps({"grew": grew, "estimate": need}))
""")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("obj", ["tammes", "softmax_code"])
def test_memory_estimate_bounds_the_measured_peak(obj):
    """Peak RSS growth of a fresh process during a solve stays below the estimate (torch CPU memory
    is invisible to tracemalloc, so the process's high-water mark is measured)."""
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, "48", "3000", obj], capture_output=True, text=True,
                         check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0 < res["grew"] <= res["estimate"], res
