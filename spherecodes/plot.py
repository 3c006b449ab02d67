"""Pictures of a code (matplotlib, an optional extra: ``pip install spherecodes[plot]``).

* d = 2: the points on the unit circle; d = 3: the points on the sphere. What is drawn on top fits the
  objective: for Riesz (Thomson) codes on S^2 each point is coloured by its number of Delaunay
  neighbours (5, 6, 7, ...: the disclination picture of the Thomson literature; by Euler's formula the
  sum over points of 6 - degree is 12); for Tammes codes the contact graph (pairs at the minimum
  distance) and the rattlers; other objectives: the points alone;
* any d: the histogram of pairwise angles with the code's minimum angle and the best bound /
  known optimum marked;
* the score per search round, as the excess over the final score on a log scale, when the code's
  provenance carries the search history (otherwise the panel is left out).

Legends sit below their panel, so that they never cover the ticks, and list only what is drawn.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .code import Code
from .errors import InvalidParameterError

__all__ = ["plot_code", "delaunay_degrees", "TAMMES_TYPE"]

#: objectives whose optimum is decided by the closest pairs: contact graph and rattlers are meaningful
TAMMES_TYPE = ("tammes",)
#: colour of each Delaunay degree (other degrees: black)
_DEGREE_COLOURS = {4: "tab:purple", 5: "tab:blue", 6: "0.75", 7: "tab:red", 8: "tab:orange"}


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise InvalidParameterError("plot", "matplotlib",
                                    "install the plot extra: pip install 'spherecodes[plot]'") from None
    return plt


def _reference_angle(code: Code) -> tuple[float | None, str]:
    """Largest possible minimum angle known for (d, K): a known optimum, else the tightest bound."""
    from .validation import bounds_for, known_optimum

    known = known_optimum("tammes", code.d, code.K)
    if known is not None:
        return math.degrees(math.acos(max(-1.0, min(1.0, known.value)))), f"Tammes {known.status.replace('_', ' ')}"
    best = None
    for b in bounds_for("tammes", code.d, code.K, lp=False):
        if b.score_key == "max_cosine" and (best is None or b.value > best.value):
            best = b
    if best is None:
        return None, ""
    return math.degrees(math.acos(max(-1.0, min(1.0, best.value)))), f"{best.name} bound"


def delaunay_degrees(points: Any) -> np.ndarray:
    """Number of Delaunay neighbours of each point of a code on S^2, shape (K,), int.

    The Delaunay triangulation of points on the sphere is the boundary of their convex hull
    (:class:`scipy.spatial.ConvexHull`); two points are neighbours when they share a hull triangle.

    Parameters
    ----------
    points : array_like, shape (K, 3)
        Unit vectors, K >= 4, not all on one great circle.
    """
    from scipy.spatial import ConvexHull, QhullError

    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 3 or X.shape[0] < 4:
        raise InvalidParameterError("points", f"array of shape {X.shape}",
                                    "Delaunay degrees need at least 4 points on S^2 (shape (K, 3), K >= 4)")
    try:
        hull = ConvexHull(X)
    except QhullError as exc:
        raise InvalidParameterError("points", "degenerate configuration",
                                    f"the points span no 3-D hull ({str(exc).splitlines()[0]})") from None
    neighbours: list[set[int]] = [set() for _ in range(X.shape[0])]
    for tri in hull.simplices:
        for i in tri:
            neighbours[int(i)].update(int(j) for j in tri if j != i)
    return np.array([len(n) for n in neighbours], dtype=int)


def _legend_below(ax, handles=None) -> None:
    """A legend under the panel (never over the ticks), only when something labelled was drawn."""
    handles_labels = ax.get_legend_handles_labels() if handles is None else handles
    if handles_labels[0]:
        ax.legend(*handles_labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8,
                  ncol=min(3, len(handles_labels[0])), frameon=False)


def _draw_contacts(ax, X: np.ndarray) -> str:
    """Contact graph and rattlers of a Tammes-type code; returns the panel title."""
    from .validation import contact_graph, rattlers

    pairs, _ = contact_graph(X)
    for i, j in pairs:
        ax.plot(*np.stack([X[i], X[j]]).T, color="tab:blue", linewidth=1.0)
    rat = sorted(int(i) for i in rattlers(X))
    normal = [i for i in range(X.shape[0]) if i not in set(rat)]
    ax.scatter(*X[normal].T, color="tab:red", s=18, label="points", **_depth(X))
    if rat:
        ax.scatter(*X[rat].T, color="tab:green", marker="x", s=40, label=f"rattlers ({len(rat)})", **_depth(X))
    return f"K={X.shape[0]}: {len(pairs)} contacts"


def _draw_degrees(ax, X: np.ndarray) -> str:
    """Points coloured by their number of Delaunay neighbours; returns the panel title."""
    degrees = delaunay_degrees(X)
    for degree in sorted(set(degrees.tolist())):
        idx = np.flatnonzero(degrees == degree)
        ax.scatter(*X[idx].T, color=_DEGREE_COLOURS.get(degree, "black"), s=30 if degree != 6 else 18,
                   edgecolors="black" if degree != 6 else "none", linewidths=0.4,
                   label=f"{degree} neighbours ({idx.size})", depthshade=False)
    defects = int(np.sum(degrees != 6))
    return f"K={X.shape[0]}: Delaunay degrees ({defects} defects)"


def _depth(X: np.ndarray) -> dict:
    return {"depthshade": False} if X.shape[1] == 3 else {}


def _geometry_panel(fig, position: tuple[int, int, int], code: Code) -> None:
    """The points on the circle (d = 2) or the sphere (d = 3), decorated for the objective."""
    X = code.points
    if code.d == 3:
        ax = fig.add_subplot(*position, projection="3d")
        u, v = np.mgrid[0:2 * np.pi:40j, 0:np.pi:20j]
        ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.88", linewidth=0.4)
        ax.set_box_aspect((1, 1, 1))
    else:
        ax = fig.add_subplot(*position)
        t = np.linspace(0.0, 2.0 * np.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="0.7", linewidth=1.0)
        ax.set_aspect("equal")
        ax.set_xlim(-1.15, 1.15)
        ax.set_ylim(-1.15, 1.15)
    if code.objective in TAMMES_TYPE:
        title = _draw_contacts(ax, X)
    elif code.objective == "riesz" and code.d == 3 and code.K >= 4:
        title = _draw_degrees(ax, X)
    else:
        ax.scatter(*X.T, color="tab:red", s=18, **_depth(X))
        title = f"K={code.K}"
    ax.set_title(title)
    _legend_below(ax)


def _angle_panel(fig, position: tuple[int, int, int], code: Code, bins: int) -> None:
    from .validation import pairwise_angles_deg

    ax = fig.add_subplot(*position)
    angles = pairwise_angles_deg(code.points)
    ax.hist(angles, bins=bins, color="0.4")
    ax.axvline(angles.min(), color="tab:red", label=f"min angle {angles.min():.6g} deg")
    ref, label = _reference_angle(code)
    if ref is not None:
        ax.axvline(ref, color="tab:blue", linestyle="--", label=f"{label}: {ref:.6g} deg")
    ax.set_xlabel("pairwise angle (degrees)")
    ax.set_ylabel("pairs")
    ax.set_title(f"{code.objective} d={code.d} K={code.K}")
    _legend_below(ax)


def convergence_excess(code: Code) -> tuple[np.ndarray, np.ndarray] | None:
    """(rounds, excess) of the search history: how much worse than the final score each round's best was.

    The excess is ``best_r - best_final`` for a minimised primary score and ``best_final - best_r``
    for a maximised one (>= 0). None when the provenance holds fewer than two rounds.
    """
    from .objectives import get_objective

    history = list(code.provenance.get("history", []) or [])
    if len(history) < 2:
        return None
    try:
        maximise = bool(get_objective(code.objective).maximise)
    except InvalidParameterError:
        maximise = False
    best = np.array([float(h["best"]) for h in history])
    rounds = np.array([int(h.get("round", i)) for i, h in enumerate(history)])
    excess = (best[-1] - best) if maximise else (best - best[-1])
    return rounds, excess


def _convergence_panel(fig, position: tuple[int, int, int], code: Code) -> None:
    rounds, excess = convergence_excess(code)
    ax = fig.add_subplot(*position)
    final = float(code.provenance["history"][-1]["best"])
    positive = excess > 0
    if positive.any():
        ax.semilogy(rounds[positive], excess[positive], marker="o", color="tab:blue")
        ax.set_ylabel("best score - final score" if excess[0] >= 0 else "excess over the final score")
    else:
        ax.plot(rounds, excess, marker="o", color="tab:blue")
        ax.set_yticks([0.0])
        ax.set_ylabel("best score - final score")
        ax.text(0.5, 0.6, "no improvement after round 0", transform=ax.transAxes, ha="center")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("search round")
    ax.set_title(f"convergence (final {final:.12g})")


def plot_code(code: Code, path: Any = None, *, bins: int = 90):
    """Draw the code; save to ``path`` (PNG, PDF, ...) when given. Returns the matplotlib Figure.

    Panels: the points (d = 2 or 3), the pairwise angles, and the convergence per search round when
    ``code.provenance["history"]`` has two rounds or more (module docstring).
    """
    plt = _pyplot()
    draw_points = code.d in (2, 3)
    has_history = convergence_excess(code) is not None
    n_panels = 1 + draw_points + has_history
    fig = plt.figure(figsize=(5.0 * n_panels, 5.0))
    col = 1
    if draw_points:
        _geometry_panel(fig, (1, n_panels, col), code)
        col += 1
    _angle_panel(fig, (1, n_panels, col), code, bins)
    col += 1
    if has_history:
        _convergence_panel(fig, (1, n_panels, col), code)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
