"""The product of spheres (S^{d-1})^K, batched: points are rows of X with shape (B, K, d).

Riemannian optimisation needs three operations: project an ambient vector onto the tangent
space at X, retract a tangent step back onto the manifold, and draw random points.
"""

from __future__ import annotations

import math

import torch

__all__ = ["project_tangent", "retract", "random_points", "typical_spacing", "inner", "row_norms"]


def inner(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Per-batch Frobenius inner product of (B, K, d) tensors -> (B,)."""
    return (A * B).sum(dim=(1, 2))


def row_norms(V: torch.Tensor) -> torch.Tensor:
    """Norm of every row: (B, K, d) -> (B, K)."""
    return torch.linalg.vector_norm(V, dim=-1)


def project_tangent(X: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Tangent part of V at X, row by row: v_i - <v_i, x_i> x_i."""
    return V - (V * X).sum(dim=-1, keepdim=True) * X


def retract(X: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Renormalising retraction: (x_i + v_i) / |x_i + v_i| for every row."""
    Y = X + V
    return Y / torch.linalg.vector_norm(Y, dim=-1, keepdim=True)


def random_points(B: int, K: int, d: int, generator: torch.Generator, dtype=torch.float64,
                  device="cpu") -> torch.Tensor:
    """B independent uniform configurations of K points on S^{d-1}, shape (B, K, d).

    Drawn on the CPU from ``generator`` in float64 (normalised Gaussians), then moved, so that
    the same seed gives the same start on every device and dtype.
    """
    X = torch.randn(B, K, d, generator=generator, dtype=torch.float64)
    X = X / torch.linalg.vector_norm(X, dim=-1, keepdim=True)
    return X.to(device=device, dtype=dtype)


def typical_spacing(d: int, K: int) -> float:
    """Angular radius (radians) of a spherical cap holding 1/K of the area of S^{d-1}, times 2.

    A cheap estimate of the nearest-neighbour angle of a well spread code, used to scale steps
    and perturbations. Uses the small-cap approximation area ~ vol(B^{d-1}) r^{d-1} capped at pi.
    """
    if d == 2:
        return 2.0 * math.pi / K
    # |S^{d-1}| / K = omega_{d-1} r^{d-1}, omega_n = volume of the unit n-ball
    log_area = math.log(2.0) + (d / 2.0) * math.log(math.pi) - math.lgamma(d / 2.0)
    log_ball = ((d - 1) / 2.0) * math.log(math.pi) - math.lgamma((d - 1) / 2.0 + 1.0)
    r = math.exp((log_area - math.log(K) - log_ball) / (d - 1))
    return min(2.0 * r, math.pi)
