"""Shared fixtures: paths to the public reference tables and small random codes."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from spherecodes.objectives import Objective, Param

#: the public reference tables, vendored with their sources (tests/data/reference/README.md), so that a clone of
#: the repository alone runs every test
REFERENCE = Path(__file__).resolve().parent / "data" / "reference"


def reference_rows(name: str) -> list[dict]:
    """Rows of tests/data/reference/<name> (a missing table is an error, not a skip)."""
    path = REFERENCE / name
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


def plain_energy_scores(points: np.ndarray, s: float) -> dict[str, float]:
    """Riesz energy sum_{i<j} |x_i - x_j|^-s and min distance in plain numpy (no JIT), for fake test objectives."""
    iu = np.triu_indices(points.shape[0], 1)
    r = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)[iu]
    return {"energy": float(np.sum(r ** -float(s))), "min_distance": float(r.min())}


def plain_max_cosine(points: np.ndarray) -> float:
    """Largest inner product of two distinct rows of a unit-row array (K, d), plain numpy (a Tammes reference)."""
    G = points @ points.T
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


class PlainEnergy(Objective):
    """Riesz-like test objective scored by :func:`plain_energy_scores` (fast, no JIT); subclasses set ``name``.

    Catalog tests register their own subclass, each under its own name, so that tests never share a key space.
    """

    params = (Param("s", 1.0, float),)
    primary = "energy"
    maximise = False

    def score(self, points, params):
        return plain_energy_scores(points, params["s"])


def separation_by_brute_force(X: np.ndarray) -> dict:
    """Independent reference: all pairs by brute force."""
    K = len(X)
    cos = max(float(X[i] @ X[j]) for i in range(K) for j in range(i + 1, K))
    dist = min(float(np.linalg.norm(X[i] - X[j])) for i in range(K) for j in range(i + 1, K))
    return {"max_cosine": cos, "min_distance": dist, "min_angle_deg": math.degrees(math.acos(cos))}


def check_tangent_derivative(loss, X: np.ndarray, seed: int, h: float = 1e-6, rtol: float = 1e-6):
    """Directional derivative along a random tangent direction: autograd vs central difference on the sphere."""
    import torch  # here, not at the top: the catalog tests that use this module need no torch

    rng = np.random.default_rng(seed)
    V = rng.normal(size=X.shape)
    V -= np.sum(V * X, axis=1, keepdims=True) * X
    T = torch.from_numpy(X)[None].clone().requires_grad_(True)
    loss(T).sum().backward()
    analytic = float(np.sum(T.grad[0].numpy() * V))

    def at(t):
        Y = X + t * V
        Y /= np.linalg.norm(Y, axis=1, keepdims=True)
        return float(loss(torch.from_numpy(Y)[None])[0])

    numeric = (at(h) - at(-h)) / (2 * h)
    assert analytic == pytest.approx(numeric, rel=rtol, abs=1e-9)
