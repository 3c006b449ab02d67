"""Validation: float64 metrics, known optima, bounds, and a certificate for every code.

Everything here is independent of the torch solvers: numpy, numba, scipy and cvxpy only.
"""

from .bounds import (
    BOUNDS,
    Bound,
    BoundValue,
    assert_bound,
    bounds_for,
    check_bound,
    delsarte_lp_size,
    get_bound,
    riesz_energy_lower_bound,
)
from .certificate import CERT_RTOL, STATIONARITY_TOL, Certificate, Comparison, certify
from .contacts import assert_tammes_kkt, check_tammes_kkt, contact_graph, rattlers, tammes_kkt_residual
from .known import KnownValue, known_optimum
from .metrics import (
    check_distinct,
    check_finite,
    check_unit_norm,
    close_pairs,
    duplicate_tolerance,
    mgd_logdet,
    mgd_stationarity,
    pairwise_angles_deg,
    riesz_stationarity,
    separation,
)


def one_vs_rest_distances(points):
    """Distance of each point to the convex hull of the others, shape (K,); see :mod:`.one_vs_rest`."""
    from .one_vs_rest import one_vs_rest_distances as _impl

    return _impl(points)


__all__ = [
    "certify", "Certificate", "Comparison", "CERT_RTOL", "STATIONARITY_TOL",
    "bounds_for", "check_bound", "assert_bound", "BOUNDS", "Bound", "BoundValue", "get_bound",
    "delsarte_lp_size", "riesz_energy_lower_bound",
    "known_optimum", "KnownValue",
    "contact_graph", "rattlers", "tammes_kkt_residual", "check_tammes_kkt", "assert_tammes_kkt",
    "check_finite", "check_unit_norm", "check_distinct", "close_pairs", "duplicate_tolerance", "separation",
    "riesz_stationarity", "mgd_logdet", "mgd_stationarity", "pairwise_angles_deg", "one_vs_rest_distances",
]
