"""`certify`: compare a code with what is known, and say how far it is from optimal.

A certificate collects, for one code and objective:

* checks: finite coordinates, unit norms, distinct points (no two rows closer than
  :func:`spherecodes.validation.metrics.duplicate_tolerance`), no bound violated; and, reported but not
  part of validity, first-order stationarity (Riemannian gradient for smooth objectives, the KKT residual
  of the contact forces for Tammes) and rattlers;
* comparisons: known optima (closed forms and bundled best-known tables) and every bound that
  applies (:func:`spherecodes.validation.bounds.bounds_for`), each with the code's value, the gap
  (absolute and relative) and a verdict;
* an overall verdict on the objective's *primary* score (``energy`` minimised for riesz,
  ``max_cosine`` minimised for tammes, ``one_vs_rest`` maximised for softmax_code, ``logdet`` maximised
  for mgd): ``optimal`` (matches a proven optimum or attains a bound), ``matches_best_known``,
  ``improves_best_known``, ``below_best_known (gap=...)``, or ``gap=...`` (distance to the nearest bound
  on the primary score), ``unknown`` when nothing applies, and ``invalid (...)`` when a validity check
  fails (duplicate points, a violated bound).

Certificates are plain data: :meth:`Certificate.to_dict` and JSON.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..code import Code, as_points
from ..errors import UnknownNameError
from ..objectives import get_objective
from . import metrics
from .bounds import bounds_for, check_bound
from .known import known_optimum
from .memory import check_certificate_memory

__all__ = ["Comparison", "Certificate", "certify", "CERT_RTOL", "STATIONARITY_TOL", "SCORE_SENSE"]

log = logging.getLogger(__name__)

#: relative tolerance for "equals a known value / attains a bound" (float64 scores)
CERT_RTOL = 1e-9
#: relative stationarity (see :mod:`spherecodes.validation.metrics`) below which a code is called stationary
STATIONARITY_TOL = 1e-6
#: checks that decide :attr:`Certificate.ok` (stationarity is reported but does not make a code invalid)
_VALIDITY_CHECKS = ("finite", "unit_norm", "distinct", "bounds")
#: which direction is better for each score key (the objective's own ``maximise`` decides for its primary score)
SCORE_SENSE = {"energy": "min", "max_cosine": "min", "min_angle_deg": "max", "min_distance": "max",
               "one_vs_rest": "max", "logdet": "max"}
#: separation scores that rank codes the same way as the Tammes objective's primary ``max_cosine``
_SEPARATION_KEYS = ("max_cosine", "min_distance", "min_angle_deg")


@dataclass(frozen=True)
class Comparison:
    """One comparison of a code's score with a reference value.

    Attributes
    ----------
    name : str
        ``known_optimum`` or a bound name (``rankin``, ``delsarte_lp``, ``yudin_energy``, ...).
    kind : str
        ``proven_optimal`` / ``best_known`` for known values, else the bound's kind.
    score_key : str
    reference : float
    value : float
        The code's score.
    gap : float
        How much worse the code is than the reference (>= 0 means worse or equal; a negative gap
        means the code is better than the reference).
    tolerance : float
        Absolute tolerance used for "equal".
    verdict : str
    source : str
    rel_gap : float
        ``gap / |reference|`` (``gap`` itself when the reference is 0).
    """

    name: str
    kind: str
    score_key: str
    reference: float
    value: float
    gap: float
    tolerance: float
    verdict: str
    source: str
    rel_gap: float = math.nan


#: bounds whose gap says little about how far a code is from optimal, and why (shown by Certificate.table())
LOOSE_BOUNDS = {
    "hadamard": "trivial bound (Hadamard: log det <= 0, met only when the kernel Gram matrix is the identity)",
    "softmax_code": "loose upper bound (Theorem 3.9 of the softmax-code paper, not attained)",
}


@dataclass(frozen=True)
class Certificate:
    """Everything known about how good a code is; see the module docstring.

    Attributes
    ----------
    objective, params, d, K :
        What was certified (d the ambient dimension, K the number of points).
    scores : dict
        float64 scores: the objective's own plus ``min_distance``, ``max_cosine``, ``min_angle_deg``.
    verdict : str
        Overall verdict on the primary score (module docstring).
    comparisons : list of Comparison
    checks : dict
        name -> {"ok": bool, "reason": str}: ``finite``, ``unit_norm``, ``distinct``, ``bounds`` (validity)
        and ``stationary`` where the objective has a first-order condition.
    stationarity : float or None
        Relative first-order residual (None when not computed).
    rattlers : list of int
    tolerances : dict
        The tolerances used.
    primary : str
        The objective's primary score.
    maximise : bool
        Whether a larger primary score is better.
    notes : list of str
        What could not be computed and why (e.g. an LP bound whose solver failed).
    """

    objective: str
    params: dict
    d: int
    K: int
    scores: dict
    verdict: str
    comparisons: list = field(default_factory=list)
    checks: dict = field(default_factory=dict)
    stationarity: float | None = None
    rattlers: list = field(default_factory=list)
    tolerances: dict = field(default_factory=dict)
    primary: str = ""
    maximise: bool = False
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the code is valid: finite, unit rows, distinct points, no bound violated.

        Stationarity is reported in ``checks["stationary"]`` but does not make a code invalid.
        """
        return all(v["ok"] for k, v in self.checks.items() if k in _VALIDITY_CHECKS)

    def comparison(self, name: str) -> Comparison | None:
        """The comparison called ``name`` (``known_optimum``, ``yudin_energy``, ...), or None."""
        for c in self.comparisons:
            if c.name == name:
                return c
        return None

    def to_dict(self) -> dict:
        """Plain JSON-able data (non-finite floats as strings such as ``'inf'``), with ``ok`` added."""
        out = asdict(self)
        out["ok"] = self.ok
        return _finite_json(out)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Certificate":
        """The certificate :meth:`to_dict` wrote (e.g. read back from a catalog or a ``.npz`` file).

        Non-finite floats written as strings (``'inf'``, ``'nan'``) become floats again; ``ok`` is
        recomputed from ``checks``; keys this version does not know are ignored.
        """
        def number(value: Any) -> Any:
            return float(value) if isinstance(value, str) and value in ("inf", "-inf", "nan") else value

        fields = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        fields["comparisons"] = [
            Comparison(**{k: number(c[k]) for k in Comparison.__dataclass_fields__ if k in c})
            if isinstance(c, Mapping) else c for c in data.get("comparisons", [])]
        for name in ("scores", "tolerances"):
            fields[name] = {k: number(v) for k, v in dict(data.get(name) or {}).items()}
        fields["stationarity"] = number(data.get("stationarity"))
        for name in ("params", "checks"):
            fields[name] = dict(data.get(name) or {})
        for name in ("rattlers", "notes"):
            fields[name] = list(data.get(name) or [])
        fields.setdefault("objective", "unknown")
        fields.setdefault("d", 0)
        fields.setdefault("K", 0)
        fields.setdefault("verdict", "unknown")
        return cls(**fields)

    def verdict_note(self) -> str | None:
        """Why a ``gap=...`` verdict is not a shortfall, when the gap is measured against a trivial or loose
        bound (:data:`LOOSE_BOUNDS`); None otherwise."""
        if not self.verdict.startswith("gap="):
            return None
        gaps = [c for c in self.comparisons if c.verdict.startswith("gap=") and c.verdict == self.verdict]
        loose = [c for c in gaps if c.name in LOOSE_BOUNDS]
        if not loose or len(loose) != len(gaps):
            return None
        return f"the gap is to the {LOOSE_BOUNDS[loose[0].name]}: it is not a shortfall from the optimum"

    def table(self) -> str:
        """A readable multi-line summary.

        Gaps to trivial or loose bounds are labelled so, rattlers are listed for Tammes codes only (for
        other objectives points off the contact graph are not defects), and a failed stationarity check
        says what it means.
        """
        sense = "maximise" if self.maximise else "minimise"
        lines = [f"{self.objective} {self.params} d={self.d} K={self.K}: {self.verdict}"
                 + (f"  ({sense} {self.primary})" if self.primary else "")]
        if self.verdict_note():
            lines.append(f"  ({self.verdict_note()})")
        for k, v in self.scores.items():
            lines.append(f"  {k:>16s} = {v:.15g}")
        if self.stationarity is not None:
            lines.append(f"  {'stationarity':>16s} = {self.stationarity:.3g} (tol {STATIONARITY_TOL:g})")
        if self.rattlers and self.objective == "tammes":
            lines.append(f"  {'rattlers':>16s} = {self.rattlers}")
        lines.append(f"  {'comparison':<20s} {'kind':<22s} {'score':<12s} {'reference':>22s} {'gap':>12s} "
                     f"{'rel gap':>10s}  verdict")
        for c in self.comparisons:
            quality = f" ({LOOSE_BOUNDS[c.name].split(' (')[0]})" if c.name in LOOSE_BOUNDS else ""
            lines.append(f"  {c.name:<20s} {c.kind:<22s} {c.score_key:<12s} {c.reference:>22.15g} "
                         f"{c.gap:>12.3g} {c.rel_gap:>10.3g}  {c.verdict}{quality}")
        for name, chk in self.checks.items():
            explain = ""
            if name == "stationary" and not chk["ok"]:
                explain = ("; not a local optimum yet: a search stopped early (e.g. by its time budget) leaves "
                           "the code there; search longer")
            lines.append(f"  check {name}: {'ok' if chk['ok'] else 'FAILED'} ({chk['reason']}{explain})")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)


