"""Durable file replacement helpers shared by the catalog and the solver checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_file", "fsync_dir"]


def fsync_file(path: Path) -> None:
    """Flush a written file to stable storage before it is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename durable; not possible on every platform (e.g. Windows), hence the guard."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
