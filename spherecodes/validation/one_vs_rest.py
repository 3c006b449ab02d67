r"""One-vs-rest distances: how far each point is from the convex hull of the others.

For a code :math:`W = (w_1, \dots, w_K)` on :math:`S^{d-1}` the one-vs-rest distance of point k is

.. math::
    \rho_k(W) = \operatorname{dist}\bigl(w_k, \operatorname{conv}\{w_j : j \ne k\}\bigr)
              = \min_{\lambda \in \Delta_{K-1}} \Bigl\| w_k - \sum_{j \ne k} \lambda_j w_j \Bigr\|_2,

the Euclidean distance (not its square) to the nearest point of the hull, and
:math:`\rho_{\text{one-vs-rest}}(W) = \min_k \rho_k(W)` is the figure a softmax code maximises
(Definition 2.1 and Eq. (3) of "Generalized Neural Collapse for a Large Number of Classes",
/work/shared/papers/generalized-neural-collapse-softmax-codes.txt).

Closed forms used as checks (Theorem 3.3 there; the values for d = 2 and K <= d+1 are derived
here, the paper states the configurations): the regular simplex (K <= d+1) has
:math:`\rho_k = K/(K-1)` (the hull of the others is nearest at their centroid
:math:`-w_k/(K-1)`), a subset of the cross-polytope (d+1 < K <= 2d) has :math:`\rho = 1`,
and the regular K-gon has :math:`\rho_k = 1 - \cos(2\pi/K)` (the distance from a vertex to
the chord through its two neighbours).

Because every point is on the unit sphere, :math:`w_k` lies in the hull of the others only when it
coincides with one of them; then its distance is exactly 0.

Two solvers:

* :func:`one_vs_rest_distances` -- Wolfe's minimum-norm-point algorithm (P. Wolfe, "Finding the
  nearest point in a polytope", Math. Programming 11 (1976) 128-149) for every k, on the points
  :math:`p_j = w_j - w_k`, in numba (:mod:`spherecodes.kernels.one_vs_rest`). It is an exact
  active-set method (finite termination); it works on the Gram matrix, keeps a Cholesky factor of
  the active set, and stops when the Frank-Wolfe gap certifies the distance to ~1e-14. The
  reported distance is recomputed from the coordinates, :math:`\|w_k - \sum_j \lambda_j w_j\|`,
  with the final weights. Above :data:`DENSE_MAX_K` points the same algorithm runs on each point's
  near neighbours and its answer is checked against every other point by blocks, without a K x K
  Gram matrix; the kernel's docstring proves that the check certifies the same bound.
* :func:`one_vs_rest_distances_exact` -- an independent reference: one second-order cone
  program per point with cvxpy and CLARABEL, in float64. A failed solve raises
  :class:`spherecodes.errors.SolverError` carrying the solver status.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from ..errors import SolverError
from ..kernels.hull_distance import (  # the solvers; re-exported here beside the reference and the checks
    DENSE_MAX_K,
    _as_array,
    _coincident,
    one_vs_rest,
    one_vs_rest_distances,
    one_vs_rest_projection,
    solver_agreement_atol,
)
from ..kernels.one_vs_rest import WOLFE_GAP_TOL

__all__ = [
    "one_vs_rest_distances",
    "one_vs_rest_projection",
    "one_vs_rest",
    "one_vs_rest_distances_exact",
    "check_one_vs_rest",
    "assert_one_vs_rest",
    "WOLFE_GAP_TOL",
    "DENSE_MAX_K",
    "solver_agreement_atol",
]

log = logging.getLogger(__name__)

#: CLARABEL tolerances tried in turn by the reference solver; the first solve with status "optimal" is used
_TOLERANCE_LADDER = (1e-11, 1e-10, 1e-9)


def one_vs_rest_distances_exact(points, *, solver: str = "CLARABEL") -> np.ndarray:
    """Reference one-vs-rest distances: one cvxpy second-order cone program per point.

    Solves the QP :math:`\\min \\|w_k - W_{-k}^T \\lambda\\|_2^2` over :math:`\\lambda \\ge 0, \\sum \\lambda = 1`
    with CLARABEL in float64 at tolerance 1e-11 (then 1e-10, 1e-9 if a solve is only "optimal_inaccurate"),
    and reports the norm (not its square) at the returned weights clipped to the simplex: a feasible point,
    so an upper bound, within ~1e-10 of the distance for well separated points. A point that equals another
    row exactly gets 0 without a solve. Slow (K solves): for tests and validation only.

    Raises
    ------
    SolverError
        When a solve does not end with status ``optimal``; the message carries the status.
    """
    import cvxpy as cp

    X = _as_array(points)
    K = X.shape[0]
    out = np.full(K, np.inf)
    if K < 2:
        return out
    dup = _coincident(X)
    ladder = _TOLERANCE_LADDER if solver == "CLARABEL" else (None,)
    for k in range(K):
        if dup[k]:
            out[k] = 0.0
            continue
        others = np.delete(X, k, axis=0)
        lam = cp.Variable(K - 1)
        prob = cp.Problem(cp.Minimize(cp.sum_squares(X[k] - others.T @ lam)), [lam >= 0, cp.sum(lam) == 1])
        statuses = []
        for tol in ladder:
            opts = {} if tol is None else {"tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol,
                                           "tol_ktratio": 1e-8, "max_iter": 500}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # an inaccurate solve is reported below, not warned
                    prob.solve(solver=solver, **opts)
            except cp.error.SolverError as exc:
                raise SolverError(f"one-vs-rest QP for point {k} failed in {solver}: {exc}") from None
            statuses.append(f"{prob.status} (tol {tol})" if tol is not None else str(prob.status))
            if prob.status == cp.OPTIMAL and lam.value is not None:
                break
        else:
            raise SolverError(f"one-vs-rest QP for point {k}: {solver} returned status {', then '.join(statuses)}")
        w = np.clip(np.asarray(lam.value, dtype=np.float64), 0.0, None)
        w /= w.sum()
        out[k] = float(np.linalg.norm(X[k] - w @ others))
    return out


def check_one_vs_rest(points, *, atol: float = 1e-9) -> tuple[bool, str]:
    """Compare the fast and the reference solver on ``points``: (ok, reason naming the tolerance)."""
    fast = one_vs_rest_distances(points)
    ref = one_vs_rest_distances_exact(points)
    err = float(np.max(np.abs(fast - ref))) if fast.size else 0.0
    if err <= atol:
        return True, f"fast and cvxpy/CLARABEL one-vs-rest distances agree within atol={atol:g} (max diff {err:.2e})"
    k = int(np.argmax(np.abs(fast - ref)))
    return False, (f"one-vs-rest distance of point {k}: fast {fast[k]!r} vs reference {ref[k]!r} "
                   f"(diff {err:.2e} > atol={atol:g})")


def assert_one_vs_rest(points, *, atol: float = 1e-9) -> None:
    """Raise AssertionError when :func:`check_one_vs_rest` fails."""
    ok, reason = check_one_vs_rest(points, atol=atol)
    if not ok:
        raise AssertionError(reason)
