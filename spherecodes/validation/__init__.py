"""Validation: float64 metrics, known optima, bounds, and a certificate for every code.

Everything here is independent of the torch solvers: numpy, numba, scipy and cvxpy only.
The public names are imported on first use (PEP 562), so that importing one submodule (e.g.
:mod:`.one_vs_rest` from an objective) does not pay for cvxpy, the bounds and the certificate.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

#: public name -> submodule that defines it
_LAZY = {
    **dict.fromkeys(["BOUNDS", "Bound", "BoundValue", "assert_bound", "bounds_for", "check_bound",
                     "delsarte_lp_size", "get_bound", "riesz_energy_lower_bound"], ".bounds"),
    **dict.fromkeys(["CERT_RTOL", "STATIONARITY_TOL", "Certificate", "Comparison", "certify"], ".certificate"),
    **dict.fromkeys(["assert_tammes_kkt", "check_tammes_kkt", "contact_graph", "rattlers", "tammes_kkt_residual"],
                    ".contacts"),
    **dict.fromkeys(["KnownValue", "known_optimum"], ".known"),
    **dict.fromkeys(["check_distinct", "check_finite", "check_unit_norm", "close_pairs", "duplicate_tolerance",
                     "mgd_logdet", "mgd_stationarity", "pairwise_angles_deg", "riesz_stationarity", "separation"],
                    ".metrics"),
}


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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