def _finite_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _sense(obj, score_key: str) -> str:
    """``"max"`` or ``"min"``: the objective decides for its primary score, :data:`SCORE_SENSE` for the rest."""
    if score_key == obj.primary:
        return "max" if obj.maximise else "min"
    return SCORE_SENSE.get(score_key, "min")


def _gap(sense: str, value: float, reference: float) -> float:
    """Positive when ``value`` is worse than ``reference`` for a score of this sense."""
    with np.errstate(invalid="ignore"):
        return float(value - reference if sense == "min" else reference - value)


def _rel(gap: float, reference: float) -> float:
    return gap / abs(reference) if reference != 0 else gap


def certify(code_or_points: "Code | np.ndarray", objective: str | None = None, *, lp: bool = True,
            **params: Any) -> Certificate:
    """Certify a code (or a (K, d) array) for an objective.

    Parameters
    ----------
    code_or_points : Code or array_like (K, d)
        A bare array must have finite entries and unit rows (:func:`spherecodes.code.as_points`).
    objective : str, optional
        Defaults to ``code.objective``; ``"riesz"`` for a bare array.
    lp : bool
        Include the linear-programming bounds (Delsarte, Yudin), a few seconds each. The Yudin energy bound
        uses the degree :func:`spherecodes.validation.bounds.yudin_degree` (d, K), within 0.1% of the
        best-known Thomson energies for K = 25..200 on S^2 (see :func:`~spherecodes.validation.bounds.
        yudin_energy_bound`).
    **params
        Objective parameters (default: the code's when ``objective`` is the code's own).

    Returns
    -------
    Certificate

    Raises
    ------
    InvalidParameterError
        Points that are not a finite (K, d) array of unit rows, an unknown objective (UnknownNameError,
        listing the valid ones), unknown or invalid parameters, K < 2.
    """
    if isinstance(code_or_points, Code):
        points = code_or_points.points
        objective = objective or code_or_points.objective
        if objective == code_or_points.objective:
            params = {**dict(code_or_points.params), **params}
    else:
        points = as_points(code_or_points)
        if objective is None:
            objective = "riesz"
    obj = get_objective(objective)
    params = obj.normalise_params(**params)
    K, d = points.shape
    check_certificate_memory(obj.name, d, K, params)  # refuse before any stage allocates
    checks: dict[str, dict] = {}
    for name, check in (("finite", metrics.check_finite), ("unit_norm", metrics.check_unit_norm),
                        ("distinct", metrics.check_distinct)):
        ok, reason = check(points)
        checks[name] = {"ok": bool(ok), "reason": reason}
    distinct = checks["distinct"]["ok"]
    scores = dict(obj.score(points, params))
    for key, value in metrics.separation(points).items():
        scores.setdefault(key, value)

    notes: list[str] = []
    if distinct:
        stationarity, rattler_list = _first_order(obj, points, params, notes, scores, checks)
    else:  # forces and contact graphs are meaningless for coincident points
        stationarity, rattler_list = None, []
        notes.append("first-order analysis skipped: " + checks["distinct"]["reason"])
    if stationarity is not None:
        checks["stationary"] = {"ok": bool(stationarity <= STATIONARITY_TOL),
                                "reason": f"relative first-order residual {stationarity:.3g} "
                                          f"{'<=' if stationarity <= STATIONARITY_TOL else '>'} {STATIONARITY_TOL:g}"}

    comparisons: list[Comparison] = []
    known = known_optimum(obj.name, d, K, **params)
    if known is not None and known.score_key in scores:
        value = scores[known.score_key]
        tol = max(known.abs_tol, CERT_RTOL * abs(known.value))
        gap = _gap(_sense(obj, known.score_key), value, known.value)
        if abs(gap) <= tol:
            verdict = "optimal" if known.status == "proven_optimal" else "matches_best_known"
        elif gap < 0:
            verdict = ("better_than_proven_optimum (check the inputs)" if known.status == "proven_optimal"
                       else "improves_best_known")
        else:
            verdict = f"gap={gap:.3g}" if known.status == "proven_optimal" else f"below_best_known (gap={gap:.3g})"
        comparisons.append(Comparison("known_optimum", known.status, known.score_key, known.value, value, gap, tol,
                                      verdict, known.source + (f" [{known.name}]" if known.name else ""),
                                      _rel(gap, known.value)))
    violated = []
    failures: list = []
    for bound in bounds_for(obj.name, d, K, lp=lp, failures=failures, **params):
        if bound.score_key not in scores or bound.value is None:
            continue
        value = scores[bound.score_key]
        tol = CERT_RTOL * max(abs(bound.value), 1.0)
        ok, reason = check_bound(bound, value, rtol=CERT_RTOL, atol=CERT_RTOL)
        gap = _gap(_sense(obj, bound.score_key), value, bound.value)
        if bound.kind in ("estimate", "softmax_optimum_lower"):
            verdict = "estimate (not a bound on this code)" if bound.kind == "estimate" else \
                "bounds the optimum, not this code"
        elif not ok:
            verdict = "VIOLATED"
            violated.append(reason)
        elif abs(gap) <= tol:
            verdict = "attains bound (optimal)"
        else:
            verdict = f"gap={gap:.3g}"
        comparisons.append(Comparison(bound.name, bound.kind, bound.score_key, float(bound.value), value, gap, tol,
                                      verdict, bound.citation, _rel(gap, float(bound.value))))
    notes.extend(f"bound {name} not computed: {msg}" for name, msg in failures)
    checks["bounds"] = {"ok": not violated,
                        "reason": "; ".join(violated) if violated else
                        f"no bound violated (slack {CERT_RTOL:g} relative)"}
    return Certificate(objective=obj.name, params=dict(params), d=d, K=K, scores=scores,
                       verdict=_overall_verdict(obj, comparisons, checks), comparisons=comparisons, checks=checks,
                       stationarity=stationarity, rattlers=rattler_list,
                       tolerances={"cert_rtol": CERT_RTOL, "stationarity_tol": STATIONARITY_TOL,
                                   "unit_norm_tol": metrics.unit_norm_tolerance(np.float64),
                                   "duplicate_tol": metrics.duplicate_tolerance()},
                       primary=obj.primary, maximise=bool(obj.maximise), notes=notes)


