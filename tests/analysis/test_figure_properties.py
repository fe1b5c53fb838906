"""What a paper's phase diagram must satisfy, one test per property: axis limits at the spec's
bounds, no trial marker clipped, boundary segments that end on other boundaries or on the
frame, a legend that leaves no empty half, continuous-map panels only where something varies,
probability panels that draw the phase fit's own field, maps over the bounds without stripes."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection, QuadMesh

from analysis.figures import continuous_maps, phase_diagram
from analysis.figures.labels import REGIME_LABELS
from analysis.maps import FINEST, fit_maps
from analysis.phase import fit_phase

X, Y = "task.zipf_exponent", "forgetting.forget_until"
BOUNDS = {X: (0.0, 2.0), Y: (0.0, 1000.0)}  # the quickstart's space


@pytest.fixture(scope="module")
def trials() -> pl.DataFrame:
    """Three regimes over α × N, trials off the bounds and on them (N = 0, α = 2)."""
    rng = np.random.default_rng(3)
    alpha = np.concatenate([rng.uniform(0.1, 1.9, 24), [0.0, 2.0, 1.0, 2.0]])
    until = np.concatenate([rng.uniform(60, 950, 24), [0.0, 1000.0, 0.0, 0.0]]).round()
    icl = until > 250 + 300 * alpha
    iwl = alpha > 1.1
    regime = np.select([icl & iwl, icl, iwl], ["dual", "icl", "iwl"], "none")
    regime = np.where(~icl & ~iwl, "iwl", regime)
    n = len(alpha)
    return pl.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(n)],
            "trial": np.arange(n),
            "state": "complete",
            X: alpha,
            Y: until,
            "regime": regime,
            "icl/structural": icl.astype(float) * 0.8 + 0.1,
            "iwl/head": iwl.astype(float) * 0.8 + 0.1,
            "summary/transience": np.zeros(n),
        }
    )


@pytest.fixture(scope="module")
def fit(trials):
    return fit_phase(trials, X, Y, log_x=False, log_y=False, n_draws=100, n_grid=60, bounds=BOUNDS)


def test_the_axes_stop_at_the_spec_bounds_not_the_trials_range(trials, fit):
    inner = trials.filter(pl.col(Y) > 0)
    narrow = fit_phase(inner, X, Y, log_x=False, log_y=False, n_draws=50, n_grid=30, bounds=BOUNDS)
    for f in (fit, narrow):
        ax = phase_diagram(f).axes[0]
        assert ax.get_xlim() == BOUNDS[X] and ax.get_ylim() == BOUNDS[Y]
    assert narrow.grid_y[0] == 0.0 < inner[Y].min()  # the map itself covers the bounds


def test_no_trial_marker_is_clipped(fit):
    fig = phase_diagram(fit)
    FigureCanvasAgg(fig).draw()
    frame = fig.bbox
    markers = [
        c
        for c in fig.axes[0].collections
        if isinstance(c, PathCollection) and (c.get_gid() or "").startswith("trials:")
    ]
    assert sum(len(c.get_offsets()) for c in markers) == fit.points.height
    for c in markers:
        assert not c.get_clip_on()
        radius = np.sqrt(c.get_sizes().max()) / 2 * fig.dpi / 72
        xy = c.get_offset_transform().transform(c.get_offsets())
        assert (xy[:, 0] - radius >= frame.x0).all() and (xy[:, 0] + radius <= frame.x1).all()
        assert (xy[:, 1] - radius >= frame.y0).all() and (xy[:, 1] + radius <= frame.y1).all()


def test_boundary_segments_end_on_other_boundaries_or_on_the_frame(fit):
    lines = fit.boundaries()
    assert set(lines["pair"]) >= {"dual|icl", "dual|iwl", "icl|iwl"}  # a triple point exists
    tol = 1.5 / len(fit.grid_x)  # a grid step and a half, in unit coordinates
    segments = {
        s: np.column_stack([fit.x.to_unit(p[X].to_numpy()), fit.y.to_unit(p[Y].to_numpy())])
        for (s,), p in lines.partition_by("segment", as_dict=True).items()
    }
    for s, points in segments.items():
        if np.allclose(points[0], points[-1]):
            continue  # a closed outline
        others = np.vstack([p for t, p in segments.items() if t != s])
        for end in (points[0], points[-1]):
            on_frame = min(end.min(), 1 - end.max()) <= tol
            on_other = np.linalg.norm(others - end, axis=1).min() <= tol
            assert on_frame or on_other, f"segment {s} ends loose at {end}"


def test_the_legend_sits_below_and_leaves_no_empty_half(fit):
    fig = phase_diagram(fit)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.canvas.draw()
    ax = fig.axes[0]
    box, legend = ax.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)
    assert legend.y1 <= box.y0  # below the axes
    assert box.width >= 0.75 * fig.get_tightbbox(renderer).width * fig.dpi


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]


def test_a_flat_continuous_map_is_left_out(trials, fit):
    maps = fit_maps(trials, X, Y, n_grid=20, log_x=False, log_y=False)
    assert "summary/transience" in maps  # fitted, flat at 0
    titles = [ax.get_title() for ax in _panels(continuous_maps(maps, fit))]
    assert len(titles) == len(fit.regimes) + len(maps) - 1
    assert not any("transience" in t for t in titles)


def test_the_probability_panels_are_the_phase_fits_own_field(fit):
    """One panel per regime, drawing the phase fit's posterior-mean probability — the field
    the phase diagram's regions and boundaries come from, so no second fit can disagree."""
    panels = _panels(continuous_maps({}, fit))
    assert [ax.get_title() for ax in panels] == [f"P({REGIME_LABELS[r]})" for r in fit.regimes]
    for ax, k in zip(panels, range(len(fit.regimes)), strict=True):
        mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
        assert np.allclose(
            np.asarray(mesh.get_array()).reshape(fit.proba.shape[:2]), fit.proba[..., k]
        )


def test_the_maps_cover_the_spec_bounds_and_resolve_no_finer_than_the_phase_map(trials):
    """Over the bounds, as the phase map; no length scale below the phase model's finest (the
    stripes along sampled rows came from ℓ = 0.05)."""
    inner = trials.filter((pl.col(Y) > 0) & (pl.col(X) < 2.0))
    maps = fit_maps(inner, X, Y, n_grid=20, log_x=False, log_y=False, bounds=BOUNDS)
    for m in maps.values():
        assert (m.grid_x[0], m.grid_x[-1]) == BOUNDS[X] and (m.grid_y[0], m.grid_y[-1]) == BOUNDS[Y]
        scales = re.search(r"length_scale=\[([^\]]+)\]", m.kernel)
        assert scales is not None and min(map(float, scales.group(1).split(","))) >= FINEST
