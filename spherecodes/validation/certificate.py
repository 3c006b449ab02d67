"""`certify`: compare a code with what is known, and say how far it is from optimal.

A certificate collects, for one code and objective:

* checks: finite coordinates, unit norms, first-order stationarity (Riemannian gradient for
  smooth objectives, the KKT residual of the contact forces for Tammes), rattlers;
* comparisons: known optima (closed forms and bundled best-known tables) and every bound that
  applies (:func:`spherecodes.validation.bounds.bounds_for`), each with the code's value, the gap
  and a verdict;
* an overall verdict: ``optimal`` (matches a proven optimum or attains a bound),
  ``matches_best_known``, ``improves_best_known``, ``below_best_known``, or ``gap=...`` (distance to
  the nearest bound on the objective's own score), or ``unknown`` when nothing applies.

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
from ..objectives import get_objective
from . import metrics
from .bounds import bounds_for, check_bound
from .known import known_optimum

__all__ = ["Comparison", "Certificate", "certify", "CERT_RTOL", "STATIONARITY_TOL", "SCORE_SENSE"]

log = logging.getLogger(__name__)

#: relative tolerance for "equals a known value / attains a bound" (float64 scores)
CERT_RTOL = 1e-9
#: relative stationarity (see :mod:`spherecodes.validation.metrics`) below which a code is called stationary
STATIONARITY_TOL = 1e-6
#: which direction is better for each score key
_VALIDITY_CHECKS = ("finite", "unit_norm", "bounds")
SCORE_SENSE = {"energy": "min", "max_cosine": "min", "min_angle_deg": "max", "min_distance": "max",
               "one_vs_rest": "max", "logdet": "max"}


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


@dataclass(frozen=True)
class Certificate:
    """Everything known about how good a code is; see the module docstring."""

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

    @property
    def ok(self) -> bool:
        """True when the code is valid: finite, unit rows, no bound violated.

        Stationarity is reported in ``checks["stationary"]`` but does not make a code invalid.
        """
        return all(v["ok"] for k, v in self.checks.items() if k in _VALIDITY_CHECKS)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        return _finite_json(out)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def table(self) -> str:
        """A readable multi-line summary."""
        lines = [f"{self.objective} {self.params} d={self.d} K={self.K}: {self.verdict}"]
        for k, v in self.scores.items():
            lines.append(f"  {k:>16s} = {v:.15g}")
        if self.stationarity is not None:
            lines.append(f"  {'stationarity':>16s} = {self.stationarity:.3g} (tol {STATIONARITY_TOL:g})")
        if self.rattlers:
            lines.append(f"  {'rattlers':>16s} = {self.rattlers}")
        lines.append(f"  {'comparison':<20s} {'kind':<22s} {'score':<12s} {'reference':>22s} {'gap':>12s}  verdict")
        for c in self.comparisons:
            lines.append(f"  {c.name:<20s} {c.kind:<22s} {c.score_key:<12s} {c.reference:>22.15g} "
                         f"{c.gap:>12.3g}  {c.verdict}")
        for name, chk in self.checks.items():
            lines.append(f"  check {name}: {'ok' if chk['ok'] else 'FAILED'} ({chk['reason']})")
        return "\n".join(lines)


def _finite_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else repr(v)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _gap(score_key: str, value: float, reference: float) -> float:
    """Positive when ``value`` is worse than ``reference`` for this score."""
    return value - reference if SCORE_SENSE.get(score_key, "min") == "min" else reference - value


def certify(code: "Code | np.ndarray", objective: str | None = None, *, lp: bool = True,
            **params: Any) -> Certificate:
    """Certify a code (or a (K, d) array) for an objective.

    Parameters
    ----------
    code : Code or array_like (K, d)
    objective : str, optional
        Defaults to ``code.objective``; required for a bare array.
    lp : bool
        Include the linear-programming bounds (Delsarte, Yudin), which take a few seconds.
    **params
        Objective parameters (default: the code's).

    Returns
    -------
    Certificate
    """
    if isinstance(code, Code):
        points = code.points
        objective = objective or code.objective
        params = {**dict(code.params), **params} if objective == code.objective else params
    else:
        points = as_points(code)
        if objective is None:
            objective = "riesz"
    obj = get_objective(objective)
    params = obj.normalise_params(**params)
    K, d = points.shape
    checks: dict[str, dict] = {}
    ok, reason = metrics.check_finite(points)
    checks["finite"] = {"ok": ok, "reason": reason}
    ok, reason = metrics.check_unit_norm(points)
    checks["unit_norm"] = {"ok": ok, "reason": reason}
    scores = dict(obj.score(points, params))
    for key, value in metrics.separation(points).items():
        scores.setdefault(key, value)

    stationarity, rattler_list = _first_order(obj.name, points, params)
    if stationarity is not None:
        checks["stationary"] = {"ok": bool(stationarity <= STATIONARITY_TOL),
                                "reason": f"relative first-order residual {stationarity:.3g} "
                                          f"{'<=' if stationarity <= STATIONARITY_TOL else '>'} {STATIONARITY_TOL:g}"}

    comparisons: list[Comparison] = []
    known = known_optimum(obj.name, d, K, **params)
    if known is not None and known.score_key in scores:
        value = scores[known.score_key]
        tol = max(known.abs_tol, CERT_RTOL * abs(known.value))
        gap = _gap(known.score_key, value, known.value)
        if abs(gap) <= tol:
            verdict = "optimal" if known.status == "proven_optimal" else "matches_best_known"
        elif gap < 0:
            verdict = ("better_than_proven_optimum (check the inputs)" if known.status == "proven_optimal"
                       else "improves_best_known")
        else:
            verdict = f"gap={gap:.3g}" if known.status == "proven_optimal" else f"below_best_known (gap={gap:.3g})"
        comparisons.append(Comparison("known_optimum", known.status, known.score_key, known.value, value, gap, tol,
                                      verdict, known.source + (f" [{known.name}]" if known.name else "")))
    violated = []
    for bound in bounds_for(obj.name, d, K, lp=lp, **params):
        if bound.score_key not in scores or bound.value is None:
            continue
        value = scores[bound.score_key]
        tol = CERT_RTOL * max(abs(bound.value), 1.0)
        ok, reason = check_bound(bound, value, rtol=CERT_RTOL, atol=CERT_RTOL)
        gap = _gap(bound.score_key, value, bound.value)
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
                                      verdict, bound.citation))
    checks["bounds"] = {"ok": not violated,
                        "reason": "; ".join(violated) if violated else
                        f"no bound violated (slack {CERT_RTOL:g} relative)"}
    return Certificate(objective=obj.name, params=dict(params), d=d, K=K, scores=scores,
                       verdict=_overall_verdict(obj, comparisons), comparisons=comparisons, checks=checks,
                       stationarity=stationarity, rattlers=rattler_list,
                       tolerances={"cert_rtol": CERT_RTOL, "stationarity_tol": STATIONARITY_TOL})


def _first_order(name: str, points: np.ndarray, params: Mapping[str, Any]) -> tuple[float | None, list]:
    """Stationarity measure and rattlers for the objectives that have them."""
    if name == "riesz":
        return metrics.riesz_stationarity(points, params["s"], params["metric"], params["half_space"]), []
    if name == "mgd":
        return metrics.mgd_stationarity(points, params["eps"]), []
    if name in ("tammes", "softmax_code"):
        from .contacts import rattlers, tammes_kkt_residual

        try:
            ratt = [int(i) for i in rattlers(points)]
            residual = tammes_kkt_residual(points)[0] if name == "tammes" else None
        except Exception as exc:  # an LP failure must not hide the rest of the certificate
            log.warning("contact analysis failed: %s", exc)
            return None, []
        return residual, ratt
    return None, []


def _overall_verdict(obj, comparisons: list[Comparison]) -> str:
    primary = [c for c in comparisons if c.score_key == obj.primary or
               (obj.primary in ("max_cosine", "min_distance", "min_angle_deg")
                and c.score_key in ("max_cosine", "min_distance", "min_angle_deg"))]
    verdicts = [c.verdict for c in primary]
    if any(v.startswith("VIOLATED") for v in (c.verdict for c in comparisons)):
        return "invalid (a bound is violated)"
    if any(v in ("optimal", "attains bound (optimal)") for v in verdicts):
        return "optimal"
    for v in ("improves_best_known", "matches_best_known"):
        if v in verdicts:
            return v
    for v in verdicts:
        if v.startswith("below_best_known"):
            return v
    gaps = [c.gap for c in primary if c.verdict.startswith("gap=") and c.kind not in ("estimate",)]
    if gaps:
        return f"gap={min(gaps):.3g}"
    return "unknown"
