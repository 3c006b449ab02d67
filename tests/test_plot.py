"""Pictures that fit the objective: Delaunay degrees for Riesz codes on S^2, the contact graph for Tammes-type
codes, the circle for d=2, legends below the panels listing only what is drawn, convergence when there is a history."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import random_code

pytest.importorskip("matplotlib")

import spherecodes as sc  # noqa: E402
from spherecodes.errors import InvalidParameterError  # noqa: E402
from spherecodes.plot import delaunay_degrees, plot_code  # noqa: E402


def _code(objective, points, **provenance):
    obj = sc.get_objective(objective)
    params = obj.normalise_params()
    return sc.Code(points=points, objective=objective, params=params, scores=obj.score(points, params),
                   provenance=provenance)


def _legend_texts(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_delaunay_degrees_of_the_icosahedron_are_all_five():
    assert delaunay_degrees(sc.construct("icosahedron", 3, 12).points).tolist() == [5] * 12


@pytest.mark.parametrize("K,seed", [(30, 0), (57, 1), (100, 2)])
def test_delaunay_degrees_obey_euler(K, seed):
    """A triangulation of the sphere: sum over points of (6 - degree) = 12."""
    degrees = delaunay_degrees(random_code(K, 3, seed=seed))
    assert int(np.sum(6 - degrees)) == 12 and degrees.min() >= 3


def test_delaunay_degrees_refuse_what_has_no_hull():
    with pytest.raises(InvalidParameterError, match="at least 4 points"):
        delaunay_degrees(random_code(3, 3))
    circle = np.array([[np.cos(t), np.sin(t), 0.0] for t in np.linspace(0, 2 * np.pi, 8, endpoint=False)])
    with pytest.raises(InvalidParameterError, match="degenerate"):
        delaunay_degrees(circle)


def test_a_riesz_code_on_the_sphere_shows_degrees_not_rattlers():
    fig = plot_code(_code("riesz", sc.construct("icosahedron", 3, 12).points))
    texts = _legend_texts(fig)
    assert "5 neighbours (12)" in texts
    assert not any("rattler" in t or "contacts" in t for t in texts)
    assert "Delaunay" in fig.axes[0].get_title()


def test_a_tammes_code_keeps_the_contact_graph_and_lists_only_drawn_markers():
    fig = plot_code(_code("tammes", sc.construct("icosahedron", 3, 12).points))
    assert fig.axes[0].get_title() == "K=12: 30 contacts"
    assert not any("rattler" in t for t in _legend_texts(fig))  # the icosahedron has none: none listed


def test_legends_sit_below_their_panels():
    fig = plot_code(_code("tammes", sc.construct("icosahedron", 3, 12).points))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if ax.get_legend() is not None:
            assert ax.get_legend().get_window_extent(renderer).y1 <= ax.get_position().y0 * fig.bbox.height


def test_d2_draws_the_circle():
    fig = plot_code(_code("riesz", sc.construct("polygon", 2, 7).points))
    xy = [line.get_xydata() for line in fig.axes[0].get_lines()]
    assert any(len(p) > 100 and np.allclose(np.hypot(p[:, 0], p[:, 1]), 1.0) for p in xy)


def test_the_convergence_panel_appears_only_with_a_history():
    points = random_code(20, 3, seed=3)
    assert len(plot_code(_code("riesz", points)).axes) == 2
    history = [{"round": 0, "time_s": 0.1, "best": 150.9}, {"round": 1, "time_s": 0.2, "best": 150.885},
               {"round": 2, "time_s": 0.3, "best": 150.8815}]
    fig = plot_code(_code("riesz", points, history=history))
    assert len(fig.axes) == 3
    ax = fig.axes[2]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "search round"
    assert np.allclose(ax.get_lines()[0].get_ydata(), [150.9 - 150.8815, 150.885 - 150.8815])


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    from click.testing import CliRunner

    from spherecodes.cli import cli

    path = sc.construct("icosahedron", 3, 12).save(tmp_path / "c.npz")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    result = CliRunner().invoke(cli, ["plot", str(path)])
    assert result.exit_code == 2 and "pip install 'spherecodes[plot]'" in result.output
