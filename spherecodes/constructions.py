"""Exact point configurations on S^{d-1}, with a registry.

Every construction returns K unit vectors in R^d as the rows of a float64 array of
shape (K, d), computed from closed forms so that the only error is float64 rounding
(unit norms and inner products to a few ulps). The registry ``CONSTRUCTIONS`` maps a
name to a :class:`Construction`; :func:`construct_points` is the validated entry point.

=================  ============================  ==========================================
name               sizes                         points
=================  ============================  ==========================================
``polygon``        d = 2, K >= 2                 regular K-gon
``simplex``        any d >= 2, 2 <= K <= d+1     regular simplex, inner products -1/(K-1)
``cross_polytope`` K = 2d                        +-e_i
``orthoplex``      d+1 < K <= 2d                 e_1..e_d and -e_1..-e_{K-d}
``icosahedron``    d = 3, K = 12                 (0, +-1, +-phi) cyclic, normalised
``24-cell``        d = 4, K = 24                 D4 roots, as the 24 Hurwitz units
``600-cell``       d = 4, K = 120                the 120 unit icosians
``hemicube5``      d = 5, K = 16                 (+-1)^5 with an even number of minus signs
``schlafli``       d = 6, K = 27                 2_21 polytope (from E8 roots)
``gosset``         d = 7, K = 56                 3_21 polytope (from E8 roots)
``e8``             d = 8, K = 240                E8 roots, normalised
=================  ============================  ==========================================

Sources: Cohn & Kumar, "Universally optimal distribution of points on spheres",
J. Amer. Math. Soc. 20 (2007), Table 1 (universal optima: N-gon, simplex, cross polytope,
icosahedron, 600-cell, the 16, 27, 56 and 240 point configurations); Conway & Sloane,
"Sphere Packings, Lattices and Groups", ch. 4 (root lattices D4, E6, E7, E8) and ch. 8
(icosians); Rankin, "The closest packing of spherical caps in n dimensions",
Proc. Glasgow Math. Assoc. 2 (1955) (max inner product >= -1/(K-1) for any K points and
>= 0 for K > d+1).
"""

from __future__ import annotations

import itertools
import logging
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameterError, ResourceError, UnknownNameError

__all__ = [
    "Construction",
    "CONSTRUCTIONS",
    "ALIASES",
    "construct_points",
    "available_constructions",
    "constructions_for",
    "get_construction",
]

logger = logging.getLogger(__name__)

_PHI = (1.0 + math.sqrt(5.0)) / 2.0


@dataclass(frozen=True)
class Construction:
    """One exact family of point configurations on S^{d-1}.

    Attributes
    ----------
    name : str
        Registry name (fixed interface: other code looks constructions up by it).
    description : str
        What the points are, in one or two sentences, with the source.
    sizes : str
        Human-readable sizes it covers, e.g. ``"2 <= K <= d+1"``.
    applies : callable (d: int, K: int) -> str | None
        ``None`` when the construction exists for this (d, K), otherwise the reason it does not.
        Expects integers d >= 2 and K >= 2 (:func:`construct_points` validates first).
    build : callable (d: int, K: int) -> numpy.ndarray, shape (K, d), float64
        Builds the points; assumes ``applies(d, K) is None`` (no validation of its own).
    optimal_for : str
        What the configuration is known to be optimal for, with the source.
    fixed_d : int or None
        The one dimension the construction lives in, or None if it exists for many d.
        Used to say whether d or K is at fault when it does not apply.
    """

    name: str
    description: str
    sizes: str
    applies: Callable[[int, int], "str | None"]
    build: Callable[[int, int], np.ndarray]
    optimal_for: str
    fixed_d: "int | None" = None


# ----------------------------------------------------------------------------- builders


