"""The public entry points: `generate` and `construct`.

``generate`` is the one path a request takes (see the README's Architecture section):
catalog lookup (when a catalog is used), the batched solver, the float64 scores,
the certificate, and storing the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ._version import __version__
from .catalog import find_stored, store_code
from .catalog.lookup import check_catalog_argument
from .code import Code
from .constructions import construct_points, constructions_for
from .keys import make_key
from .objectives import get_objective
from .solvers import SearchOptions, SolveResult, solve
from .solvers.solve import check_size

__all__ = ["generate", "construct", "code_from_result"]

log = logging.getLogger(__name__)


def generate(objective: str, d: int, K: int, *, restarts: int | None = None, seed: int | None = None,
             device: Any = None, dtype: Any = None, time_budget: float | None = None, rounds: int | None = None,
             use_constructions: bool = True, catalog: Any = None, force: bool = False,
             certify: bool = True, certify_lp: bool = False, progress: Callable[[dict], None] | None = None,
             checkpoint: Any = None, resume: bool = False, options: SearchOptions | None = None,
             **params: Any) -> Code:
    """Compute a code: K points on S^{d-1} in R^d that optimise ``objective``.

    Parameters
    ----------
    objective : str
        ``"riesz"`` (params ``s=1.0``, ``metric="euclidean"|"geodesic"``, ``half_space=False``), and the
        other names of :func:`spherecodes.objectives.available_objectives`.
    d : int
        Ambient dimension, >= 2.
    K : int
        Number of points, >= 2.
    restarts : int, optional
        Random starts optimised in one batch (default :data:`spherecodes.solvers.DEFAULTS`).
    seed : int, optional
        Same seed, device and options give bit-identical points. None draws one; it is recorded in
        ``code.provenance["seed"]``.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    dtype : str, optional
        First-phase dtype; the polish and all scores are float64.
    time_budget : float, optional
        Seconds for the search; the best code found so far is returned when it is spent.
    rounds : int, optional
        Basin-hopping rounds at most.
    use_constructions : bool
        Also score the exact constructions that exist for (d, K) (simplex, cross-polytope, polygon,
        universal optima, ...) and return one when it is at least as good as the solver's best:
        known exact optima are then returned exactly instead of to solver precision.
    catalog : Catalog, path, None or False
        Where results are looked up first and stored after: None is the user catalog
        (``$SPHERECODES_CATALOG`` or the platform data directory, then the built-in catalog for
        lookups); False computes without reading or writing any catalog.
    force : bool
        Recompute even when the catalog has the key; the better of the stored and the new code is
        kept and returned.
    certify : bool
        Attach a :class:`spherecodes.validation.Certificate` (known optima, bounds, stationarity).
    certify_lp : bool
        Include the linear-programming bounds in the certificate (a few seconds more).
    progress : callable, optional
        Called with a dict after each search round.
    checkpoint : str or path, optional
        File that keeps the search state (:mod:`spherecodes.solvers.checkpoint`): written after
        round 0, every few seconds at round boundaries and at the end. While it is in use, Ctrl-C
        (SIGINT) or SIGTERM stops the search at once, saves the state of the last completed round
        and raises :class:`spherecodes.solvers.solve.SearchInterrupted` (a KeyboardInterrupt) whose
        message says how to resume. A ``.npz`` name lets ``Code.load`` read the best code so far.
    resume : bool
        Continue the search saved in ``checkpoint`` (same objective, params, d, K, seed, restarts,
        device and dtype; ``rounds`` and ``time_budget`` may change); it ends at the same points,
        bit for bit, as an uninterrupted run. A missing file starts a new search.
    options : SearchOptions, optional
        The search settings as one object (:class:`spherecodes.solvers.SearchOptions`); the keywords
        above that are given override its fields.
    **params
        The objective's parameters; an unknown name raises listing the valid ones.

    Returns
    -------
    Code
        ``code.scores`` holds the objective's float64 scores (for riesz: ``energy`` in the unordered-pair
        convention, ``min_angle_deg``, ``max_cosine``, ``min_distance``); ``code.provenance`` says how it was made.
    """
    search = SearchOptions.build(options, restarts=restarts, seed=seed, device=device, dtype=dtype,
                                 time_budget=time_budget, rounds=rounds, progress=progress, checkpoint=checkpoint,
                                 resume=resume)
    obj = get_objective(objective)
    d, K = check_size(d, K)
    norm_params = obj.normalise_params(**params)
    obj.validate_size(d, K, norm_params)
    key = make_key(obj.name, norm_params, d, K)
    if catalog is not False:
        check_catalog_argument(catalog)  # before the solve, not after it
    if catalog is not False and not force:
        stored = find_stored(key, catalog)  # entries failing their checksum are logged and skipped
        if stored is not None:
            log.info("generate %s: returning the stored code", key)
            return stored
    t0 = time.perf_counter()
    if use_constructions:
        exact = _proven_optimal_construction(obj, d, K, norm_params)
        if exact is not None:
            name, points, scores = exact
            provenance = {"solver": "construction (matches the proven optimum; no search needed)",
                          "construction": name, "version": __version__, "time_s": time.perf_counter() - t0}
            code = Code(points=points, objective=obj.name, params=norm_params, scores=scores, provenance=provenance)
            return _finish(code, key, catalog, certify, certify_lp)
    result = solve(obj.name, d, K, options=search, **norm_params)
    points, scores, provenance = result.points, result.scores, result.provenance()
    if use_constructions:
        from_construction = False
        for name in constructions_for(d, K):
            cand = construct_points(name, d, K)
            cand_scores = obj.score(cand, norm_params)
            # an exact construction that ties the solver's best is preferred (exact coordinates);
            # among constructions the first in registry order wins ties
            if obj.better(cand_scores, scores, rtol=1e-12) or (
                    not from_construction and not obj.better(scores, cand_scores, rtol=1e-12)):
                from_construction = True
                log.info("construction %s is at least as good as the solver's best: returning it", name)
                points, scores = cand, cand_scores
                provenance = dict(provenance, construction=name,
                                  solver_best=float(result.scores[obj.primary]))
    provenance = dict(provenance, time_s=time.perf_counter() - t0)
    code = Code(points=points, objective=obj.name, params=norm_params, scores=scores, provenance=provenance)
    return _finish(code, key, catalog, certify, certify_lp)


def code_from_result(result: SolveResult, **provenance: Any) -> Code:
    """The `Code` of a solver result (``solve`` or ``solve_distributed``), scores as the solver computed them.

    ``provenance`` adds or overrides fields of ``result.provenance()``. No certificate, no catalog: the
    caller decides (``generate`` does both).
    """
    return Code(points=result.points, objective=result.objective, params=dict(result.params),
                scores=dict(result.scores), provenance={**result.provenance(), **provenance})


def _proven_optimal_construction(obj, d: int, K: int, params: dict):
    """(name, points, scores) of a construction whose score equals a proven optimum, else None."""
    from .validation.certificate import CERT_RTOL
    from .validation.known import known_optimum

    known = known_optimum(obj.name, d, K, **params)
    if known is None or known.status != "proven_optimal":
        return None
    for name in constructions_for(d, K):
        points = construct_points(name, d, K)
        scores = obj.score(points, params)
        value = scores.get(known.score_key)
        if value is not None and abs(value - known.value) <= max(known.abs_tol, CERT_RTOL * abs(known.value)):
            return name, points, scores
    return None


def _finish(code: Code, key: str, catalog: Any, certify: bool, certify_lp: bool) -> Code:
    """Attach the certificate and store in the catalog; returns the better of stored and new."""
    if certify:
        from .validation import certify as _certify

        code = code.replace(certificate=_certify(code, lp=certify_lp))
    if catalog is not False:
        # keeps the better of stored and new and returns it; a read-only catalog only logs a warning
        code = store_code(code, catalog)
    return code


def construct(name: str, d: int, K: int, *, objective: str | None = None, **params: Any) -> Code:
    """An exact construction as a `Code` (see :mod:`spherecodes.constructions`).

    Parameters
    ----------
    name : str
        Construction name, e.g. ``"simplex"``, ``"cross_polytope"``, ``"600-cell"``, ``"e8"``.
    d, K : int
    objective : str, optional
        When given, the code is scored for this objective (with ``params``); otherwise it is scored
        for Riesz s=1 energy and separation, and ``code.objective`` is ``"riesz"``.
    """
    points = construct_points(name, d, K)
    obj = get_objective(objective or "riesz")
    norm_params = obj.normalise_params(**params)
    scores = obj.score(points, norm_params)
    return Code(points=points, objective=obj.name, params=norm_params, scores=scores,
                provenance={"solver": "construction", "construction": name, "version": __version__})



# the catalog is storage only: give its lookup(compute=True) the solver (installs the compute-on-miss hook)
from . import catalog_compute as _catalog_compute  # noqa: E402,F401
