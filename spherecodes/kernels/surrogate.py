r"""Tiled form of the max-min surrogate loss (``tammes`` and ``softmax_code`` stages), for large K.

The surrogate of :func:`spherecodes.solvers.maxmin.lse_log_chord` is

.. math::
    L_s(X) = \frac1s \log \sum_{i<j} \|x_i - x_j\|^{-s},

the log of the Riesz s-energy (euclidean chord, unordered pairs) over s: exactly the tiled Riesz
loss of :mod:`spherecodes.kernels.tiled` divided by s. The dense form builds the (B, K, K) Gram
matrix and the K(K-1)/2 pair vector with its int64 index pairs (about 40 K^2 bytes: 16 GB at
K = 20,000); the tiled one never holds more than (B, T, K) blocks and computes the gradient in the
same pass (two matmuls per row block). Same value to rounding; the clamps differ only for
coincident points (chord^2 clamped at sqrt(tiny) here, 1e-300 in the dense form), where both are
finite.
"""

from __future__ import annotations

import torch

from ..errors import InvalidParameterError
from .tiled import riesz_loss_tiled

__all__ = ["lse_log_chord_tiled", "SURROGATE_TILED_MIN_K"]

#: smallest K from which the surrogate stages should use :func:`lse_log_chord_tiled` (as the Riesz
#: loss does; measured, float64 and float32, s = 32 and 512: about equal at K = 64, tiled faster from K = 128)
SURROGATE_TILED_MIN_K = 128


def lse_log_chord_tiled(X: torch.Tensor, s: "float | torch.Tensor", tile: int | None = None) -> torch.Tensor:
    r"""Smooth :math:`-\log\min_{i<j}\|x_i - x_j\|` by row blocks: :math:`\frac1s\log\sum_{i<j}\|x_i-x_j\|^{-s}`, (B,).

    Parameters
    ----------
    X : torch.Tensor, shape (B, K, d)
        Unit rows.
    s : float or torch.Tensor of shape (B,)
        Sharpness, > 0 (the stages use s = 32 and 512); a tensor gives each restart its own (the
        restarts are then evaluated one after the other: the tiled kernel takes one exponent).
    tile : int, optional
        Rows per block; None chooses from the free memory.

    Returns
    -------
    torch.Tensor, shape (B,)
        Differentiable (the gradient comes from the same block pass, not from autograd).
    """
    if torch.is_tensor(s):
        values = [float(v) for v in s.detach().reshape(-1).tolist()]
        if len(values) != X.shape[0]:
            raise InvalidParameterError("s", f"tensor of shape {tuple(s.shape)}",
                                        f"pass one exponent per restart, shape ({X.shape[0]},)")
        for v in values:
            _check_s(v)
        return torch.cat([riesz_loss_tiled(X[b:b + 1], v, "euclidean", False, tile) / v
                          for b, v in enumerate(values)])
    s = _check_s(float(s))
    return riesz_loss_tiled(X, s, "euclidean", False, tile) / s


def _check_s(s: float) -> float:
    if not s > 0:
        raise InvalidParameterError("s", s, "the surrogate needs a positive sharpness s")
    return s