def _energy_gradient(points: np.ndarray, params: Mapping[str, Any]) -> float:
    return metrics.riesz_stationarity(points, params["s"], params["metric"], params["half_space"])


def _logdet_gradient(points: np.ndarray, params: Mapping[str, Any]) -> float:
    return metrics.mgd_stationarity(points, params["eps"])


FIRST_ORDER_CONDITIONS = ("energy_gradient", "logdet_gradient", "contact_kkt", "contact_graph")
"""First-order conditions an objective can declare (``Objective.first_order``): the relative Riemannian
gradient of the Riesz energy (params s, metric, half_space) or of the MGD log det (param eps); the KKT
residual of the max-min problem on the contact graph, with its rattlers (Tammes); the rattlers alone
(softmax codes)."""

_GRADIENT_CONDITIONS = {"energy_gradient": _energy_gradient, "logdet_gradient": _logdet_gradient}


def _first_order(obj, points: np.ndarray, params: Mapping[str, Any], notes: list[str],
                 scores: Mapping[str, float], checks: dict[str, dict]) -> tuple[float | None, list]:
    """Stationarity measure and rattlers for the first-order condition the objective declares.

    The contact conditions work from one sparse contact graph (memory O(K d + contacts)). The KKT
    residual is skipped when a bound already proves the code optimal (its score attains the bound to
    :data:`CERT_RTOL`: an optimum is a first-order point), and when its own memory estimate, known only once
    the contacts are counted, does not fit; both are said in ``checks["stationary"]`` / ``notes``.
    """
    condition = obj.first_order
    if condition is None:
        return None, []
    if condition not in FIRST_ORDER_CONDITIONS:
        raise UnknownNameError("first-order condition", condition, FIRST_ORDER_CONDITIONS,
                               context=f" declared by objective {obj.name!r}")
    if condition in _GRADIENT_CONDITIONS:
        return _GRADIENT_CONDITIONS[condition](points, params), []
    from .contacts import contact_graph, kkt_memory_bytes, kkt_residual_from_contacts, rattlers_from_contacts
    from .memory import MEMORY_FRACTION, free_memory_bytes

    try:
        pairs, _ = contact_graph(points, min_distance=scores.get("min_distance"))
        ratt = [int(i) for i in rattlers_from_contacts(points, pairs)]
        residual = None
        if condition == "contact_kkt":
            proof = _attained_bound(obj.name, points.shape[1], points.shape[0], params, scores)
            if proof is not None:
                checks["stationary"] = {"ok": True, "reason": f"skipped: optimal by the {proof} bound "
                                                              "(an optimum is a first-order point)"}
                notes.append(f"KKT residual not computed: the code attains the {proof} bound")
            else:
                K, d = points.shape
                need = kkt_memory_bytes(K, d, pairs.shape[0], np.unique(pairs).size) + 8 * K * d
                free = free_memory_bytes()
                if need > MEMORY_FRACTION * free:
                    notes.append(f"KKT residual not computed: {pairs.shape[0]} contacts need about "
                                 f"{need / 2**30:.2f} GiB, {free / 2**30:.2f} GiB free")
                else:
                    residual = kkt_residual_from_contacts(points, pairs)[0]
    except Exception as exc:  # an LP failure must not hide the rest of the certificate
        log.warning("contact analysis failed: %s", exc)
        notes.append(f"contact analysis failed: {type(exc).__name__}: {exc}")
        return None, []
    return residual, ratt


