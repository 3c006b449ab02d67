"""Tile choice and the memory check before allocation (free memory patched: no dependence on this machine)."""

from __future__ import annotations

import pytest
import torch

from spherecodes.errors import ResourceError
from spherecodes.kernels import memory
from spherecodes.objectives import get_objective
from spherecodes.objectives.base import Objective
from spherecodes.solvers import device

GiB = 2**30
RIESZ = get_objective("riesz")


@pytest.fixture
def free_memory(monkeypatch):
    """Set the free memory the memory check (solvers/device.py) and the tile choice (kernels/memory.py) see."""

    monkeypatch.setattr(memory, "FREE_MEMORY_CACHE_S", 0.0)

    def set_free(nbytes: int) -> None:
        monkeypatch.setattr(device, "available_memory_bytes", lambda dev: int(nbytes))
        monkeypatch.setattr(memory, "available_memory_bytes", lambda dev: int(nbytes))

    return set_free


def test_tile_fits_the_target_and_the_free_memory(free_memory):
    free_memory(64 * GiB)
    K, B, itemsize, buffers = 20_000, 1, 4, 4
    T = device.choose_tile(B, K, itemsize, "cpu", buffers=buffers, target_bytes=64 * 2**20)
    assert B * T * K * itemsize * buffers <= 64 * 2**20 < B * (T + 1) * K * itemsize * buffers
    # little free memory: a quarter of it bounds the tile
    free_memory(40 * 2**20)
    T_small = device.choose_tile(B, K, itemsize, "cpu", buffers=buffers, target_bytes=64 * 2**20)
    assert B * T_small * K * itemsize * buffers <= 10 * 2**20 and T_small < T
    # never below one row, never above K
    free_memory(1)
    assert device.choose_tile(B, K, itemsize, "cpu") == 1
    free_memory(64 * GiB)
    assert device.choose_tile(2, 50, 8, "cpu") == 50


def test_riesz_estimate_accepts_k_20000_d_128_where_dense_would_not(free_memory):
    free_memory(4 * GiB)
    need = RIESZ.memory_bytes(1, 20_000, 128, 8)
    assert need < 2 * GiB
    device.check_memory(need, torch.device("cpu"), what="riesz with K=20000, d=128, 1 restarts", restarts=1)
    dense = Objective.memory_bytes(RIESZ, 1, 20_000, 128, 8)
    with pytest.raises(ResourceError):
        device.check_memory(dense, torch.device("cpu"), what="dense", restarts=1)


def test_riesz_estimate_grows_with_restarts_k_and_d():
    base = RIESZ.memory_bytes(1, 10_000, 64, 8)
    assert RIESZ.memory_bytes(4, 10_000, 64, 8) == 4 * base
    assert RIESZ.memory_bytes(1, 10_000, 64, 4) * 2 == base
    assert RIESZ.memory_bytes(1, 20_000, 64, 8) > base and RIESZ.memory_bytes(1, 10_000, 128, 8) > base
    # small K: the dense estimate of the base class (the dense path is used there)
    assert RIESZ.memory_bytes(2, 20, 3, 8) == Objective.memory_bytes(RIESZ, 2, 20, 3, 8)


def test_refusal_says_how_much_is_needed_and_what_to_change(free_memory):
    free_memory(8 * GiB)
    need = RIESZ.memory_bytes(64, 2_000_000, 3, 8)
    with pytest.raises(ResourceError) as info:
        device.check_memory(need, torch.device("cpu"), what="riesz with K=2000000, d=3, 64 restarts", restarts=64)
    msg = str(info.value)
    assert f"{need / GiB:.2f} GiB" in msg and "8.00 GiB free" in msg
    fit = int(0.8 * 8 * GiB // (need // 64))
    assert f"--restarts {fit} or fewer" in msg
    # even one restart is too much: say so, and name the other levers
    with pytest.raises(ResourceError) as info:
        device.check_memory(RIESZ.memory_bytes(1, 10**9, 3, 8), torch.device("cpu"), what="huge", restarts=1,
                            hint="float32 halves the first phase")
    msg = str(info.value)
    assert "even one restart needs" in msg and "reduce K or d" in msg and "float32 halves" in msg


def test_tiled_memory_formula():
    assert device.tiled_memory_bytes(2, 100, 3, 8, tile=10, buffers=4, vectors=40) == 2 * (40 * 300 + 4 * 1000) * 8
