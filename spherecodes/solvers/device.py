"""Choosing and checking devices, dtypes and memory before anything is allocated."""

from __future__ import annotations

import torch

from ..errors import InvalidParameterError, ResourceError
from ..kernels.memory import (
    FREE_MEMORY_CACHE_S,
    TILE_MEMORY_FRACTION,
    TILE_TARGET_BYTES,
    available_memory_bytes,
    choose_tile,
    tiled_memory_bytes,
)

__all__ = ["resolve_device", "resolve_dtype", "available_memory_bytes", "check_memory", "choose_tile",
           "tiled_memory_bytes", "TILE_TARGET_BYTES", "TILE_MEMORY_FRACTION", "FREE_MEMORY_CACHE_S"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16}


def resolve_device(device: "str | torch.device | None") -> torch.device:
    """``None`` or ``"auto"``: CUDA when available, else CPU; otherwise the named device, checked."""
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidParameterError("device", device, "use 'cpu', 'cuda', 'cuda:N' or 'auto'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidParameterError("device", str(device),
                                        "no CUDA device is visible to torch; use 'cpu' or 'auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InvalidParameterError("device", str(device),
                                        f"only {torch.cuda.device_count()} CUDA device(s); use cuda:0..")
    elif dev.type != "cpu":
        raise InvalidParameterError("device", str(device), "use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    return dev


def resolve_dtype(dtype: "str | torch.dtype | None", device: torch.device) -> torch.dtype:
    """Default first-phase dtype: float32 on CUDA (fast), float64 on the CPU (about as fast for small K)."""
    if dtype is None:
        return torch.float32 if device.type == "cuda" else torch.float64
    if isinstance(dtype, torch.dtype):
        if dtype in _DTYPES.values():
            return dtype
    elif str(dtype) in _DTYPES:
        return _DTYPES[str(dtype)]
    raise InvalidParameterError("dtype", dtype, f"use one of {', '.join(_DTYPES)}")


def check_memory(needed: int, device: torch.device, *, what: str, restarts: int, hint: str = "") -> None:
    """Raise ResourceError, before allocating, when ``needed`` bytes exceed 80% of what is free.

    The message says how much is needed and what to change: fewer restarts (when some would fit),
    else a smaller K or a device with more memory, plus ``hint`` (e.g. the objective's tile size).
    """
    free = available_memory_bytes(device)
    if needed > 0.8 * free:
        per = max(needed // max(restarts, 1), 1)
        fit = int(0.8 * free // per)
        if fit >= 1:
            fix = f"use --restarts {fit} or fewer"
        else:
            other = "a GPU with more memory" if device.type == "cpu" else "a device with more memory"
            fix = f"even one restart needs {per / 2**30:.2f} GiB: reduce K or d, or use {other}"
        extra = f"; {hint}" if hint else ""
        raise ResourceError(
            f"invalid restarts={restarts}: {what} needs about {needed / 2**30:.2f} GiB but {device} has "
            f"{free / 2**30:.2f} GiB free; {fix}{extra}")
