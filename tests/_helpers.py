"""Shared fixtures: paths to the public reference tables and small random codes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def reference_rows(name: str) -> list[dict]:
    """Rows of ../shared/reference/<name>; skips the test when the table is not there."""
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference table {path} not found (expected ../shared/reference beside the repository)")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def random_code(K: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(K, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def random_rotation(d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.sign(np.diag(R))