def _polygon(d: int, K: int) -> np.ndarray:
    """Regular K-gon: row k is (cos 2 pi k/K, sin 2 pi k/K), shape (K, 2).

    The angle is split exactly into whole quarter turns (integer arithmetic) plus a
    remainder in [0, pi/2), so that points on the axes are exact (e.g. K = 4 gives +-e_i
    with exact zeros) and the polygon is symmetric to the last bit under quarter turns.
    """
    k = np.arange(K, dtype=np.int64)
    quarter, rem = np.divmod(4 * k, K)  # 2 pi k / K = (quarter + rem/K) * pi/2
    phi = (np.pi / 2.0) * (rem / K)
    c, s = np.cos(phi), np.sin(phi)
    q = quarter % 4
    x = np.select([q == 0, q == 1, q == 2, q == 3], [c, -s, -c, s])
    y = np.select([q == 0, q == 1, q == 2, q == 3], [s, c, -s, -c])
    return np.ascontiguousarray(np.stack([x, y], axis=1))


def _simplex(d: int, K: int) -> np.ndarray:
    """Regular simplex of K <= d+1 points in the first n = K-1 coordinates, O(K d).

    With n = K-1 and s = sqrt(n+1) = sqrt(K), the rows are

        x_i = (s/sqrt(n)) e_i + c * 1_n   (i = 1..n),   c = -(s-1) / (n sqrt(n)),
        x_K = -(1/sqrt(n)) * 1_n,

    i.e. the centred standard basis e_1..e_K of R^K mapped into the hyperplane
    sum = 0 by the Householder reflection that sends 1_K/sqrt(K) to -e_K, then rescaled.
    By direct expansion every |x_i|^2 = 1 and every <x_i, x_j> = -1/(K-1) = -1/n, the
    Rankin simplex bound (Rankin 1955). No Gram-Schmidt, no O(K^3) work: one O(K d) fill.
    """
    n = K - 1
    out = np.zeros((K, d), dtype=np.float64)
    rn = math.sqrt(n)
    s = math.sqrt(K)
    c = -(s - 1.0) / (n * rn)
    out[:n, :n] = c
    out[np.arange(n), np.arange(n)] = s / rn + c
    out[n, :n] = -1.0 / rn
    return out


def _orthoplex(d: int, K: int) -> np.ndarray:
    """Rows e_1..e_d then -e_1..-e_{K-d} (d <= K <= 2d): all inner products 0 or -1, exactly."""
    out = np.zeros((K, d), dtype=np.float64)
    out[np.arange(d), np.arange(d)] = 1.0
    m = K - d
    out[d + np.arange(m), np.arange(m)] = -1.0
    return out


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    """Divide every row by its float64 norm; the result has unit norms to ~1 ulp."""
    x = np.asarray(x, dtype=np.float64)
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def _even_sign_vectors(n: int) -> np.ndarray:
    """All vectors in {+-1}^n with an even number of -1 entries, shape (2^(n-1), n), in a fixed order."""
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)), dtype=np.float64)
    return signs[np.sum(signs < 0, axis=1) % 2 == 0]


def _pm_ei_pm_ej(n: int) -> np.ndarray:
    """The 2n(n-1) vectors +-e_i +-e_j (i < j) in R^n: the D_n root system (norm^2 = 2)."""
    rows = []
    for i, j in itertools.combinations(range(n), 2):
        for si, sj in itertools.product((1.0, -1.0), repeat=2):
            v = np.zeros(n)
            v[i], v[j] = si, sj
            rows.append(v)
    return np.array(rows, dtype=np.float64)


def _icosahedron(d: int, K: int) -> np.ndarray:
    """Cyclic permutations of (0, +-1, +-phi), phi = (1+sqrt 5)/2, normalised (12 x 3)."""
    rows = []
    for s1, s2 in itertools.product((1.0, -1.0), repeat=2):
        base = (0.0, s1, s2 * _PHI)
        for shift in range(3):
            rows.append(base[-shift:] + base[:-shift] if shift else base)
    return _normalise_rows(np.array(rows))


