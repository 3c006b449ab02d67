"""Bounds on what any K-point code on S^{d-1} can achieve, with their sources.

Every bound is an entry of the registry :data:`BOUNDS` (name -> :class:`Bound`). A bound
has a *kind* saying which score it constrains and in which direction:

``"max_cosine_lower"``
    every K-point code in R^d has ``max_{i<j} <x_i, x_j> >= value``. Equivalently the
    minimal angle of every code is at most ``arccos(value)`` (an upper bound on the
    Tammes angle).
``"energy_lower"``
    every K-point code has Riesz energy (sum over unordered pairs i<j) ``>= value``.
``"softmax_upper"``
    every code has one-vs-rest distance ``rho = min_k dist(w_k, conv{w_j : j != k}) <= value``.
``"softmax_optimum_lower"``
    the *optimal* one-vs-rest distance is ``>= value`` (some code reaches it; a given code need not).
``"logdet_upper"``
    every code has ``log det G <= value`` for the MGD Gram matrix G.
``"estimate"``
    an asymptotic estimate of the optimum, not a bound.

Size bounds (the largest code with max inner product <= s) are available as functions
(:func:`levenshtein_size_bound`, :func:`delsarte_lp_size_bound`); the registry turns them into
lower bounds on the max cosine of a K-point code by bisection on s.

Conventions: d is the ambient dimension, K the number of points, t an inner product,
Euclidean distance r = sqrt(2 - 2t), geodesic distance theta = arccos(t). Riesz kernel
f(r) = r^-s (s > 0), log(1/r) (s = 0), -r^|s| (s < 0). Energies sum over unordered pairs.

Gegenbauer polynomials G_k^{(d)} are normalised by G_k(1) = 1; for d = 2 they are the
Chebyshev polynomials T_k and for d = 3 the Legendre polynomials. They satisfy
``(k + d - 2) G_{k+1}(t) = (2k + d - 2) t G_k(t) - k G_{k-1}(t)`` and every Gram matrix
``(G_k(<x_i, x_j>))_{ij}`` is positive semi-definite (Schoenberg 1942), which is what the
linear-programming bounds use.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import eval_jacobi, gammaln, roots_jacobi

from ..checks import assert_integer
from ..errors import InvalidParameterError, SolverError, UnknownNameError
from ..kernels.pair_terms import riesz_kernel_of_inner_product
from ..objectives import Objective, get_objective

__all__ = [
    "Bound",
    "BoundValue",
    "BOUNDS",
    "KINDS",
    "UNIVERSAL_KINDS",
    "objective_and_params",
    "get_bound",
    "bounds_for",
    "check_bound",
    "assert_bound",
    "gegenbauer",
    "riesz_kernel",
    "rankin_bound",
    "fejes_toth_bound",
    "levenshtein_size_bound",
    "levenshtein_max_cosine_bound",
    "delsarte_lp_size_bound",
    "delsarte_lp_max_cosine_bound",
    "yudin_energy_bound",
    "yudin_degree",
    "delsarte_lp_size",
    "riesz_energy_lower_bound",
    "softmax_code_bounds",
    "coulomb_asymptotic_energy",
    "KUIJLAARS_SAFF_CONSTANT",
]

logger = logging.getLogger(__name__)

KINDS = (
    "max_cosine_lower",
    "energy_lower",
    "softmax_upper",
    "softmax_optimum_lower",
    "logdet_upper",
    "estimate",
)
"""Kinds of bound, see the module docstring."""

#: kinds of bound that hold for every code, whatever its objective (the certificate scores every code's
#: max cosine); an objective adds its own with ``Objective.bound_kinds``
UNIVERSAL_KINDS = ("max_cosine_lower",)

METRICS = ("euclidean", "geodesic")

DEFAULT_N_MAX = 30
"""Default largest Gegenbauer degree in the LP bounds."""
YUDIN_MAX_AUTO_DEGREE = 60
"""Cap of :func:`yudin_degree` (the Yudin LP with degree 60 took 2-6 s for K = 25..200 on S^2, one thread)."""
DEFAULT_GRID_SIZE = 2000
"""Default number of constraint points of the LP bounds (before refinement)."""
DEFAULT_SOLVER = "SCIPY"
"""cvxpy solver of the LP bounds. ``SCIPY`` is HiGHS' dual simplex reached through scipy's linprog: silent,
and its vertex solutions reach ~1e-11 constraint accuracy here. ``HIGHS`` (the same engine through highspy)
gives the same numbers but prints a banner on some builds; ``CLARABEL`` (interior point) stalls near
1e-8..1e-7 constraint violation, so its rigorous values are looser (240.0000002 for E8)."""
_LP_SOLVERS = ("SCIPY", "HIGHS", "CLARABEL")

# zeta(1/2) and the Dirichlet L-function of the non-principal character mod 3 at 1/2
_ZETA_HALF = -1.4603545088095868
_L_MINUS3_HALF = 0.48086755769682862
KUIJLAARS_SAFF_CONSTANT = (math.sqrt(math.sqrt(3.0) / 2.0) * 6.0 * _ZETA_HALF * _L_MINUS3_HALF
                           / math.sqrt(4.0 * math.pi) / 2.0)
"""Conjectured N^{3/2} coefficient of the optimal Coulomb energy on S^2 (unordered pairs):
(1/2) (sqrt(3)/2)^{1/2} zeta_Lambda(1/2) / (4 pi)^{1/2} with zeta_Lambda(1/2) = 6 zeta(1/2) L_{-3}(1/2)
for the unit triangular lattice, = -0.553051... (Kuijlaars & Saff, Trans. AMS 350 (1998);
Brauchart, Hardin & Saff, Contemp. Math. 578 (2012)). Rakhmanov, Saff & Zhou (Math. Res. Lett. 1 (1994))
fitted -0.5523 to numerical minima."""


# ----------------------------------------------------------------------------- parameter checks
def _check_int(name: str, value: Any, minimum: int) -> int:
    return assert_integer(name, value, minimum, integral_float=False)


def _check_dK(d: Any, K: Any) -> tuple[int, int]:
    return _check_int("d", d, 2), _check_int("K", K, 2)


def _check_float(name: str, value: Any, lo: float = -math.inf, hi: float = math.inf, fix: str = "") -> float:
    if isinstance(value, bool):
        raise InvalidParameterError(name, value, fix or "pass a finite real number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(name, value, fix or "pass a finite real number") from None
    if not math.isfinite(x) or not (lo <= x <= hi):
        raise InvalidParameterError(name, value, fix or f"pass a finite real number in [{lo}, {hi}]")
    return x


def _check_s(s: Any) -> float:
    return _check_float("s", s, fix="pass a finite real Riesz exponent (s > 0 Riesz, s = 0 log, s < 0 negative power)")


def _check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise UnknownNameError("metric", metric, METRICS)
    return str(metric)


def _check_solver(solver: Any) -> str:
    name = str(solver).upper() if isinstance(solver, str) else solver
    if name not in _LP_SOLVERS:
        raise UnknownNameError("solver", solver, _LP_SOLVERS)
    return name


def objective_and_params(objective: Any, params: dict[str, Any]) -> tuple[Objective, dict[str, Any]]:
    """The registered objective called ``objective`` and its normalised parameters (defaults filled in).

    The objective declares its parameters (:class:`spherecodes.objectives.Param`); this is the one place
    bounds and known optima read them from.

    Raises
    ------
    UnknownNameError
        for an unknown objective (listing the registered ones) or an unknown parameter name.
    InvalidParameterError
        for a bad parameter value.
    """
    obj = get_objective(objective)
    return obj, obj.normalise_params(**params)


# ----------------------------------------------------------------------------- polynomials / kernels
def gegenbauer(d: int, n: int, t: Any) -> np.ndarray:
    """Normalised Gegenbauer polynomials G_0..G_n of R^d evaluated at t.

    Parameters
    ----------
    d : int >= 2
        Ambient dimension (G_k are orthogonal for (1 - t^2)^{(d-3)/2} dt on [-1, 1]).
    n : int >= 0
        Largest degree.
    t : array_like, shape (m,)
        Points in [-1, 1].

    Returns
    -------
    numpy.ndarray, shape (n + 1, m)
        Row k holds G_k(t), with G_k(1) = 1 (Chebyshev T_k for d = 2, Legendre P_k for d = 3).
    """
    d = _check_int("d", d, 2)
    n = _check_int("n", n, 0)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    G = np.empty((n + 1, t.size))
    G[0] = 1.0
    if n >= 1:
        G[1] = t
    for k in range(1, n):
        G[k + 1] = ((2 * k + d - 2) * t * G[k] - k * G[k - 1]) / (k + d - 2)
    return G


def riesz_kernel(t: Any, s: float, metric: str = "euclidean") -> np.ndarray:
    """Riesz kernel as a function of the inner product t (one unordered pair).

    r = sqrt(2 - 2t) (``euclidean``) or arccos(t) (``geodesic``);
    f = r^-s (s > 0), log(1/r) (s = 0), -r^|s| (s < 0). At r = 0 the value is +inf for s >= 0.
    (:func:`spherecodes.kernels.pair_terms.riesz_kernel_of_inner_product` after checking s and metric.)
    """
    return riesz_kernel_of_inner_product(t, _check_s(s), _check_metric(metric))


# ----------------------------------------------------------------------------- Rankin / Fejes Toth
def rankin_bound(d: int, K: int) -> float:
    """Rankin's simplex and orthoplex bounds on the max inner product of K points in R^d.

    ``max_{i<j} <x_i, x_j> >= -1/(K-1)`` for every K (sharp for K <= d + 1, the regular simplex),
    and ``>= 0`` for K >= d + 2 (sharp for d + 2 <= K <= 2d, subsets of the cross-polytope).
    Source: R. A. Rankin, "The closest packing of spherical caps in n dimensions",
    Proc. Glasgow Math. Assoc. 2 (1955) 139-144.
    """
    d, K = _check_dK(d, K)
    return -1.0 / (K - 1) if K <= d + 1 else 0.0


def fejes_toth_bound(K: int) -> float:
    """Fejes Toth's bound for K >= 3 points on S^2, as a lower bound on the max inner product.

    The minimal angle theta of K points on S^2 satisfies theta <= arccos((cot^2 w - 1)/2) with
    w = K pi / (6 (K - 2)), hence ``max cos >= (cot^2 w - 1)/2``; equality for K = 3, 4, 6, 12.
    Source: L. Fejes Toth, "Uber die Abschatzung des kurzesten Abstandes zweier Punkte eines auf einer
    Kugelflache liegenden Punktsystems", Jber. Deutsch. Math. Verein. 53 (1943) 66-68.
    """
    K = _check_int("K", K, 3)
    w = K * math.pi / (6.0 * (K - 2))
    cot2 = (math.cos(w) / math.sin(w)) ** 2
    return (cot2 - 1.0) / 2.0


# ----------------------------------------------------------------------------- Levenshtein
@lru_cache(maxsize=4096)
def _largest_jacobi_zero(k: int, a: float, b: float) -> float:
    if k == 0:
        return -1.0
    return float(np.max(roots_jacobi(k, a, b)[0]))


def _levenshtein_poly(n: int, s: float, k: int, even: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Levenshtein's extremal polynomial (up to a positive factor) for s in I_{2k-1} or I_{2k}.

    f(t) = (t - s) K_{k-1}^{1,0}(t, s)^2            (degree 2k - 1, odd case)
    f(t) = (t + 1)(t - s) K_{k-1}^{1,1}(t, s)^2     (degree 2k,     even case)
    where K_{k-1}^{a,b}(t, s) = sum_{i<k} p_i(t) p_i(s) is the Christoffel-Darboux kernel of the
    polynomials orthonormal for (1 - t)^{alpha+a} (1 + t)^{alpha+b}, alpha = (n - 3)/2.
    """
    alpha = (n - 3) / 2.0
    a, b = alpha + 1.0, alpha + (1.0 if even else 0.0)
    x, w = roots_jacobi(max(k, 1) + 1, a, b)
    norms = np.array([np.sum(w * eval_jacobi(i, a, b, x) ** 2) for i in range(k)])
    ps = np.array([eval_jacobi(i, a, b, s) for i in range(k)])

    def f(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        kern = sum(eval_jacobi(i, a, b, t) * ps[i] / norms[i] for i in range(k))
        out = (t - s) * kern**2
        return out * (t + 1.0) if even else out

    return f


def levenshtein_size_bound(d: int, s: float, *, max_degree: int = 2000) -> float:
    """Levenshtein's universal bound L(d, s) >= |C| for codes C in S^{d-1} with max inner product <= s.

    For s in I_{2k-1} = [t_{k-1}^{1,1}, t_k^{1,0}] the bound is L_{2k-1}(d, s) and for
    s in I_{2k} = [t_k^{1,0}, t_k^{1,1}] it is L_{2k}(d, s), where t_k^{a,b} is the largest zero of the
    Jacobi polynomial P_k^{(alpha+a, alpha+b)}, alpha = (d - 3)/2, and t_0^{1,1} = -1. The value is
    f(1)/f_0 for Levenshtein's polynomial f (see :func:`_levenshtein_poly`), f_0 its constant Gegenbauer
    coefficient computed by Gauss-Jacobi quadrature, so no closed form is transcribed. Examples:
    L = 1 - 1/s on [-1, -1/d] (simplex bound), L = 2d(1 - s)/(1 - d s) on [-1/d, 0], L(8, 1/2) = 240,
    L(24, 1/2) = 196560; every sharp configuration attains it.

    Sources: V. I. Levenshtein, "On bounds for packings in n-dimensional Euclidean space",
    Soviet Math. Dokl. 20 (1979) 417-421; "Universal bounds for codes and designs", Handbook of Coding
    Theory (1998) ch. 6; P. Boyvalenkov, P. Dragnev, D. Hardin, E. Saff, M. Stoyanova, "Universal lower bounds
    for potential energy of spherical codes", Constr. Approx. 44 (2016) 385-415, Sec. 2.

    Parameters
    ----------
    d : int >= 2
    s : float in [-1, 1]
        Largest allowed inner product; s = 1 gives +inf.
    max_degree : int
        Give up (return +inf, still a valid bound) beyond this polynomial degree.

    Returns
    -------
    float
        L(d, s) (not rounded down).
    """
    d = _check_int("d", d, 2)
    s = _check_float("s", s, -1.0, 1.0, "pass an inner product s in [-1, 1]")
    if s >= 1.0:
        return math.inf
    alpha = (d - 3) / 2.0
    t11_prev = -1.0
    k = 1
    while 2 * k <= max_degree:
        t10 = _largest_jacobi_zero(k, alpha + 1, alpha)
        t11 = _largest_jacobi_zero(k, alpha + 1, alpha + 1)
        if s <= t11:  # s in I_{2k-1} (s <= t10) or I_{2k}; t_{k-1}^{1,1} < s holds from the previous k
            even = s > t10
            f = _levenshtein_poly(d, s, k, even)
            xg, wg = roots_jacobi(k + 3, alpha, alpha)  # exact for degree <= 2k + 5
            f0 = float(np.sum(wg * f(xg)) / np.sum(wg))
            f1 = float(f(np.array([1.0]))[0])
            if f0 <= 0:
                raise SolverError(f"Levenshtein polynomial has f_0 = {f0:.3g} <= 0 at d={d}, s={s!r} (k={k})")
            return f1 / f0
        t11_prev = t11
        k += 1
    logger.debug("levenshtein_size_bound: s=%r beyond degree %d (t_k^{1,1}=%r); returning inf", s, max_degree, t11_prev)
    return math.inf


def _bisect_max_cosine(K: int, size_bound: Callable[[float], float], lo: float, hi: float, tol: float) -> float:
    """Largest certified s with size_bound(s) < K, searched in [lo, hi] (size_bound(lo) < K is required)."""
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if size_bound(mid) < K:
            lo = mid
        else:
            hi = mid
    return lo


def levenshtein_max_cosine_bound(d: int, K: int, *, tol: float = 1e-12) -> float:
    """Lower bound on the max inner product of any K-point code in R^d from Levenshtein's bound.

    Returns the largest s found (by bisection to ``tol``) with L(d, s) < K: a code with max inner
    product <= s has at most L(d, s) < K points, so every K-point code has max cosine > s.
    """
    d, K = _check_dK(d, K)
    if K <= d + 1:  # L_1 = 1 - 1/s is solved exactly
        return -1.0 / (K - 1)
    return _bisect_max_cosine(K, lambda s: levenshtein_size_bound(d, s), -1.0 / (K - 1), 1.0, tol)


# ----------------------------------------------------------------------------- semi-infinite LP
def _cheb_grid(a: float, b: float, m: int) -> np.ndarray:
    """m points on [a, b], denser near both ends (Chebyshev-Lobatto spacing)."""
    return a + (b - a) * (1.0 - np.cos(np.linspace(0.0, math.pi, m))) / 2.0


def _local_maxima(g: Callable[[np.ndarray], np.ndarray], grid: np.ndarray,
                  threshold: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Refined local maxima of g on the sorted grid (golden section in each bracket) with g > threshold.

    Returns (points, values, max of g over grid and points); the grid end points are always included.
    """
    val = g(grid)
    inner = np.where((val[1:-1] >= val[:-2]) & (val[1:-1] > val[2:]) & (val[1:-1] > threshold))[0] + 1
    a, b = grid[inner - 1].copy(), grid[inner + 1].copy()
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(80):
        if a.size == 0:
            break
        x1 = b - ratio * (b - a)
        x2 = a + ratio * (b - a)
        left = g(x1) > g(x2)
        b = np.where(left, x2, b)
        a = np.where(left, a, x1)
    pts = np.concatenate([(a + b) / 2.0, grid[[0, -1]]])
    pv = g(pts)
    return pts, pv, float(max(np.max(val), np.max(pv)))


def _cluster(points: np.ndarray, a: float, b: float) -> np.ndarray:
    """The points and geometric clusters t +- 10^-j (j = 2..10) around them, inside [a, b].

    Near a double root of the optimal polynomial the LP solution can bulge between constraint
    points by ~ f'' gap^2; clusters at all scales make that gap tiny after one round.
    """
    if points.size == 0:
        return points
    offsets = np.concatenate([[0.0], 10.0 ** -np.arange(2.0, 11.0), -(10.0 ** -np.arange(2.0, 11.0))])
    out = (points[:, None] + offsets[None, :]).ravel()
    return out[(out >= a) & (out <= b)]


def _solve_lp(c: np.ndarray, A: np.ndarray, b: np.ndarray, nonneg: np.ndarray,
              solver: str) -> tuple[str, np.ndarray | None]:
    """min c.x s.t. A x <= b, x[nonneg] >= 0 with cvxpy; returns (status, x).

    The cost is scaled to max |c_i| = 1 (same minimiser): the Yudin cost (K^2 - K, K, ..., K) otherwise
    spans a ratio of K and, with the tight feasibility tolerances, HiGHS' simplex stops without a status
    at K = 200, n_max = 30 (measured). If a solve still fails numerically it is retried with the solver's
    default tolerances and then (``SCIPY``) with HiGHS' interior-point method: the callers make every
    returned value rigorous by measuring the constraint violation afterwards, so a looser solve only costs
    a little sharpness, never validity.
    """
    import warnings

    import cvxpy as cp

    c = np.asarray(c, dtype=np.float64)
    cmax = float(np.max(np.abs(c))) if c.size else 0.0
    if cmax > 0.0:
        c = c / cmax
    x = cp.Variable(c.size)
    cons = [A @ x <= b]
    if np.any(nonneg):
        cons.append(x[np.flatnonzero(nonneg)] >= 0)
    prob = cp.Problem(cp.Minimize(c @ x), cons)
    if solver == "CLARABEL":
        attempts = [dict(tol_feas=1e-12, tol_gap_abs=1e-12, tol_gap_rel=1e-12, max_iter=400), {}]
    elif solver == "SCIPY":
        attempts = [dict(scipy_options=dict(method="highs-ds", primal_feasibility_tolerance=1e-10,
                                            dual_feasibility_tolerance=1e-10)),
                    dict(scipy_options=dict(method="highs-ds")),
                    dict(scipy_options=dict(method="highs-ipm"))]
    else:
        attempts = [dict(primal_feasibility_tolerance=1e-10, dual_feasibility_tolerance=1e-10, output_flag=False),
                    dict(output_flag=False)]
    failures = []
    for opts in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "solution may be inaccurate": handled by the rigorous correction
                prob.solve(solver=solver, **opts)
        except cp.error.SolverError as exc:
            failures.append(f"{opts}: {exc}")
            logger.debug("LP solver %s failed with %s; retrying", solver, opts)
            continue
        status = prob.status
        if status in ("optimal", "optimal_inaccurate") and x.value is not None:
            return "optimal", np.asarray(x.value, dtype=np.float64)
        if status in ("infeasible", "infeasible_inaccurate"):
            return "infeasible", None
        if status in ("unbounded", "unbounded_inaccurate"):
            return "unbounded", None
        failures.append(f"{opts}: status {status!r}")
    raise SolverError(f"LP solver {solver} failed with every setting tried: " + "; ".join(failures))


# ----------------------------------------------------------------------------- Delsarte LP
def delsarte_lp_size_bound(
    d: int,
    s: float,
    *,
    n_max: int = DEFAULT_N_MAX,
    grid_size: int = DEFAULT_GRID_SIZE,
    solver: str = DEFAULT_SOLVER,
    rounds: int = 12,
    return_coefficients: bool = False,
    _target: float | None = None,
):
    """Delsarte-Goethals-Seidel linear-programming bound on the size of a code with max inner product <= s.

    If f(t) = sum_{k=0}^{n} f_k G_k^{(d)}(t) with f_0 > 0, f_k >= 0 (k >= 1) and f(t) <= 0 on [-1, s],
    then every code C in S^{d-1} with inner products in [-1, s] has |C| <= f(1)/f_0
    (Delsarte, Goethals & Seidel, "Spherical codes and designs", Geom. Dedicata 6 (1977) 363-388, Thm 4.3;
    Kabatiansky & Levenshtein 1978). With f_0 = 1 this is the LP
    ``min 1 + sum_k f_k  s.t.  f_k >= 0,  1 + sum_k f_k G_k(t) <= 0 for t in [-1, s]``.

    The constraint is imposed on a Chebyshev grid of ``grid_size`` points, then refined by a cutting-plane
    loop that adds the (golden-section refined) local maxima of the current f. The value returned is
    made rigorous: with eps = max(0, max_{[-1,s]} f) measured on a 10001-point grid plus those refined
    maxima, f - eps is feasible and gives the bound (f(1) - eps)/(1 - eps); the smallest such value over
    the rounds is returned. Measured with the default solver: 240.000000007 for (d, s) = (8, 1/2) with
    n_max >= 6 (exact 240, Levenshtein 1979 / Odlyzko & Sloane 1979), 196560.0007 for (24, 1/2) with
    n_max >= 11 (exact 196560), 13.15833 for (3, 1/2) with n_max = 10 and 13.15831 with n_max = 20
    (Odlyzko & Sloane, J. Combin. Theory A 26 (1979) 210-214: 13.158), 12.00000001 for (3, 1/sqrt 5).

    Parameters
    ----------
    d : int >= 2
    s : float in [-1, 1)
    n_max : int >= 1
        Largest Gegenbauer degree.
    grid_size : int >= 10
        Initial number of constraint points.
    solver : ``"CLARABEL"`` | ``"HIGHS"``
    rounds : int >= 1
        Cutting-plane rounds.
    return_coefficients : bool
        Also return the coefficients (f_0 = 1, f_1..f_n) of the best polynomial found.

    Returns
    -------
    float, or (float, numpy.ndarray of shape (n_max + 1,))
        The size bound; +inf when the LP is infeasible at this degree (no polynomial certifies a bound).
    """
    d = _check_int("d", d, 2)
    s = _check_float("s", s, -1.0, 1.0, "pass an inner product s in [-1, 1)")
    n_max = _check_int("n_max", n_max, 1)
    grid_size = _check_int("grid_size", grid_size, 10)
    rounds = _check_int("rounds", rounds, 1)
    solver = _check_solver(solver)
    if s >= 1.0:
        return (math.inf, None) if return_coefficients else math.inf
    pts = _cheb_grid(-1.0, s, grid_size)
    check_grid = _cheb_grid(-1.0, s, 10001)
    cost = np.ones(n_max)
    nonneg = np.ones(n_max, dtype=bool)
    best, best_coef = math.inf, None
    stale = 0
    for _ in range(rounds):
        A = gegenbauer(d, n_max, pts)[1:].T
        status, x = _solve_lp(cost, A, -np.ones(pts.size), nonneg, solver)
        if status != "optimal":
            break  # infeasible: no degree-n_max certificate; keep what earlier rounds proved
        x = np.maximum(x, 0.0)
        value = 1.0 + float(x.sum())

        def f(t, x=x):
            return 1.0 + gegenbauer(d, n_max, t)[1:].T @ x

        new, new_val, fmax = _local_maxima(f, check_grid, -1e-6 * value)
        eps = max(0.0, fmax)
        if eps < 1.0:
            bound = (value - eps) / (1.0 - eps)
            stale = stale + 1 if bound > best * (1.0 - 1e-12) else 0
            if bound < best:
                best, best_coef = bound, np.concatenate([[1.0], x])
        if _target is not None and (best < _target or value >= _target):
            break  # enough to decide a comparison with _target
        if eps <= 1e-10 or stale >= 2:  # within 1e-10 of the grid LP value, or no more progress
            break
        pts = np.concatenate([pts, _cluster(new[new_val > -1e-9 * value], -1.0, s)])
    if return_coefficients:
        return best, best_coef
    return best


def delsarte_lp_max_cosine_bound(
    d: int,
    K: int,
    *,
    n_max: int = DEFAULT_N_MAX,
    grid_size: int = DEFAULT_GRID_SIZE,
    solver: str = DEFAULT_SOLVER,
    tol: float = 1e-6,
) -> float:
    """Lower bound on the max inner product of any K-point code in R^d from the Delsarte LP bound.

    Bisection on s: returns the largest s (to ``tol``) at which the rigorous LP size bound is < K.
    The search starts from Levenshtein's value, which the LP can only improve once n_max reaches the
    degree of Levenshtein's polynomial (checked: if the LP does not certify it, the search starts at
    Rankin's -1/(K-1)).
    """
    d, K = _check_dK(d, K)
    n_max = _check_int("n_max", n_max, 1)
    tol = _check_float("tol", tol, 1e-15, 1.0, "pass a bisection tolerance in (0, 1]")
    if K <= d + 1:
        return -1.0 / (K - 1)  # the degree-1 polynomial t - s already gives 1 - 1/s; Rankin is sharp

    def size(s: float) -> float:
        return delsarte_lp_size_bound(d, s, n_max=n_max, grid_size=grid_size, solver=solver, _target=K)

    lev = levenshtein_max_cosine_bound(d, K, tol=1e-12)
    lo = -1.0 / (K - 1)  # certified by the degree-1 polynomial
    for delta in (tol, 1e-3):
        if lev - delta > lo and size(lev - delta) < K:
            lo = lev - delta
            break
    # the LP is at least as strong as Levenshtein once n_max reaches his degree: search upwards from there
    step = max(tol, 1e-4)
    hi = min(max(lo, lev) + step, 1.0)
    while hi < 1.0 and size(hi) < K:
        lo, hi = hi, min(hi + step, 1.0)
        step *= 4.0
    return _bisect_max_cosine(K, size, lo, hi, tol)


# ----------------------------------------------------------------------------- Yudin energy LP
def _t_where_kernel_exceeds(s: float, metric: str, level: float) -> float:
    """Smallest t in [-1, 1) with f(t) >= level (f increasing in t); 1.0 if never (s < 0)."""
    lo, hi = -1.0, 1.0
    if float(riesz_kernel(lo, s, metric)) >= level:
        return -1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        if float(riesz_kernel(mid, s, metric)) >= level:
            hi = mid
        else:
            lo = mid
    return hi


def yudin_energy_bound(
    d: int,
    K: int,
    s: float = 1.0,
    *,
    metric: str = "euclidean",
    half_space: bool = False,
    n_max: int | None = None,
    grid_size: int = DEFAULT_GRID_SIZE,
    solver: str = DEFAULT_SOLVER,
    rounds: int = 12,
    return_coefficients: bool = False,
):
    """Delsarte-Yudin linear-programming lower bound on the Riesz energy of K points on S^{d-1}.

    Let f(t) be the kernel as a function of the inner product (:func:`riesz_kernel`). If
    h(t) = sum_{k=0}^{n} a_k G_k(t) with a_k >= 0 for k >= 1 and h <= f on [-1, 1), then for every code
    ``sum_{i != j} f(<x_i, x_j>) >= sum_{i != j} h = sum_{i, j} h - K h(1)
    = sum_k a_k sum_{i,j} G_k(<x_i, x_j>) - K h(1) >= K^2 a_0 - K h(1)``
    because each Gram matrix (G_k(<x_i, x_j>)) is positive semi-definite and its entries sum to K^2 for
    k = 0. Maximising ``(K^2 - K) a_0 - K sum_{k>=1} a_k`` is an LP; the bound for unordered pairs is half
    of it. Sources: V. A. Yudin, "Minimum potential energy of a point system of charges",
    Discrete Math. Appl. 3 (1993) 75-81; Cohn & Kumar, J. Amer. Math. Soc. 20 (2007) 99-148, Sec. 4
    (sharp, i.e. equal to the energy, for universally optimal configurations once n_max is at least the
    degree of their interpolating polynomial: 1 for the simplex, 3 for the cross-polytope, 5 for the
    icosahedron, 7 for E8). The bound holds for any kernel, so ``metric="geodesic"`` is accepted too.

    ``half_space=True`` bounds the energy of the 2K points {w_i} U {-w_i} (all unordered pairs of the
    2K points, the K antipodal pairs included), so it is the bound for 2K points.

    Constraints are imposed on a grid of [-1, t_max] with f(t_max) = M (f is clipped at M, which
    only tightens the LP); the cutting-plane loop adds refined maxima of h - f; the returned value is
    made rigorous by lowering a_0 by eps = max(0, max(h - f)) measured on a grid of [-1, 1) reaching
    1 - 1e-12, after checking that h <= f beyond it.

    The degree ``n_max`` defaults to :func:`yudin_degree` (d, N) with N = K (2K for ``half_space``): the
    bound converges as n_max grows past ~2 N^{1/(d-1)}, the scale of the pair distances' resolution.
    Measured on S^2, s = 1 against the best-known Thomson energies (the 200-point value from the
    Wikipedia "Thomson problem" table, 18438.842717530), relative gap (best - bound)/best:

    ====  ==============  ==============  ==============  ==============
    N     n_max = 10      n_max = 20      n_max = 30      n_max = 40
    ====  ==============  ==============  ==============  ==============
    25    9.8e-4          7.2e-4          7.1e-4          7.1e-4
    50    8.7e-4          3.3e-4          3.2e-4          3.2e-4
    100   7.4e-3          2.8e-4          2.0e-4          2.0e-4
    200   1.9e-2          8.9e-4          1.8e-4          1.4e-4
    ====  ==============  ==============  ==============  ==============

    (~1-2 s per bound on one thread.) The remaining gap at high degree is the LP's own gap, not a
    truncation: it is 7e-4 at N = 25 for n_max up to 60.

    Parameters
    ----------
    d, K : int >= 2
    s : float
        Riesz exponent (see :func:`riesz_kernel`).
    metric : ``"euclidean"`` | ``"geodesic"``
    half_space : bool
    n_max : int, optional
        Largest Gegenbauer degree (default :func:`yudin_degree`).
    grid_size, solver, rounds :
        LP settings (:data:`DEFAULT_GRID_SIZE`, :data:`DEFAULT_SOLVER`, cutting-plane rounds).
    return_coefficients : bool

    Returns
    -------
    float, or (float, numpy.ndarray of shape (n_max + 1,))
        The lower bound on the energy (unordered pairs), and the coefficients a_0..a_n if asked.
    """
    d, K = _check_dK(d, K)
    s = _check_s(s)
    metric = _check_metric(metric)
    if not isinstance(half_space, (bool, np.bool_)):
        raise InvalidParameterError("half_space", half_space, "pass True or False")
    N = 2 * K if half_space else K
    n_max = _check_int("n_max", yudin_degree(d, N) if n_max is None else n_max, 1)
    grid_size = _check_int("grid_size", grid_size, 10)
    rounds = _check_int("rounds", rounds, 1)
    solver = _check_solver(solver)

    def kern(t):
        return riesz_kernel(t, s, metric)

    finite_at_one = s < 0
    base = max(1.0, abs(float(kern(0.0))), abs(float(kern(-1.0))))
    cost = np.concatenate([[-(N * N - N)], np.full(n_max, float(N))])  # minimise the negative
    nonneg = np.concatenate([[False], np.ones(n_max, dtype=bool)])
    for clip_level in (1e3 * base, 1e6 * base, 1e9 * base):
        t_max = 1.0 if finite_at_one else _t_where_kernel_exceeds(s, metric, clip_level)
        pts = _cheb_grid(-1.0, t_max, grid_size)
        if finite_at_one:
            check_grid = _cheb_grid(-1.0, 1.0, 10001)
        else:
            check_grid = np.unique(np.concatenate([_cheb_grid(-1.0, t_max, 10001), 1.0 - np.logspace(-12, 0, 400)]))
            check_grid = check_grid[check_grid < 1.0]
        best, best_coef = -math.inf, None
        stale = 0
        for _ in range(rounds):
            A = np.column_stack([np.ones(pts.size), gegenbauer(d, n_max, pts)[1:].T])
            rhs = np.minimum(kern(pts), clip_level)
            status, a = _solve_lp(cost, A, rhs, nonneg, solver)
            if status != "optimal":
                raise SolverError(f"Yudin LP returned {status} at d={d}, K={K}, s={s}, n_max={n_max}")
            a[1:] = np.maximum(a[1:], 0.0)

            def gap(t, a=a):
                return a[0] + gegenbauer(d, n_max, t)[1:].T @ a[1:] - kern(t)

            new, new_val, gmax = _local_maxima(gap, check_grid, -1e-6 * base)
            eps = max(0.0, gmax)
            value = 0.5 * ((N * N - N) * (a[0] - eps) - N * float(a[1:].sum()))
            scale = max(1.0, abs(value))
            stale = stale + 1 if value < best + 1e-12 * scale else 0
            if value > best:
                best, best_coef = value, np.concatenate([[a[0] - eps], a[1:]])
            if 0.5 * (N * N - N) * eps <= 1e-10 * scale or stale >= 2:
                break
            pts = np.concatenate([pts, _cluster(new[new_val > -1e-9 * base], -1.0, t_max)])
        # beyond the checked grid h <= |a_0| + sum a_k, and f >= f(max checked t) there
        h_sup = abs(best_coef[0]) + float(best_coef[1:].sum())
        if finite_at_one or h_sup <= float(kern(check_grid[-1])):
            break
        logger.debug("yudin_energy_bound: clip level %.3g too low (sup h = %.3g); raising it", clip_level, h_sup)
    else:
        raise SolverError(f"Yudin LP: could not certify h <= f near t = 1 (d={d}, K={K}, s={s})")
    if return_coefficients:
        return best, best_coef
    return best


def yudin_degree(d: int, N: int) -> int:
    """Default Gegenbauer degree of the Yudin LP for N points on S^{d-1}.

    ``min(YUDIN_MAX_AUTO_DEGREE, max(DEFAULT_N_MAX, ceil(2 N^{1/(d-1)})))``: on S^2 the bound stops
    improving (to ~1e-5 relative) once n_max passes ~2 sqrt(N); measured against the Kuijlaars-Saff estimate
    K^2/2 - 0.553 K^{3/2}: K = 400: 3.8e-4 below it at n_max = 30, 1.1e-5 at 50 (auto: 40, 2.5e-5);
    K = 800: 3.1e-3 at 30, 5.7e-4 at 40, 3.7e-5 at 50 (auto: 57). Up to K = 225 on S^2 it is the old default 30.
    """
    d, N = _check_dK(d, N)
    return int(min(YUDIN_MAX_AUTO_DEGREE, max(DEFAULT_N_MAX, math.ceil(2.0 * N ** (1.0 / (d - 1)) - 1e-9))))


def riesz_energy_lower_bound(d: int, K: int, s: float = 1.0, *, metric: str = "euclidean",
                             half_space: bool = False, n_max: int | None = None,
                             grid_size: int = DEFAULT_GRID_SIZE, solver: str = DEFAULT_SOLVER) -> float:
    """Lower bound on the Riesz s-energy of every K-point code on S^{d-1}, summed over unordered pairs i < j.

    The Delsarte-Yudin LP bound :func:`yudin_energy_bound` (with its default degree :func:`yudin_degree`);
    see there for the statement, sources and measured accuracy (within 0.1% of the best-known Thomson
    energies for N = 25, 50, 100, 200 on S^2).

    Parameters
    ----------
    d : int >= 2
        Ambient dimension.
    K : int >= 2
        Number of points.
    s : float
        Riesz exponent: kernel r^-s (s > 0), log(1/r) (s = 0), -r^|s| (s < 0).
    metric, half_space, n_max, grid_size, solver :
        As in :func:`yudin_energy_bound`.

    Returns
    -------
    float
        E_min(d, K, s) >= value.
    """
    return float(yudin_energy_bound(d, K, s, metric=metric, half_space=half_space, n_max=n_max,
                                    grid_size=grid_size, solver=solver))


def delsarte_lp_size(d: int, t: float, *, n_max: int = DEFAULT_N_MAX, grid_size: int = DEFAULT_GRID_SIZE,
                     solver: str = DEFAULT_SOLVER) -> float:
    """Delsarte LP upper bound on the number of points of S^{d-1} with all pairwise inner products <= t.

    The value of :func:`delsarte_lp_size_bound` (Delsarte, Goethals & Seidel 1977, Thm 4.3), made rigorous
    by measuring the constraint violation of the LP polynomial; ``inf`` when no polynomial of degree
    <= n_max certifies a bound (and for t = 1). Not rounded down: the largest code has at most
    ``floor(value)`` points. Examples: 240.0000000 for (d, t) = (8, 1/2) (the E8 kissing number),
    13.158 for (3, 1/2) (Odlyzko & Sloane 1979: the kissing number of R^3 is <= 13).

    Parameters
    ----------
    d : int >= 2
        Ambient dimension.
    t : float in [-1, 1]
        Largest allowed inner product.
    n_max, grid_size, solver :
        As in :func:`delsarte_lp_size_bound`.

    Returns
    -------
    float
    """
    return float(delsarte_lp_size_bound(d, t, n_max=n_max, grid_size=grid_size, solver=solver))


# ----------------------------------------------------------------------------- softmax codes
def softmax_code_bounds(d: int, K: int) -> tuple[float, float] | None:
    """Bounds of Theorem 3.9 of "Generalized neural collapse for a large number of classes" on the optimal
    one-vs-rest distance, or None where its assumption ``K >= sqrt(2 pi sqrt(e d))`` fails.

    ``(1/2) [ (sqrt(pi)/K) Gamma((d+1)/2) / Gamma(d/2 + 1) ]^{2/(d-1)} <= max_W rho_one-vs-rest(W)
    <= 2 [ (2 sqrt(pi)/K) Gamma((d+1)/2) / Gamma(d/2) ]^{1/(d-1)}``   (Eq. 13).

    The paper's rho_one-vs-rest(W) = min_k dist(w_k, conv{w_j : j != k}) with
    dist(v, W) = inf_{w in conv W} ||v - w|| (Definition 2.1, Eq. 3): a plain Euclidean distance, not
    squared, which is exactly the score ``one_vs_rest`` of spherecodes; the paper's numbers apply to it
    without conversion (its Theorem 3.3 values 1 - cos(2 pi/K), K/(K-1) and 1 are distances of this kind).
    The upper bound holds for every code (the max over W is below it); the lower bound is only about the
    optimum.

    Returns
    -------
    (lower, upper) or None
    """
    d, K = _check_dK(d, K)
    if K < math.sqrt(2.0 * math.pi * math.sqrt(math.e * d)):
        return None
    log_ratio_lo = 0.5 * math.log(math.pi) - math.log(K) + gammaln((d + 1) / 2.0) - gammaln(d / 2.0 + 1.0)
    log_ratio_hi = math.log(2.0) + 0.5 * math.log(math.pi) - math.log(K) + gammaln((d + 1) / 2.0) - gammaln(d / 2.0)
    lower = 0.5 * math.exp(2.0 / (d - 1) * log_ratio_lo)
    upper = 2.0 * math.exp(log_ratio_hi / (d - 1))
    return lower, upper


# ----------------------------------------------------------------------------- Coulomb asymptotics
def coulomb_asymptotic_energy(K: int) -> float:
    """Asymptotic estimate of the minimal Coulomb (s = 1) energy of K points on S^2 (unordered pairs).

    ``E(K) ~ K^2/2 + C K^{3/2}`` with the conjectured C = :data:`KUIJLAARS_SAFF_CONSTANT` = -0.553051...
    (Kuijlaars & Saff 1998; Rakhmanov, Saff & Zhou 1994 fitted -0.5523). The first term is proved
    (Wagner 1990; Rakhmanov-Saff-Zhou 1994 bound the second). An estimate, not a bound: it is below every
    best-known value of the bundled Thomson table (K <= 100), by 0.23% at K = 20 and 0.03% at K = 100
    (the missing next term, ~ +0.08..0.14 K^{1/2} there, is positive).
    """
    K = _check_int("K", K, 2)
    return 0.5 * K * K + KUIJLAARS_SAFF_CONSTANT * K**1.5


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Bound:
    """One bound: what it constrains, where it applies, how to compute it.

    Attributes
    ----------
    name : str
        Registry key.
    kind : str
        One of :data:`KINDS`.
    score_key : str
        The score it constrains (``max_cosine``, ``energy``, ``one_vs_rest``, ``logdet``).
    description : str
        The statement, in one or two sentences.
    citation : str
        Where it comes from.
    """

    name: str
    kind: str
    score_key: str
    description: str
    citation: str
    _reason: Callable[..., str | None]
    _value: Callable[..., float | None]

    def applies(self, d: int, K: int, **params: Any) -> str | None:
        """None when the bound applies to (d, K, params); otherwise the reason it does not.

        Raises InvalidParameterError for invalid d, K or parameter values. Parameters the bound does not
        use are ignored.
        """
        d, K = _check_dK(d, K)
        return self._reason(d, K, **params)

    def compute(self, d: int, K: int, **params: Any) -> float | None:
        """The bound's value for (d, K, params), or None where it does not apply."""
        if self.applies(d, K, **params) is not None:
            return None
        return self._value(int(d), int(K), **params)


@dataclass(frozen=True)
class BoundValue:
    """A computed bound: ``value`` of kind ``kind`` on score ``score_key``, from bound ``name``."""

    name: str
    value: float
    kind: str
    score_key: str
    citation: str


def _riesz_reason(s=1.0, metric="euclidean", half_space=False, **_):
    _check_s(s)
    _check_metric(metric)
    return None


def _coulomb_reason(d, K, s=1.0, metric="euclidean", half_space=False, **_):
    s = _check_s(s)
    metric = _check_metric(metric)
    if d != 3:
        return "the Coulomb asymptotics are for S^2 (d = 3)"
    if s != 1.0 or metric != "euclidean":
        return "the estimate is for s = 1 with the Euclidean metric"
    if half_space:
        return "the estimate is for the full-space energy"
    return None


def _lp_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in ("n_max", "grid_size", "solver") if k in params}


BOUNDS: dict[str, Bound] = {
    "rankin": Bound(
        name="rankin",
        kind="max_cosine_lower",
        score_key="max_cosine",
        description="Simplex bound max cos >= -1/(K-1); orthoplex bound max cos >= 0 for K >= d + 2.",
        citation="R. A. Rankin, Proc. Glasgow Math. Assoc. 2 (1955) 139-144",
        _reason=lambda d, K, **_: None,
        _value=lambda d, K, **_: rankin_bound(d, K),
    ),
    "fejes_toth": Bound(
        name="fejes_toth",
        kind="max_cosine_lower",
        score_key="max_cosine",
        description="On S^2, K >= 3: max cos >= (cot^2 w - 1)/2 with w = K pi / (6 (K - 2)).",
        citation="L. Fejes Toth, Jber. Deutsch. Math. Verein. 53 (1943) 66-68",
        _reason=lambda d, K, **_: (None if d == 3 and K >= 3
                                   else "Fejes Toth's bound is for K >= 3 points on S^2 (d = 3)"),
        _value=lambda d, K, **_: fejes_toth_bound(K),
    ),
    "levenshtein": Bound(
        name="levenshtein",
        kind="max_cosine_lower",
        score_key="max_cosine",
        description=("Levenshtein's universal size bound L(d, s) inverted by bisection: "
                     "max cos >= inf{s : L(d, s) >= K}."),
        citation="V. I. Levenshtein, Soviet Math. Dokl. 20 (1979) 417-421; Handbook of Coding Theory (1998) ch. 6",
        _reason=lambda d, K, **_: None,
        _value=lambda d, K, **_: levenshtein_max_cosine_bound(d, K),
    ),
    "delsarte_lp": Bound(
        name="delsarte_lp",
        kind="max_cosine_lower",
        score_key="max_cosine",
        description="Delsarte LP size bound (Gegenbauer degree <= n_max) inverted by bisection on s.",
        citation="P. Delsarte, J. M. Goethals, J. J. Seidel, Geom. Dedicata 6 (1977) 363-388",
        _reason=lambda d, K, **_: None,
        _value=lambda d, K, **p: delsarte_lp_max_cosine_bound(d, K, **_lp_kwargs(p)),
    ),
    "yudin_energy": Bound(
        name="yudin_energy",
        kind="energy_lower",
        score_key="energy",
        description="Delsarte-Yudin LP lower bound on the Riesz energy (unordered pairs).",
        citation=("V. A. Yudin, Discrete Math. Appl. 3 (1993) 75-81; "
                  "H. Cohn, A. Kumar, J. Amer. Math. Soc. 20 (2007) 99-148"),
        _reason=lambda d, K, **p: _riesz_reason(**p),
        _value=lambda d, K, s=1.0, metric="euclidean", half_space=False, **p: yudin_energy_bound(
            d, K, s, metric=metric, half_space=half_space, **_lp_kwargs(p)),
    ),
    "softmax_code": Bound(
        name="softmax_code",
        kind="softmax_upper",
        score_key="one_vs_rest",
        description=("Theorem 3.9 upper bound 2 [(2 sqrt(pi)/K) Gamma((d+1)/2)/Gamma(d/2)]^{1/(d-1)} "
                     "on rho_one-vs-rest."),
        citation="Generalized neural collapse for a large number of classes (softmax codes), Theorem 3.9, Eq. 13",
        _reason=lambda d, K, **_: None if softmax_code_bounds(d, K) is not None else
        "Theorem 3.9 assumes K >= sqrt(2 pi sqrt(e d))",
        _value=lambda d, K, **_: softmax_code_bounds(d, K)[1],
    ),
    "softmax_code_lower": Bound(
        name="softmax_code_lower",
        kind="softmax_optimum_lower",
        score_key="one_vs_rest",
        description=("Theorem 3.9 lower bound (1/2) [(sqrt(pi)/K) Gamma((d+1)/2)/Gamma(d/2+1)]^{2/(d-1)} "
                     "on the optimal rho."),
        citation="Generalized neural collapse for a large number of classes (softmax codes), Theorem 3.9, Eq. 13",
        _reason=lambda d, K, **_: None if softmax_code_bounds(d, K) is not None else
        "Theorem 3.9 assumes K >= sqrt(2 pi sqrt(e d))",
        _value=lambda d, K, **_: softmax_code_bounds(d, K)[0],
    ),
    "hadamard": Bound(
        name="hadamard",
        kind="logdet_upper",
        score_key="logdet",
        description="log det G <= sum_i log G_ii = 0 for the unit-diagonal PSD Gram matrix of the MGD kernel.",
        citation="J. Hadamard, Bull. Sci. Math. 17 (1893) 240-246 (Hadamard's inequality)",
        _reason=lambda d, K, **_: None,
        _value=lambda d, K, **_: 0.0,
    ),
    "coulomb_asymptotic": Bound(
        name="coulomb_asymptotic",
        kind="estimate",
        score_key="energy",
        description="E(K) ~ K^2/2 - 0.553051 K^{3/2} for s = 1 on S^2 (estimate, not a bound).",
        citation=("A. B. J. Kuijlaars, E. B. Saff, Trans. AMS 350 (1998) 523-538; "
                  "E. A. Rakhmanov, E. B. Saff, Y. M. Zhou, Math. Res. Lett. 1 (1994) 647-662"),
        _reason=_coulomb_reason,
        _value=lambda d, K, **_: coulomb_asymptotic_energy(K),
    ),
}
"""Registry of bounds, name -> :class:`Bound`."""


def objective_bound_kinds(obj: Objective) -> tuple[str, ...]:
    """Kinds of bound that apply to codes of ``obj``: :data:`UNIVERSAL_KINDS` and ``obj.bound_kinds``."""
    kinds = tuple(UNIVERSAL_KINDS) + tuple(k for k in obj.bound_kinds if k not in UNIVERSAL_KINDS)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise UnknownNameError("bound kind", unknown[0], KINDS, context=f" declared by objective {obj.name!r}")
    return kinds

_LP_BOUNDS = ("delsarte_lp", "yudin_energy")


def get_bound(name: str) -> Bound:
    """The registered bound ``name``; raises UnknownNameError listing the valid names."""
    try:
        return BOUNDS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("bound", name, sorted(BOUNDS)) from None


def bounds_for(
    objective: str,
    d: int,
    K: int,
    *,
    lp: bool = True,
    n_max: int | None = None,
    grid_size: int | None = None,
    solver: str | None = None,
    failures: list | None = None,
    **params: Any,
) -> list[BoundValue]:
    """Every applicable bound for codes of an objective, in registry order.

    Geometric bounds on the max cosine apply to every code and are included for every objective;
    then the kinds the objective declares (``Objective.bound_kinds``): ``riesz`` energy lower bound (and
    the Coulomb estimate on S^2), ``softmax_code`` Theorem 3.9 bounds, ``mgd`` Hadamard's bound. An
    objective that declares none (one a user registered) gets the max-cosine bounds only.

    Parameters
    ----------
    objective : str
        A registered objective (:func:`spherecodes.objectives.available_objectives`).
    d, K : int >= 2
    lp : bool
        Include the LP bounds (``delsarte_lp``, ``yudin_energy``), which take seconds.
    n_max, grid_size, solver : optional
        LP settings (defaults: :func:`yudin_degree` for the Yudin bound, :data:`DEFAULT_N_MAX` for Delsarte,
        :data:`DEFAULT_GRID_SIZE`, :data:`DEFAULT_SOLVER`).
    failures : list, optional
        When given, a bound whose computation fails with :class:`SolverError` is left out and
        ``(name, message)`` is appended to this list; otherwise the error propagates.
    **params
        The objective's parameters (its ``Param`` declarations; defaults filled in).

    Returns
    -------
    list of BoundValue
    """
    obj, norm = objective_and_params(objective, params)
    d, K = _check_dK(d, K)
    kinds = objective_bound_kinds(obj)
    extra = {k: v for k, v in (("n_max", n_max), ("grid_size", grid_size), ("solver", solver)) if v is not None}
    out = []
    for bound in BOUNDS.values():
        if bound.kind not in kinds or (not lp and bound.name in _LP_BOUNDS):
            continue
        try:
            value = bound.compute(d, K, **norm, **extra)
        except SolverError as exc:
            if failures is None:
                raise
            logger.warning("bound %s not computed for d=%d, K=%d: %s", bound.name, d, K, exc)
            failures.append((bound.name, str(exc)))
            continue
        if value is not None:
            out.append(BoundValue(bound.name, float(value), bound.kind, bound.score_key, bound.citation))
    return out


_SENSE = {
    "max_cosine_lower": "lower",
    "energy_lower": "lower",
    "softmax_upper": "upper",
    "logdet_upper": "upper",
}


def check_bound(bound: BoundValue, score: float, *, rtol: float = 1e-9, atol: float = 1e-12) -> tuple[bool, str]:
    """Does a code's ``score`` respect ``bound`` (a bound that holds for every code)?

    The comparison allows ``atol + rtol * |value|`` of slack. Bounds of kind ``softmax_optimum_lower``
    and ``estimate`` say nothing about a single code: they return (True, reason saying so).

    Returns
    -------
    (ok, reason)
    """
    score = float(score)
    slack = atol + rtol * abs(bound.value)
    sense = _SENSE.get(bound.kind)
    if sense is None:
        return True, f"{bound.name} ({bound.kind}) is not a bound on a single code; nothing to check"
    if sense == "lower":
        ok = score >= bound.value - slack
        rel = "<" if not ok else ">="
    else:
        ok = score <= bound.value + slack
        rel = ">" if not ok else "<="
    return ok, (f"{bound.score_key} = {score:.17g} {rel} {bound.name} {sense} bound {bound.value:.17g} "
                f"(slack atol={atol:g} + rtol={rtol:g} * |bound|)")


def assert_bound(bound: BoundValue, score: float, *, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Raise AssertionError with the reason of :func:`check_bound` when the score violates the bound."""
    ok, reason = check_bound(bound, score, rtol=rtol, atol=atol)
    if not ok:
        raise AssertionError(reason)
