"""Free memory of a device and the sizes derived from it: the row tile of a tiled pair evaluation
and the peak bytes of a tiled L-BFGS run.

These sit with the kernels because the tiled kernels (:mod:`spherecodes.kernels.tiled`) choose
their own tile and the objectives estimate their memory from them; the solvers re-export them
from :mod:`spherecodes.solvers.device`.
"""

from __future__ import annotations

import os
import time

import torch

__all__ = ["available_memory_bytes", "choose_tile", "tiled_memory_bytes", "TILE_TARGET_BYTES",
           "TILE_MEMORY_FRACTION", "FREE_MEMORY_CACHE_S"]

#: preferred total size of the (B, T, K) work buffers of one row block, per device type. On this
#: 2-core CPU (one thread, K = 20000, float32) tiles of 512..1024 rows ran 1.0..1.7x one full Gram
#: product and 64..256 rows 1.4..1.6x (noisy, shared machine): large blocks keep the matmuls
#: efficient and the per-block overhead small; on a GPU larger still. The free memory caps it further.
TILE_TARGET_BYTES = {"cpu": 128 * 2**20, "cuda": 8 * 2**30}

#: fraction of the free memory a tile's buffers may use
TILE_MEMORY_FRACTION = 0.25

def available_memory_bytes(device: torch.device) -> int:
    """Free memory on the device (CUDA: free global memory; CPU: MemAvailable from /proc/meminfo)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 1 << 62


def choose_tile(B: int, K: int, itemsize: int, device: "torch.device | str" = "cpu", *, buffers: int = 4,
                target_bytes: int | None = None) -> int:
    """Rows T per block of a tiled pair evaluation: ``buffers`` (B, T, K) arrays of ``itemsize`` bytes.

    T is the largest number of rows whose buffers fit in ``target_bytes`` (default
    :data:`TILE_TARGET_BYTES` for the device type) and in a quarter of the free memory, at least 1
    and at most K.
    """
    dev = torch.device(device)
    per_row = max(int(B) * int(K) * int(itemsize) * int(buffers), 1)
    target = TILE_TARGET_BYTES.get(dev.type, TILE_TARGET_BYTES["cpu"]) if target_bytes is None else int(target_bytes)
    budget = min(target, int(TILE_MEMORY_FRACTION * _free_memory_cached(dev)))
    return int(max(1, min(int(K), budget // per_row)))


_FREE_CACHE: dict[str, tuple[float, int]] = {}

#: seconds for which :func:`choose_tile` reuses a free-memory reading (reading it costs ~0.1 ms,
#: a few percent of a small evaluation)
FREE_MEMORY_CACHE_S = 1.0


def _free_memory_cached(dev: torch.device) -> int:
    key = str(dev)
    now = time.monotonic()
    hit = _FREE_CACHE.get(key)
    if hit is not None and now - hit[0] < FREE_MEMORY_CACHE_S:
        return hit[1]
    free = available_memory_bytes(dev)
    _FREE_CACHE[key] = (now, free)
    return free


def tiled_memory_bytes(B: int, K: int, d: int, itemsize: int, *, tile: int = 1, buffers: int = 4,
                       vectors: int = 40) -> int:
    """Peak bytes of an L-BFGS run on a tiled pair objective: ``vectors`` (B, K, d) arrays + one block.

    ``vectors`` counts the point-sized arrays alive at once (points, gradient, direction, trial
    points and the L-BFGS history of 10 (s, y) pairs: about 40); ``buffers`` (B, tile, K) arrays
    are the work space of one row block.
    """
    return int(B) * (int(vectors) * int(K) * int(d) + int(buffers) * int(tile) * int(K)) * int(itemsize)