def _hurwitz_units() -> np.ndarray:
    """The 24 Hurwitz units: 8 of (+-1, 0, 0, 0) permuted and 16 of (+-1/2)^4, shape (24, 4), exact in binary."""
    return np.vstack([np.eye(4), -np.eye(4), 0.5 * np.array(list(itertools.product((1.0, -1.0), repeat=4)))])


def _cell24(d: int, K: int) -> np.ndarray:
    """24-cell as the 24 Hurwitz units (24 x 4), every coordinate and inner product exact in binary.

    This is the D4 root system +-e_i +-e_j divided by sqrt 2, rotated by the orthogonal map
    (x1, x2, x3, x4) -> ((x1+x2), (x1-x2), (x3+x4), (x3-x4)) / sqrt 2 (which sends
    (+-e_i +-e_j)/sqrt 2 onto the Hurwitz units); it avoids the 1/sqrt 2 rounding, so the
    inner products are exactly 0, +-1/2, +-1. It is also the first 24 rows of ``600-cell``.
    """
    return _hurwitz_units()


def _cell600(d: int, K: int) -> np.ndarray:
    """The 120 unit icosians (Conway-Sloane ch. 8, sec. 2.1), shape (120, 4).

    8 permutations of (+-1, 0, 0, 0), 16 of (+-1/2, +-1/2, +-1/2, +-1/2), and 96 even
    permutations of (+-phi/2, +-1/2, +-1/(2 phi), 0). Since phi^2 + phi^-2 = 3 all have
    norm 1 exactly in exact arithmetic; rows are renormalised in float64.
    """
    rows = list(_hurwitz_units())  # the 24-cell is a subset of the 600-cell
    base = np.array([_PHI / 2.0, 0.5, (_PHI - 1.0) / 2.0, 0.0])  # 1/phi = phi - 1
    even_perms = [p for p in itertools.permutations(range(4)) if _parity(p) == 0]
    for p in even_perms:
        for signs in itertools.product((1.0, -1.0), repeat=3):
            v = base.copy()
            v[:3] *= signs  # signs on the three non-zero entries
            w = np.empty(4)
            w[list(p)] = v  # entry k of base goes to position p[k]
            rows.append(w)
    return _normalise_rows(np.array(rows))


def _parity(perm: "tuple[int, ...]") -> int:
    """0 for an even permutation, 1 for an odd one (count of inversions mod 2)."""
    inv = sum(1 for a, b in itertools.combinations(range(len(perm)), 2) if perm[a] > perm[b])
    return inv % 2


def _e8_roots_unnormalised() -> np.ndarray:
    """The 240 roots of E8 (norm^2 = 2), exact in binary floating point, shape (240, 8).

    112 vectors +-e_i +-e_j (i < j) and 128 vectors (+-1/2)^8 with an even number of minus
    signs (Conway-Sloane ch. 4, sec. 8.1, the "even coordinate system").
    """
    return np.vstack([_pm_ei_pm_ej(8), 0.5 * _even_sign_vectors(8)])


def _e8(d: int, K: int) -> np.ndarray:
    """E8 roots divided by sqrt 2 (240 x 8)."""
    return _normalise_rows(_e8_roots_unnormalised())


def _hemicube5(d: int, K: int) -> np.ndarray:
    """(+-1)^5 with an even number of minus signs, divided by sqrt 5 (16 x 5).

    Two such vectors differ in h in {2, 4} signs, so inner products are (5 - 2h)/5 in
    {1/5 (10 per point), -3/5 (5 per point)}: the half 5-cube / Clebsch configuration.
    """
    return _normalise_rows(_even_sign_vectors(5))


