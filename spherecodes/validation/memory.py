"""Memory estimates of the certificate stages, and the refusal before anything is allocated.

:func:`certify <spherecodes.validation.certificate.certify>` runs its stages one after the other, so its
peak is the input plus the largest stage. Each estimate counts the arrays a stage allocates beyond the
(K, d) float64 input, in bytes, from (objective, d, K):

``checks``
    unit norms and the distinct-points test: the blocked minimum distance (one (T, T) Gram block,
    T <= 2048) and, when two points are close, the candidate search in (1024, K) row blocks (counted
    always: whether points are close is only known once the stage runs).
``score``
    the objective's float64 score: separation as above; the one-vs-rest distance (tammes, softmax_code)
    with a (K, K) Gram matrix up to :data:`~spherecodes.validation.one_vs_rest.DENSE_MAX_K` points, else
    :func:`spherecodes.kernels.one_vs_rest.hull_distances_memory_bytes`; the Riesz energy by blocks;
    the MGD Gaussian Gram matrix, built from a (K, K, d) array of differences.
``first_order``
    stationarity and rattlers: the Riesz gradient (O(K d)); MGD's Cholesky solve (several (K, K)
    arrays); for tammes / softmax_code the contact graph (:func:`spherecodes.kernels.neighbours.
    neighbours_memory_bytes` for ``contacts`` pairs), one point's contact directions at a time and the
    KKT residual (:func:`spherecodes.validation.contacts.kkt_memory_bytes`). The number of contacts is
    only known once the graph is built: the estimate assumes ``contacts`` (default K d / 2) and the
    certificate checks the KKT stage again with the real count before it runs.
``bounds``
    known optima and bounds: small LPs, a fixed 64 MiB allowance.

:func:`check_certificate_memory` compares the peak with the free memory read by
:func:`spherecodes.solvers.device.available_memory_bytes` (the solver's own reading, 80 % usable, as
for solves) and raises :class:`~spherecodes.errors.ResourceError` naming the stage, the need, the free
memory and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidParameterError, ResourceError

__all__ = ["certificate_memory_bytes", "certificate_peak_bytes", "check_certificate_memory", "free_memory_bytes",
           "MEMORY_FRACTION"]

#: fraction of the free memory a certificate may use (the solver's check uses the same)
MEMORY_FRACTION = 0.8

_BOUNDS_BYTES = 64 * 2**20
_SEPARATION_BLOCK = 2048
_CLOSE_PAIRS_CHUNK = 1024


def _separation_bytes(K: int, d: int) -> int:
    from ..kernels.pairwise import BLOCKED_SEPARATION_MIN_D, BLOCKED_SEPARATION_MIN_K

    if K < BLOCKED_SEPARATION_MIN_K or d < BLOCKED_SEPARATION_MIN_D:
        return 8 * 4 * K  # the numba pair loop allocates nothing of size K^2
    T = min(_SEPARATION_BLOCK, K)
    return 8 * (T * T + 4 * K)


def _one_vs_rest_bytes(K: int, d: int) -> int:
    from ..kernels.one_vs_rest import hull_distances_memory_bytes
    from .one_vs_rest import DENSE_MAX_K

    if K <= DENSE_MAX_K:
        # Gram (K, K), weights of a chunk of 16 points (16, K), per-thread Wolfe arrays (cap^2, cap <= d + 2)
        cap = min(K, d + 2)
        return 8 * (K * K + 16 * K + 4 * K + 2 * (cap * cap + 4 * cap + K))
    return hull_distances_memory_bytes(K, d)


def certificate_memory_bytes(objective: str, d: int, K: int, params: Mapping[str, Any] | None = None, *,
                             contacts: int | None = None) -> dict[str, int]:
    """Bytes each stage of ``certify`` allocates beyond the (K, d) float64 input (module docstring).

    Parameters
    ----------
    objective : str
        ``riesz``, ``tammes``, ``softmax_code`` or ``mgd``.
    d, K : int
        Ambient dimension and number of points.
    params : mapping, optional
        Objective parameters (not needed by the current estimates; accepted for the api's call).
    contacts : int, optional
        Number of contact pairs assumed for tammes / softmax_code (default K d / 2).

    Returns
    -------
    dict
        ``{"checks": ..., "score": ..., "first_order": ..., "bounds": ...}`` in bytes.
    """
    from ..kernels.neighbours import neighbours_memory_bytes
    from .contacts import kkt_memory_bytes

    for name, value in (("d", d), ("K", K)):
        if int(value) != value or value < 1:
            raise InvalidParameterError(name, value, "pass a positive integer")
    d, K = int(d), int(K)
    sep = _separation_bytes(K, d)
    C = min(_CLOSE_PAIRS_CHUNK, K)
    checks = max(sep, 25 * C * K + 8 * 4 * K)  # a (C, K) Gram block, two float temporaries, a boolean mask
    from ..objectives import get_objective

    obj = get_objective(objective)  # an unknown name lists the valid ones
    condition = obj.first_order  # the objective's declaration decides which stages run (one schema)
    if condition in ("contact_kkt", "contact_graph"):
        score = sep + _one_vs_rest_bytes(K, d)
        m = K * d // 2 if contacts is None else int(contacts)
        graph = neighbours_memory_bytes(K, d, pairs=m)
        degree = min(K - 1, 2 * m // K + 1)
        rattlers = 8 * (4 * m + 3 * degree * d)  # both ends of every pair, grouped; one point's directions
        first = graph + max(rattlers, kkt_memory_bytes(K, d, m) if condition == "contact_kkt" else 0)
    elif condition == "energy_gradient":
        score = sep + 8 * 4 * K
        first = 8 * 6 * K * d  # gradient, its tangent part and their temporaries
    elif condition == "logdet_gradient":
        score = 8 * (K * K * d + 3 * K * K)
        first = 8 * (K * K * d + 6 * K * K)
    else:
        # an objective that declares no first-order condition (e.g. one a user registered): its score is
        # bounded by one loss + gradient evaluation, which the objective estimates itself
        score = sep + int(obj.memory_bytes(1, K, d, 8))
        first = 0
    return {"checks": int(checks), "score": int(score), "first_order": int(first), "bounds": _BOUNDS_BYTES}


def certificate_peak_bytes(objective: str, d: int, K: int, params: Mapping[str, Any] | None = None, *,
                           contacts: int | None = None) -> int:
    """Peak bytes of ``certify``: the (K, d) float64 input plus its largest stage (they run one by one)."""
    stages = certificate_memory_bytes(objective, d, K, params, contacts=contacts)
    return int(8 * K * d + max(stages.values()))


def free_memory_bytes() -> int:
    """Free host memory, read as the solvers read it (:func:`spherecodes.kernels.memory.available_memory_bytes`)."""
    import torch

    from ..kernels.memory import available_memory_bytes

    return int(available_memory_bytes(torch.device("cpu")))


def check_certificate_memory(objective: str, d: int, K: int, params: Mapping[str, Any] | None = None, *,
                             stages: Mapping[str, int] | None = None, free: int | None = None) -> None:
    """Raise :class:`~spherecodes.errors.ResourceError` before ``certify`` allocates anything when its peak
    exceeds :data:`MEMORY_FRACTION` of the free memory; the message names the largest stage, the need, the
    free memory and the fix.

    ``stages`` overrides the estimate (e.g. one stage checked again with a measured size); ``free`` the
    free memory (default :func:`free_memory_bytes`).
    """
    stages = dict(certificate_memory_bytes(objective, d, K, params) if stages is None else stages)
    need = 8 * K * d + max(stages.values())
    free = free_memory_bytes() if free is None else int(free)
    if need <= MEMORY_FRACTION * free:
        return
    stage = max(stages, key=stages.get)
    raise ResourceError(
        f"certify {objective} d={d} K={K}: the {stage} stage needs about {need / 2**30:.2f} GiB but the machine "
        f"has {free / 2**30:.2f} GiB free ({MEMORY_FRACTION:.0%} usable); skip the certificate "
        f"(generate(..., certify=False)) or certify on a machine with more memory")