def _attained_bound(name: str, d: int, K: int, params: Mapping[str, Any], scores: Mapping[str, float]) -> str | None:
    """Name of a (non-LP) bound on a separation score that the code attains to :data:`CERT_RTOL`, else None."""
    for bound in bounds_for(name, d, K, lp=False, **params):
        if bound.value is None or bound.score_key not in _SEPARATION_KEYS or bound.score_key not in scores:
            continue
        if bound.kind in ("estimate", "softmax_optimum_lower"):
            continue
        if abs(float(scores[bound.score_key]) - float(bound.value)) <= CERT_RTOL * max(abs(float(bound.value)), 1.0):
            return bound.name
    return None


def _overall_verdict(obj, comparisons: list[Comparison], checks: dict[str, dict]) -> str:
    """Verdict on the objective's primary score (for tammes: any of the equivalent separation scores)."""
    if not checks["distinct"]["ok"]:
        return f"invalid ({checks['distinct']['reason']})"
    if any(c.verdict.startswith("VIOLATED") for c in comparisons):
        return "invalid (a bound is violated)"
    keys = _SEPARATION_KEYS if obj.primary in _SEPARATION_KEYS else (obj.primary,)
    primary = [c for c in comparisons if c.score_key in keys]
    verdicts = [c.verdict for c in primary]
    if any(v in ("optimal", "attains bound (optimal)") for v in verdicts):
        return "optimal"
    for v in ("improves_best_known", "matches_best_known"):
        if v in verdicts:
            return v
    for v in verdicts:
        if v.startswith("below_best_known") or v.startswith("better_than_proven"):
            return v
    # a proven optimum missed by a gap is the most informative gap; else the nearest bound
    known = [c for c in primary if c.name == "known_optimum"]
    if known:
        return known[0].verdict
    gaps = [c.gap for c in primary if c.verdict.startswith("gap=")]
    if gaps:
        return f"gap={min(gaps):.3g}"
    return "unknown"