def _gosset(d: int, K: int) -> np.ndarray:
    """The 56 points of the 3_21 polytope (minimal vectors of E7*), shape (56, 7).

    Take the E8 roots r with <r, a> = 1 for the root a = e1 + e2 (there are 56), project
    them to the orthogonal complement of a, written in the orthonormal basis
    (e1 - e2)/sqrt 2, e3, ..., e8, and normalise (each projection has norm^2 3/2).
    Two projections have inner product <r, s> - 1/2 with <r, s> in {-1, 0, 1}, i.e.
    -1, -1/3, 1/3 after normalising.
    """
    r = _e8_roots_unnormalised()
    sel = r[r[:, 0] + r[:, 1] == 1.0]
    coords = np.column_stack([(sel[:, 0] - sel[:, 1]) / math.sqrt(2.0), sel[:, 2:]])
    return _normalise_rows(coords)


def _schlafli(d: int, K: int) -> np.ndarray:
    """The 27 points of the 2_21 polytope (Schlafli configuration), shape (27, 6).

    Take the E8 roots r with <r, a> = <r, b> = 1 for the roots a = e1 + e2, b = e1 + e3
    (<a, b> = 1; there are 27 such r), project them to the orthogonal complement of
    span(a, b), written in the orthonormal basis (e1 - e2 - e3)/sqrt 3, e4, ..., e8, and
    normalise. Equivalently: the 27 points of the 3_21 polytope at inner product 1/3 from a
    fixed one, projected away from it. Inner products are -1/2 (10 per point), 1/4 (16).
    """
    r = _e8_roots_unnormalised()
    sel = r[(r[:, 0] + r[:, 1] == 1.0) & (r[:, 0] + r[:, 2] == 1.0)]
    coords = np.column_stack([(sel[:, 0] - sel[:, 1] - sel[:, 2]) / math.sqrt(3.0), sel[:, 3:]])
    return _normalise_rows(coords)


# ----------------------------------------------------------------------------- applicability


def _fixed(d0: int, K0: int) -> Callable[[int, int], "str | None"]:
    def applies(d: int, K: int) -> "str | None":
        if d != d0:
            return f"needs d = {d0} (got d = {d})"
        if K != K0:
            return f"needs K = {K0} (got K = {K})"
        return None

    return applies


def _applies_polygon(d: int, K: int) -> "str | None":
    if d != 2:
        return f"needs d = 2 (got d = {d})"
    if K < 2:
        return f"needs K >= 2 (got K = {K})"
    return None


def _applies_simplex(d: int, K: int) -> "str | None":
    if not 2 <= K <= d + 1:
        return f"needs 2 <= K <= d+1 = {d + 1} (got K = {K})"
    return None


def _applies_cross(d: int, K: int) -> "str | None":
    if K != 2 * d:
        return f"needs K = 2d = {2 * d} (got K = {K})"
    return None


def _applies_orthoplex(d: int, K: int) -> "str | None":
    if not d + 1 < K <= 2 * d:
        return f"needs d+1 < K <= 2d, i.e. {d + 2} <= K <= {2 * d} (got K = {K})"
    return None


# ----------------------------------------------------------------------------- registry

_CK = "Cohn-Kumar, JAMS 20 (2007), Table 1"

