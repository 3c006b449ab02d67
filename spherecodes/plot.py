"""Pictures of a code (matplotlib, an optional extra: ``pip install spherecodes[plot]``).

* d = 3: the points on the sphere with their contact graph (pairs at the minimum distance)
  and rattlers marked;
* any d: the histogram of pairwise angles with the code's minimum angle and the best bound /
  known optimum marked;
* the solver's convergence curve when the code's provenance carries one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .code import Code
from .errors import InvalidParameterError

__all__ = ["plot_code"]


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


def plot_code(code: Code, path: Any = None, *, bins: int = 90):
    """Draw the code; save to ``path`` (PNG, PDF, ...) when given. Returns the matplotlib Figure."""
    from .validation import contact_graph, pairwise_angles_deg, rattlers

    plt = _pyplot()
    history = list(code.provenance.get("history", []) or [])
    n_panels = 1 + (code.d == 3) + (len(history) > 1)
    fig = plt.figure(figsize=(5.0 * n_panels, 4.5))
    col = 1
    if code.d == 3:
        ax = fig.add_subplot(1, n_panels, col, projection="3d")
        col += 1
        u, v = np.mgrid[0:2 * np.pi:40j, 0:np.pi:20j]
        ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", linewidth=0.4)
        X = code.points
        pairs, _ = contact_graph(X) if code.K >= 2 else (np.zeros((0, 2), int), 0.0)
        for i, j in pairs:
            ax.plot(*np.stack([X[i], X[j]]).T, color="tab:blue", linewidth=1.0)
        rat = set(int(i) for i in rattlers(X)) if code.K >= 2 else set()
        normal = [i for i in range(code.K) if i not in rat]
        ax.scatter(*X[normal].T, color="tab:red", s=18, depthshade=False, label="points")
        if rat:
            ax.scatter(*X[sorted(rat)].T, color="tab:green", marker="x", s=40, label=f"rattlers ({len(rat)})")
        ax.set_box_aspect((1, 1, 1))
        ax.set_title(f"K={code.K}: {len(pairs)} contacts")
        ax.legend(loc="lower left", fontsize=8)
    ax = fig.add_subplot(1, n_panels, col)
    col += 1
    angles = pairwise_angles_deg(code.points)
    ax.hist(angles, bins=bins, color="0.4")
    ax.axvline(angles.min(), color="tab:red", label=f"min angle {angles.min():.6g} deg")
    ref, label = _reference_angle(code)
    if ref is not None:
        ax.axvline(ref, color="tab:blue", linestyle="--", label=f"{label}: {ref:.6g} deg")
    ax.set_xlabel("pairwise angle (degrees)")
    ax.set_ylabel("pairs")
    ax.set_title(f"{code.objective} d={code.d} K={code.K}")
    ax.legend(fontsize=8)
    if len(history) > 1:
        ax = fig.add_subplot(1, n_panels, col)
        t = [h["time_s"] for h in history]
        best = [h["best"] for h in history]
        ax.plot(t, best, marker="o")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("best score")
        ax.set_title("search convergence (per round)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
