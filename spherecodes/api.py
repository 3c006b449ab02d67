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

import numpy as np

from ._version import __version__
from .catalog import find_stored, store_code
from .catalog.lookup import CATALOG_TIE_RTOL, check_catalog_argument
from .code import Code
from .constructions import construct_points, constructions_for
from .errors import InvalidParameterError
from .keys import make_key
from .objectives import get_objective
from .solvers import SearchOptions, SolveResult, solve
from .solvers.solve import check_size

__all__ = ["generate", "construct", "code_from_result", "SOURCES", "SEARCH_OPTIONS"]

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
        convention, ``min_angle_deg``, ``max_cosine``, ``min_distance``); ``code.provenance`` says how it was made:
        ``provenance["source"]`` is where this call got the code (:data:`SOURCES`),
        ``provenance["call_time_s"]`` the seconds this call took and ``provenance["time_s"]`` the seconds the
        search that made the code took (a stored code keeps the time of the search that made it).

    Notes
    -----
    Every option is validated before the catalog is read, so a bad option is an error on a catalog hit
    too. The rule on a hit: when none of the search options :data:`SEARCH_OPTIONS` is given, the stored
    code is returned (``source`` ``catalog:user`` or ``catalog:builtin``); giving any of them asks for a
    search, and the better of the stored and the new code is returned (a tie keeps the stored one); the
    new code is stored only when it beats the stored one. ``force=True`` searches without reading the
    catalog and stores the better of the new code and the one the catalog holds.
    """
    t_call = time.perf_counter()
    search = SearchOptions.build(options, restarts=restarts, seed=seed, device=device, dtype=dtype,
                                 time_budget=time_budget, rounds=rounds, progress=progress, checkpoint=checkpoint,
                                 resume=resume)
    obj = get_objective(objective)
    d, K = check_size(d, K)
    norm_params = obj.normalise_params(**params)
    obj.validate_size(d, K, norm_params)
    key = make_key(obj.name, norm_params, d, K)
    search.validate()  # before the catalog lookup: a bad option is an error on a hit too
    if search.resume and search.checkpoint is None:
        raise InvalidParameterError("resume", resume, "resume=True needs checkpoint=PATH, the file an earlier "
                                    "search saved")
    if catalog is not False:
        check_catalog_argument(catalog)  # before the solve, not after it
    search_asked = [name for name in SEARCH_OPTIONS if getattr(search, name) is not None]
    stored = stored_source = None
    if catalog is not False and not force:
        stored = find_stored(key, catalog)  # entries failing their checksum are logged and skipped
        if stored is not None:
            stored_source = _stored_source(stored, key)
            if not search_asked:
                log.info("generate %s: returning the stored code (%s)", key, stored_source)
                return _with_source(stored, stored_source, t_call)
            log.info("generate %s: stored code found, searching anyway (%s given)", key, ", ".join(search_asked))
    t0 = time.perf_counter()
    if use_constructions:
        exact = _proven_optimal_construction(obj, d, K, norm_params)
        if exact is not None:
            name, points, scores = exact
            provenance = {"solver": "construction (matches the proven optimum; no search needed)",
                          "construction": name, "version": __version__, "time_s": time.perf_counter() - t0,
                          "source": "construction"}
            code = Code(points=points, objective=obj.name, params=norm_params, scores=scores, provenance=provenance)
            return _finish(code, key, catalog, certify, certify_lp, stored, stored_source, t_call)
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
    provenance = dict(provenance, time_s=time.perf_counter() - t0,
                      source="construction" if "construction" in provenance else "solved")
    code = Code(points=points, objective=obj.name, params=norm_params, scores=scores, provenance=provenance)
    return _finish(code, key, catalog, certify, certify_lp, stored, stored_source, t_call)


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


def _finish(code: Code, key: str, catalog: Any, certify: bool, certify_lp: bool, stored: Code | None,
            stored_source: str | None, t_call: float) -> Code:
    """Attach the certificate and store in the catalog; returns the best of ``stored``, the catalog's and new."""
    if stored is not None and not get_objective(code.objective).better(code.scores, stored.scores,
                                                                       rtol=CATALOG_TIE_RTOL):
        # the search asked for on a catalog hit did not beat the stored code (a tie keeps the stored one);
        # nothing new to store or certify
        log.info("%s: the stored code (%s) is at least as good as the search's; returning it", key, stored_source)
        return _with_source(stored, stored_source, t_call)
    if certify:
        from .validation import certify as _certify

        code = code.replace(certificate=_certify(code, lp=certify_lp))
    source = code.provenance["source"]
    if catalog is not False:
        # keeps the better of stored and new and returns it; a read-only catalog only logs a warning
        kept = store_code(code, catalog)
        if kept is not code:
            code, source = kept, "catalog:user"
    return _with_source(code, source, t_call)


#: where a code returned by :func:`generate` came from (``code.provenance["source"]``)
SOURCES = ("catalog:user", "catalog:builtin", "construction", "solved")
#: options of :func:`generate` whose presence means "search", even when a catalog holds the code
SEARCH_OPTIONS = ("seed", "restarts", "rounds", "time_budget", "device", "dtype", "checkpoint")


def _stored_source(stored: Code, key: str) -> str:
    """``catalog:builtin`` when the built-in catalog holds exactly these points for ``key``, else ``catalog:user``."""
    from .catalog import Catalog, builtin_catalog_path
    from .errors import CatalogError

    path = builtin_catalog_path()
    try:
        shipped = Catalog(path, "r").get(key) if path.is_file() else None
    except CatalogError:
        shipped = None
    if shipped is not None and np.array_equal(shipped.points, stored.points):
        return "catalog:builtin"
    return "catalog:user"


def _with_source(code: Code, source: str, t_call: float) -> Code:
    """``code`` with ``provenance["source"]`` and this call's seconds ``provenance["call_time_s"]``."""
    return code.replace(provenance=dict(code.provenance, source=source, call_time_s=time.perf_counter() - t_call))


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