CONSTRUCTIONS: "dict[str, Construction]" = {
    c.name: c
    for c in [
        Construction(
            "polygon", "Regular K-gon (cos 2 pi k/K, sin 2 pi k/K) on the circle S^1.", "d = 2, K >= 2",
            _applies_polygon, _polygon, f"universal optimum for every K ({_CK})", fixed_d=2),
        Construction(
            "simplex",
            "Regular simplex: K unit vectors in the first K-1 coordinates with all pairwise inner products "
            "-1/(K-1), built in O(K d) from the centred standard basis and a Householder reflection.",
            "2 <= K <= d+1", _applies_simplex, _simplex,
            f"universal optimum for K = d+1 ({_CK}); for every K <= d+1 it meets the Rankin simplex bound "
            "max <x_i, x_j> >= -1/(K-1) (Rankin 1955), and the same degree-1 linear-programming bound makes it "
            "universally optimal"),
        Construction(
            "cross_polytope", "Cross polytope: +-e_1, ..., +-e_d (rows e_1..e_d then -e_1..-e_d).", "K = 2d",
            _applies_cross, lambda d, K: _orthoplex(d, 2 * d), f"universal optimum ({_CK})"),
        Construction(
            "orthoplex",
            "Part of the cross polytope: e_1..e_d and -e_1..-e_{K-d}; max inner product 0.",
            "d+1 < K <= 2d", _applies_orthoplex, _orthoplex,
            "optimal spherical code (Tammes): max inner product 0 meets the Rankin bound for d+1 < K <= 2d "
            "(Rankin 1955); universal optimum only at K = 2d"),
        Construction(
            "icosahedron", "Regular icosahedron: cyclic permutations of (0, +-1, +-phi), normalised; a 5-design.",
            "d = 3, K = 12", _fixed(3, 12), _icosahedron,
            f"universal optimum and optimal code ({_CK}; Tammes problem: Fejes Toth 1943)", fixed_d=3),
        Construction(
            "24-cell",
            "24-cell: the D4 roots +-e_i +-e_j divided by sqrt 2, in the rotated (exact binary) form of the 24 "
            "Hurwitz units (+-1,0,0,0) and (+-1/2)^4; max inner product 1/2.",
            "d = 4, K = 24", _fixed(4, 24), _cell24,
            "optimal kissing configuration in d = 4 (Musin, Ann. Math. 168 (2008)); not universally optimal "
            "(Cohn-Conway-Elkies-Kumar, Experiment. Math. 16 (2007))", fixed_d=4),
        Construction(
            "600-cell",
            "600-cell: the 120 unit icosians (8 of (+-1,0,0,0), 16 of (+-1/2)^4, 96 even permutations of "
            "(+-phi/2, +-1/2, +-1/(2 phi), 0)); an 11-design (Conway-Sloane ch. 8).",
            "d = 4, K = 120", _fixed(4, 120), _cell600,
            f"universal optimum, not sharp ({_CK}); optimal spherical code (Andreev 1999)", fixed_d=4),
        Construction(
            "hemicube5",
            "Half 5-cube / Clebsch configuration: (+-1)^5 with an even number of minus signs, divided by sqrt 5; "
            "inner products -3/5 (5 per point) and 1/5 (10 per point); a 3-design.",
            "d = 5, K = 16", _fixed(5, 16), _hemicube5, f"universal optimum, sharp ({_CK})", fixed_d=5),
        Construction(
            "schlafli",
            "Schlafli configuration / 2_21 polytope: E8 roots r with <r, e1+e2> = <r, e1+e3> = 1 projected to the "
            "complement and normalised; inner products -1/2 (10 per point), 1/4 (16); a 4-design.",
            "d = 6, K = 27", _fixed(6, 27), _schlafli, f"universal optimum, sharp ({_CK})", fixed_d=6),
        Construction(
            "gosset",
            "Gosset / 3_21 polytope (minimal vectors of E7*): E8 roots r with <r, e1+e2> = 1 projected to the "
            "complement and normalised; inner products -1 (1), -1/3 (27), 1/3 (27); a 5-design.",
            "d = 7, K = 56", _fixed(7, 56), _gosset, f"universal optimum, sharp ({_CK})", fixed_d=7),
        Construction(
            "e8",
            "E8 root system / 4_21 polytope: +-e_i +-e_j and (+-1/2)^8 with an even number of minus signs, "
            "divided by sqrt 2; a 7-design (Conway-Sloane ch. 4).",
            "d = 8, K = 240", _fixed(8, 240), _e8,
            f"universal optimum, sharp ({_CK}); optimal kissing configuration (Levenshtein 1979; "
            "Odlyzko-Sloane 1979)", fixed_d=8),
    ]
}

#: Other accepted spellings, resolved by :func:`get_construction` and :func:`construct_points`.
ALIASES: "dict[str, str]" = {
    "regular_polygon": "polygon",
    "regular_simplex": "simplex",
    "cross-polytope": "cross_polytope",
    "crosspolytope": "cross_polytope",
    "24cell": "24-cell",
    "d4": "24-cell",
    "600cell": "600-cell",
    "clebsch": "hemicube5",
    "2_21": "schlafli",
    "3_21": "gosset",
    "4_21": "e8",
    "e8_roots": "e8",
}


