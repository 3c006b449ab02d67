"""float64 kernels for scores, independent of the torch solvers.

Public, documented functions live in :mod:`spherecodes.kernels.pairwise` (numba, one pair at a
time) and :mod:`spherecodes.kernels.blocked` (blocked BLAS Gram products with exact
recomputation of close pairs, for large K); the numba kernels behind them are private
(``_``-prefixed) and tested against plain numpy. :mod:`spherecodes.kernels.tiled` holds the
tiled torch loss + gradient of the solvers (imported on its own: it needs torch).
"""

from .blocked import max_cosine_blocked, min_distance_max_cosine_blocked, riesz_energy_blocked
from .pairwise import min_distance_max_cosine, riesz_energy, riesz_gradient

__all__ = ["riesz_energy", "riesz_gradient", "min_distance_max_cosine", "riesz_energy_blocked",
           "min_distance_max_cosine_blocked", "max_cosine_blocked"]
