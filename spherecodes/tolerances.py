"""Named, dtype-aware tolerances used by checks across the library.

Every tolerance is a multiple of the machine epsilon of the dtype it applies to,
so that float32 and float64 paths are judged fairly. Checks report the value they used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eps", "unit_norm_tolerance", "score_rtol", "gradient_tolerance", "SCORE_RTOL_FLOAT64"]


def eps(dtype) -> float:
    """Machine epsilon of a numpy or torch floating dtype."""
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        return float(np.finfo(dtype).eps)
    name = str(dtype).replace("torch.", "")
    return float(np.finfo(np.dtype(name)).eps)


def unit_norm_tolerance(dtype=np.float64) -> float:
    """Largest accepted | |x| - 1 | for a stored point.

    1e6 eps in float64 (2.2e-10); 1e3 eps in float32 (1.2e-4), since 1e6 eps (0.12) would accept anything.
    """
    e = eps(dtype)
    return 1e6 * e if e < 1e-10 else 1e3 * e


def score_rtol(dtype=np.float64) -> float:
    """Relative tolerance for comparing two evaluations of the same score: 1e4 eps."""
    return 1e4 * eps(dtype)


def gradient_tolerance(dtype=np.float64) -> float:
    """Riemannian-gradient norm (relative to the loss scale) below which a float64 solve is stationary."""
    return 1e3 * eps(dtype)


SCORE_RTOL_FLOAT64 = score_rtol(np.float64)
