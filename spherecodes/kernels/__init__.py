"""float64 kernels for scores, independent of the torch solvers.

Public, documented functions live in :mod:`spherecodes.kernels.pairwise`; the numba
kernels behind them are private (``_``-prefixed) and tested against plain numpy.
"""

from .pairwise import min_distance_max_cosine, riesz_energy, riesz_gradient

__all__ = ["riesz_energy", "riesz_gradient", "min_distance_max_cosine"]