# ----------------------------------------------------------------------------- public API


def _as_size(param: str, value: object) -> int:
    """Validate d or K: an integer (Python or numpy, not bool) >= 2."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(param, value, f"{param} must be an integer >= 2")
    value = int(value)
    if value < 2:
        what = "the ambient dimension d" if param == "d" else "the number of points K"
        raise InvalidParameterError(param, value, f"{what} must be at least 2")
    return value


def available_constructions() -> "list[str]":
    """Registry names of all constructions, in registry order (aliases not included)."""
    return list(CONSTRUCTIONS)


def get_construction(name: str) -> Construction:
    """Look a construction up by name or alias (case-insensitive, surrounding spaces ignored).

    Raises
    ------
    UnknownNameError
        If the name is neither a registry name nor an alias; the message lists the valid names.
    """
    if isinstance(name, str):
        key = name.strip().lower()
        key = ALIASES.get(key, key)
        if key in CONSTRUCTIONS:
            return CONSTRUCTIONS[key]
    raise UnknownNameError("construction", name, available_constructions())


def constructions_for(d: int, K: int) -> "list[str]":
    """Names of the constructions that exist for K points in R^d, in registry order.

    Parameters
    ----------
    d, K : int
        Ambient dimension and number of points, both integers >= 2.
    """
    d = _as_size("d", d)
    K = _as_size("K", K)
    return [name for name, c in CONSTRUCTIONS.items() if c.applies(d, K) is None]


def construct_points(name: str, d: int, K: int) -> np.ndarray:
    """Build the exact configuration ``name`` with K points on S^{d-1}.

    Parameters
    ----------
    name : str
        A name from :func:`available_constructions` (or an alias from ``ALIASES``).
    d : int
        Ambient dimension, >= 2.
    K : int
        Number of points, >= 2.

    Returns
    -------
    numpy.ndarray, shape (K, d), float64, C-contiguous, writeable (a fresh array)
        One unit vector per row, exact up to float64 rounding.

    Raises
    ------
    InvalidParameterError
        If d or K is not an integer >= 2, or the construction does not exist for this
        (d, K); the message names the parameter at fault, the sizes the construction
        covers and the constructions that do apply.
    UnknownNameError
        If the name is unknown; the message lists the valid names.
    ResourceError
        If the (K, d) array does not fit in memory.
    """
    d = _as_size("d", d)
    K = _as_size("K", K)
    c = get_construction(name)
    reason = c.applies(d, K)
    if reason is not None:
        param, value = ("d", d) if c.fixed_d is not None and d != c.fixed_d else ("K", K)
        others = constructions_for(d, K)
        hint = f"constructions for d={d}, K={K}: {', '.join(others)}" if others else \
            f"no construction exists for d={d}, K={K}"
        raise InvalidParameterError(param, value, f"'{c.name}' {reason}; valid sizes: {c.sizes} ({hint})")
    if 8 * K * d > 2**50:  # beyond any machine: numpy would refuse the shape itself
        raise ResourceError(f"construction '{c.name}' with K={K}, d={d} needs {8 * K * d / 2**30:.3g} GiB "
                            "of float64 memory; choose a smaller K or d")
    try:
        pts = c.build(d, K)
    except MemoryError:
        raise ResourceError(f"construction '{c.name}' with K={K}, d={d} needs {8 * K * d / 2**30:.1f} GiB "
                            "of float64 memory; choose a smaller K or d") from None
    pts = np.ascontiguousarray(pts, dtype=np.float64)
    if pts.shape != (K, d):  # a defect in a builder, not a user error
        raise AssertionError(f"construction '{c.name}' built shape {pts.shape}, expected {(K, d)}")
    logger.debug("built construction %s with d=%d K=%d", c.name, d, K)
    return pts
