"""Known optimal and best-known values, with their sources.

:func:`known_optimum` answers "what is the best value anyone knows for (objective, d, K, params),
and is it proven optimal?". Answers come from, in this order:

1. closed forms proven in the literature:

   * K = 2: the antipodal pair (every objective here);
   * the regular K-gon (d = 2), the regular simplex (K <= d + 1) and the cross-polytope (K = 2d),
     which are universally optimal (Cohn & Kumar, J. Amer. Math. Soc. 20 (2007) 99-148), hence minimise
     the Riesz energy for every s > -2 (for s <= -2 the kernel -r^|s| is not completely monotone in r^2;
     at s = -2 every centred configuration is optimal, so the optimum is not unique and we return None);
   * the other universal optima of ``known_universal_optima.csv`` (icosahedron, 600-cell, (5, 16),
     (6, 27), (7, 56), E8) with E = (K/2) sum_t m_t f(t) from their inner-product distributions;
   * Tammes: Rankin's bounds are attained by the simplex (K <= d + 1) and by subsets of the
     cross-polytope (d + 2 <= K <= 2d, max cosine 0); regular K-gon; sharp configurations
     (``known_codes_d4_d5.csv``, which also lists d = 21..24) attain Levenshtein's bound;
   * softmax codes: Theorem 3.3 of "Generalized neural collapse for a large number of classes":
     d = 2: 1 - cos(2 pi / K); K <= d + 1: K/(K-1); d + 1 < K <= 2d: 1 (one-vs-rest distance, a plain
     Euclidean distance);
2. the bundled tables ``spherecodes/data/known_*.csv`` (copies of /work/shared/reference with their
   source columns): Thomson energies on S^2 (s = 1, Euclidean) for K = 2..100 (best known; K = 5 is
   proven, R. E. Schwartz, Experimental Math. 22 (2013) 157-186), Tammes angles on S^2 for K = 2..60 (with
   the proof reference where proven) and putative optima as chords for K = 61..130, codes in d = 4, 5 and
   the sharp codes.

Conventions: Riesz energies sum over unordered pairs with f(r) = r^-s (s > 0), log(1/r) (s = 0),
-r^|s| (s < 0); ``half_space=True`` is the energy of the 2K points {w_i} U {-w_i} over all their unordered
pairs, the K antipodal pairs (w_i, -w_i) included (as :mod:`spherecodes.objectives.riesz`); its optimum is
known when the universal optimum with 2K points is antipodal (the 2K-gon for d = 2, the cross-polytope for
K = d, the icosahedron for (3, 6), the 600-cell for (4, 60), 3_21 for (7, 28), E8 for (8, 120)). With
``metric="geodesic"`` only K = 2 is answered: universal optimality is a statement about functions of the
Euclidean distance, and we bundle no geodesic optimality results. Tammes values
are given as ``max_cosine`` (max_{i<j} <x_i, x_j>). MGD is log det of the Gaussian-kernel Gram matrix
exp(-eps^2 |x_i - x_j|^2) (HUG Eq. 9); only K = 2 is known (log(1 - exp(-8 eps^2)), antipodal pair):
no optimality result for K >= 3 is known to us.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import operator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import InvalidParameterError, UnknownNameError
from .bounds import _check_dK, objective_and_params, riesz_kernel

__all__ = [
    "KnownValue",
    "known_optimum",
    "KNOWN_FAMILIES",
    "known_table",
    "KNOWN_TABLES",
    "universal_optima",
    "riesz_energy_from_distribution",
    "softmax_code_optimum",
    "parse_exact",
]

PROVEN = "proven_optimal"
BEST_KNOWN = "best_known"

#: largest K of the bundled Tammes table on S^2 (Sloane's angles to K = 60, putative-optimum chords to 130)
TAMMES_S2_MAX_K = 130

#: agreement in cosine of a chord-only row (K > 60) with the exact local optimum it describes: the chords are
#: numerical optima printed to ~16 digits; on K <= 60, where the same source can be compared with our polished
#: best-known codes, 1 - chord^2 / 2 is within 9.5e-10 of their max cosine
CHORD_TABLE_TOL = 2e-9

KNOWN_TABLES = {
    "thomson_s2": "known_thomson_s2.csv",
    "tammes_s2": "known_tammes_s2.csv",
    "universal_optima": "known_universal_optima.csv",
    "codes_d4_d5": "known_codes_d4_d5.csv",
}
"""Bundled tables, name -> file in ``spherecodes/data``."""

_COHN_KUMAR = ("H. Cohn, A. Kumar, Universally optimal distribution of points on spheres, "
               "J. Amer. Math. Soc. 20 (2007) 99-148")
_RANKIN = "R. A. Rankin, Proc. Glasgow Math. Assoc. 2 (1955) 139-144 (simplex and orthoplex bounds, attained)"
_SOFTMAX = ("Generalized neural collapse for a large number of classes, Theorem 3.3 "
            "(/work/shared/papers/generalized-neural-collapse-softmax-codes.txt)")
_SCHWARTZ = "R. E. Schwartz, The five-electron case of Thomson's problem, Experimental Math. 22 (2013) 157-186"


@dataclass(frozen=True)
class KnownValue:
    """A known optimal or best-known value.

    Attributes
    ----------
    value : float
        The value of ``score_key`` (``energy``, ``max_cosine``, ``one_vs_rest`` or ``logdet``).
    score_key : str
        Which score it is.
    status : ``"proven_optimal"`` | ``"best_known"``
    source : str
        Citation (and table file when it comes from a bundled table).
    abs_tol : float
        Uncertainty of ``value`` from the way it is stored: 0 for closed forms evaluated in float64
        (then compare with a relative float64 tolerance); one unit of the last printed digit for the
        Tammes angles (propagated to the cosine); five units (5e-9) for the Thomson energies, as the
        README of the reference tables advises.
    name : str
        The configuration, when it has a name (``"icosahedron"``, ``"regular simplex"``...).
    """

    value: float
    score_key: str
    status: str
    source: str
    abs_tol: float = 0.0
    name: str = ""


# ----------------------------------------------------------------------------- tables
@cache
def _table_rows(name: str) -> tuple[dict[str, str], ...]:
    if name not in KNOWN_TABLES:
        raise UnknownNameError("table", name, sorted(KNOWN_TABLES))
    text = resources.files("spherecodes").joinpath("data", KNOWN_TABLES[name]).read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


def known_table(name: str) -> list[dict[str, str]]:
    """Rows of a bundled table (:data:`KNOWN_TABLES`) as dicts of strings, columns as in the file."""
    return [dict(row) for row in _table_rows(name)]


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def parse_exact(text: str) -> float:
    """Evaluate a table's exact expression such as ``"(1+sqrt(5))/4"`` or ``"-1/sqrt(5)"``.

    Only numbers, + - * /, unary minus and ``sqrt`` are accepted.
    """

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt"
                and len(node.args) == 1 and not node.keywords):
            return math.sqrt(ev(node.args[0]))
        raise InvalidParameterError("expression", text, "use numbers, + - * /, parentheses and sqrt() only")

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise InvalidParameterError("expression", text, "use numbers, + - * /, parentheses and sqrt() only") from None
    return ev(tree)


def _parse_distribution(text: str) -> tuple[tuple[float, int], ...]:
    """``"-1:1; -1/sqrt(5):5"`` -> ((-1.0, 1), (-0.447..., 5)): inner products seen from one point."""
    out = []
    for item in text.split(";"):
        t, _, m = item.strip().rpartition(":")
        out.append((parse_exact(t), int(m)))
    return tuple(out)


@dataclass(frozen=True)
class _Universal:
    d: int
    K: int
    name: str
    distribution: tuple[tuple[float, int], ...]
    max_inner_product: float
    source: str


@cache
def _universal_rows() -> tuple[_Universal, ...]:
    out = []
    for row in _table_rows("universal_optima"):
        if not row["d"].isdigit() or not row["N"].isdigit() or not row["inner_products_t:m"].strip():
            continue  # the infinite families are handled by closed forms
        dist = _parse_distribution(row["inner_products_t:m"])
        out.append(_Universal(int(row["d"]), int(row["N"]), row["name"] or f"({row['d']}, {row['N']}) code", dist,
                              parse_exact(row["max_inner_product"]), row["source"]))
    return tuple(out)


def universal_optima() -> list[dict[str, Any]]:
    """The universally optimal configurations of the bundled table with explicit distributions.

    Each entry: d, K, name, distribution (tuple of (inner product, multiplicity) seen from one point,
    multiplicities summing to K - 1), max_inner_product, source.
    """
    return [dict(d=u.d, K=u.K, name=u.name, distribution=u.distribution, max_inner_product=u.max_inner_product,
                 source=u.source) for u in _universal_rows()]


# ----------------------------------------------------------------------------- closed forms
def riesz_energy_from_distribution(K: int, distribution, s: float, metric: str = "euclidean") -> float:
    """Energy (unordered pairs) of a K-point distance-regular configuration: E = (K/2) sum_t m_t f(t).

    ``distribution`` lists (inner product t, multiplicity m_t) as seen from any one point.
    """
    total = sum(m * float(riesz_kernel(t, s, metric)) for t, m in distribution)
    return 0.5 * K * total


def _polygon_distribution(K: int):
    return tuple((math.cos(2.0 * math.pi * j / K), 1) for j in range(1, K))


def _simplex_distribution(K: int):
    return ((-1.0 / (K - 1), K - 1),)


def _cross_distribution(d: int):
    return ((-1.0, 1), (0.0, 2 * d - 2))


def _universal_full(d: int, K: int):
    """(name, distribution, source) of a universally optimal K-point configuration in R^d, or None."""
    if K == 2:
        return "antipodal pair", ((-1.0, 1),), _COHN_KUMAR
    if d == 2:
        return "regular polygon", _polygon_distribution(K), _COHN_KUMAR
    if K <= d + 1:
        return "regular simplex", _simplex_distribution(K), _COHN_KUMAR
    if K == 2 * d:
        return "cross-polytope", _cross_distribution(d), _COHN_KUMAR
    for u in _universal_rows():
        if (u.d, u.K) == (d, K):
            return u.name, u.distribution, u.source
    return None


def softmax_code_optimum(d: int, K: int) -> float | None:
    """Optimal one-vs-rest distance from Theorem 3.3 of the softmax-codes paper, or None.

    d = 2: 1 - cos(2 pi/K) (regular K-gon: distance from a vertex to the chord through its neighbours);
    K <= d + 1: K/(K-1) (simplex ETF: distance from a vertex to the centroid -w_k/(K-1) of the others);
    d + 1 < K <= 2d: 1 (subsets of the cross-polytope). The two formulas agree where they overlap
    (d = 2, K = 2, 3, 4).
    """
    d, K = _check_dK(d, K)
    if d == 2:
        return 1.0 - math.cos(2.0 * math.pi / K)
    if K <= d + 1:
        return K / (K - 1.0)
    if K <= 2 * d:
        return 1.0
    return None


def _decimals(text: str) -> int:
    text = text.strip()
    return len(text.split(".")[1]) if "." in text else 0


# ----------------------------------------------------------------------------- per objective
def _riesz_known(d: int, K: int, s: float, metric: str, half_space: bool) -> KnownValue | None:
    if half_space:
        # the 2K points {w_i} U {-w_i}: known when a universal optimum with 2K points is antipodal
        if s <= -2 or metric != "euclidean":
            return None
        N = 2 * K
        found = _universal_full(d, N)
        if found is None:
            return None
        name, dist, source = found
        if not any(abs(t + 1.0) < 1e-12 and m == 1 for t, m in dist):
            return None  # not antipodal (e.g. the simplex): not a half-space configuration
        value = riesz_energy_from_distribution(N, dist, s, metric)
        return KnownValue(value, "energy", PROVEN, f"{source}; the {N}-point optimum is antipodal, so it is the "
                          f"best half-space configuration of {K} points", 0.0, f"{name} ({N} points)")
    if K == 2:
        value = float(riesz_kernel(-1.0, s, metric))
        return KnownValue(value, "energy", PROVEN, "antipodal pair (f decreasing in the distance)", 0.0,
                          "antipodal pair")
    if metric != "euclidean":
        return None  # universal optimality is about functions of the Euclidean distance
    if s <= -2:
        return None
    found = _universal_full(d, K)
    if found is not None:
        name, dist, source = found
        return KnownValue(riesz_energy_from_distribution(K, dist, s, metric), "energy", PROVEN, source, 0.0, name)
    if d == 3 and s == 1.0 and 2 <= K <= 100:
        for row in _table_rows("thomson_s2"):
            if int(row["N"]) == K:
                proven = K == 5
                src = f"{row['source']} (bundled known_thomson_s2.csv)"
                if proven:
                    src = f"{_SCHWARTZ}; value: {src}"
                # 5 units of the last digit: two copies of the source differ by 2 units at K = 11
                return KnownValue(float(row["energy"]), "energy", PROVEN if proven else BEST_KNOWN, src,
                                  5.0 * 10.0 ** -_decimals(row["energy"]), f"symmetry {row['symmetry']}")
    return None


def _tammes_known(d: int, K: int) -> KnownValue | None:
    if K == 2:
        return KnownValue(-1.0, "max_cosine", PROVEN, "antipodal pair", 0.0, "antipodal pair")
    if d == 2:
        return KnownValue(math.cos(2.0 * math.pi / K), "max_cosine", PROVEN,
                          "regular polygon (trivial on S^1: the K arcs sum to 2 pi)", 0.0, "regular polygon")
    if K <= d + 1:
        return KnownValue(-1.0 / (K - 1), "max_cosine", PROVEN, _RANKIN, 0.0, "regular simplex")
    if K <= 2 * d:
        return KnownValue(0.0, "max_cosine", PROVEN, _RANKIN, 0.0,
                          "cross-polytope" if K == 2 * d else "subset of the cross-polytope")
    for u in _universal_rows():
        if (u.d, u.K) == (d, K):
            return KnownValue(u.max_inner_product, "max_cosine", PROVEN, u.source, 0.0, u.name)
    if d == 3 and K <= TAMMES_S2_MAX_K:
        for row in _table_rows("tammes_s2"):
            if int(row["N"]) == K:
                return _tammes_row_value(row)
    for row in _table_rows("codes_d4_d5"):
        if (int(row["d"]), int(row["N"])) != (d, K):
            continue
        status = row["status"].lower()
        if row["max_inner_product"].strip() and not row["max_inner_product"].strip().startswith("<"):
            value = parse_exact(row["max_inner_product"])
        elif row["min_sq_chord"].strip() and not row["min_sq_chord"].strip().startswith(">"):
            value = 1.0 - parse_exact(row["min_sq_chord"]) / 2.0
        else:
            return None  # only a bound is printed (d = 5, K = 40)
        proven = status.startswith("optimal") or status.startswith("proven")
        return KnownValue(value, "max_cosine", PROVEN if proven else BEST_KNOWN,
                          f"{row['source']} (bundled known_codes_d4_d5.csv)", 0.0, row["name"])
    return None


def _tammes_row_value(row: dict[str, str]) -> KnownValue:
    status = PROVEN if row["status"] in ("proven", "trivial") else BEST_KNOWN
    source = row["source"]
    if row["proof_reference"].strip():
        source = f"{row['proof_reference']}; value: {source}"
    source += " (bundled known_tammes_s2.csv)"
    if row.get("value_from") == "min_chord":
        chord = float(row["min_chord"])
        return KnownValue(1.0 - 0.5 * chord * chord, "max_cosine", status, source, CHORD_TABLE_TOL)
    if row["cos_min_angle_hp"].strip():
        # high-precision cosine, printed rounded up at ~32 digits
        return KnownValue(float(row["cos_min_angle_hp"]), "max_cosine", status,
                          f"{source}; cosine: {row['hp_source']}", 1e-16)
    theta = math.radians(float(row["min_angle_deg"]))
    # one unit of the last printed digit: the printed angles are rounded or truncated (N = 7 is truncated:
    # 77.86954215... is printed 77.8695421)
    dtheta = math.radians(10.0 ** -_decimals(row["min_angle_deg"]))
    return KnownValue(math.cos(theta), "max_cosine", status, source, math.sin(theta) * dtheta + 1e-16)


def _mgd_known(d: int, K: int, eps: float) -> KnownValue | None:
    if K == 2:
        # det [[1, g], [g, 1]] with g = exp(-eps^2 |x1 - x2|^2), largest at the antipodal pair (|.|^2 = 4)
        g = math.exp(-min(8.0 * eps * eps, 1e300))  # exp underflows to 0 for huge eps: log det = 0
        if g >= 1.0:  # eps so small that G is singular in float64
            return None
        return KnownValue(math.log1p(-g), "logdet", PROVEN,
                          "antipodal pair (det = 1 - exp(-2 eps^2 |x1 - x2|^2) increases with the distance)",
                          0.0, "antipodal pair")
    return None


def _riesz_energy_family(d: int, K: int, params: dict[str, Any]) -> KnownValue | None:
    return _riesz_known(d, K, params["s"], params["metric"], params["half_space"])


def _max_cosine_family(d: int, K: int, params: dict[str, Any]) -> KnownValue | None:
    return _tammes_known(d, K)


def _one_vs_rest_family(d: int, K: int, params: dict[str, Any]) -> KnownValue | None:
    value = softmax_code_optimum(d, K)
    if value is None:
        return None
    name = "regular polygon" if d == 2 else ("simplex ETF" if K <= d + 1 else "subset of the cross-polytope")
    return KnownValue(float(value), "one_vs_rest", PROVEN, _SOFTMAX, 0.0, name)


def _gaussian_logdet_family(d: int, K: int, params: dict[str, Any]) -> KnownValue | None:
    return _mgd_known(d, K, params["eps"])


KNOWN_FAMILIES = {
    "riesz_energy": _riesz_energy_family,
    "max_cosine": _max_cosine_family,
    "one_vs_rest": _one_vs_rest_family,
    "gaussian_logdet": _gaussian_logdet_family,
}
"""Families of known optima, name -> ``f(d, K, params) -> KnownValue | None``. An objective names the one
that applies to it in ``Objective.known_values`` (``riesz_energy``: s, metric, half_space;
``max_cosine``: Tammes; ``one_vs_rest``: softmax codes; ``gaussian_logdet``: eps)."""


def known_optimum(objective: str, d: int, K: int, **params: Any) -> KnownValue | None:
    """The best value known for (objective, d, K, params), or None when none is bundled.

    The objective says which family of known values applies (``Objective.known_values``, see
    :data:`KNOWN_FAMILIES`); an objective that declares none (one a user registered) gets None.

    Parameters
    ----------
    objective : str
        A registered objective (:func:`spherecodes.objectives.available_objectives`).
    d, K : int >= 2
        Ambient dimension and number of points.
    **params
        The objective's parameters (its ``Param`` declarations; defaults filled in), e.g. ``riesz``:
        s (float, default 1), metric (``"euclidean"`` | ``"geodesic"``), half_space (bool);
        ``mgd``: eps (float > 0, default 1).

    Returns
    -------
    KnownValue or None
        ``score_key`` is ``energy`` (riesz), ``max_cosine`` (tammes), ``one_vs_rest`` (softmax_code) or
        ``logdet`` (mgd).

    Raises
    ------
    UnknownNameError, InvalidParameterError
        Unknown objective, bad d or K, unknown or invalid parameters, an unknown declared family.
    """
    obj, norm = objective_and_params(objective, params)
    d, K = _check_dK(d, K)
    if obj.known_values is None:
        return None
    try:
        family = KNOWN_FAMILIES[obj.known_values]
    except (KeyError, TypeError):
        raise UnknownNameError("known-value family", obj.known_values, sorted(KNOWN_FAMILIES),
                               context=f" declared by objective {obj.name!r}") from None
    return family(d, K, norm)
