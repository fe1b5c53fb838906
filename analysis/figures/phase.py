"""Phase-diagram figures: the fitted regime map, the continuous maps, the trials by regime when no
map can be fitted. Each takes a fit and returns a Figure."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.figures.labels import (
    REGIME_LABELS,
    axis_label,
    condition_text,
    metric_label,
    symbol,
)
from analysis.figures.style import (
    MAP_CMAPS,
    REGIME_COLORS,
    REGIME_MARKERS,
    STYLE,
    new_figure,
    set_scale,
    trial_marker,
)
from study.controls import CONTRAST_LABELS
from study.metric_names import TRANSIENCE
from study.regimes import CALLS

if TYPE_CHECKING:
    from analysis.maps import ContinuousMap
    from analysis.phase import PhaseFit


def _scale_axes(ax: Axes, fit: PhaseFit | ContinuousMap) -> None:
    set_scale(ax, "x", fit.x.log)
    set_scale(ax, "y", fit.y.log)
    ax.set_xlim(fit.x.low, fit.x.high)
    ax.set_ylim(fit.y.low, fit.y.high)
    ax.set_xlabel(axis_label(fit.x.key))
    ax.set_ylabel(axis_label(fit.y.key))
    ax.grid(False)


def _draw_boundaries(ax: Axes, fit: PhaseFit, color: str = "black") -> LineCollection | None:
    """The edges between the most-likely regions (`PhaseFit.boundaries`): one field, so they
    meet at triple points and end on the frame."""
    lines = fit.boundaries()
    if not lines.height:
        return None
    segments = [
        np.column_stack([part[fit.x.key].to_numpy(), part[fit.y.key].to_numpy()])
        for part in lines.partition_by("segment", maintain_order=True)
    ]
    collection = LineCollection(
        segments, colors=color, linewidths=2.2, capstyle="round", gid="boundaries", zorder=4
    )
    ax.add_collection(collection)
    return collection


def _draw_trials(ax: Axes, points: pl.DataFrame, x: str, y: str, *, size: float = 36) -> None:
    """One marker per trial, colour and shape by its observed regime (or contrast label)."""
    for regime in (*CALLS, *CONTRAST_LABELS):
        one = points.filter(pl.col("regime") == regime)
        if one.height:
            ax.scatter(
                one[x].to_numpy(),
                one[y].to_numpy(),
                s=size,
                marker=REGIME_MARKERS[regime],
                color=REGIME_COLORS[regime],
                edgecolor="black",
                linewidth=0.7,
                zorder=5,
                clip_on=False,  # a trial on the spec's bounds is drawn whole
                gid=f"trials:{regime}",
            )


def _title(kind: str, fit: PhaseFit | ContinuousMap, n: int, pooled: Sequence[str] = ()) -> str:
    where = condition_text(fit.conditions)
    extra = [where] if where else []
    if pooled:
        extra.append("pooled over " + ", ".join(symbol(p) for p in pooled))
    extra.append(f"{n} trials")
    return f"{kind}: {symbol(fit.x.key)} × {symbol(fit.y.key)}\n({'; '.join(extra)})"


def phase_diagram(fit: PhaseFit, *, title: str | None = None) -> Figure:
    """The regime map over the spec's bounds: the most likely regime (colour, paler where less
    probable), its regions' edges (black lines), the area where fewer than `band_level` of the
    posterior draws agree outlined (dashed) without covering the colours, and the trials as
    markers of their observed regime; the legend below."""
    with sns.axes_style(STYLE):
        fig, (ax,) = new_figure(1, width=6.0, height=6.0)
        handles = regime_panel(ax, fit, fit.points)
        legend_below(ax, handles)
        ax.set_title(title or _title("Regimes", fit, fit.n_trials, fit.pooled_over), fontsize=10)
    return fig


def regime_panel(
    ax: Axes, fit: PhaseFit, points: pl.DataFrame, *, band_share: bool = True
) -> list[Artist]:
    """One map on `ax` with `points` as its trials; returns the legend's handles (the band's
    with its share of the map unless `band_share` is off, for a legend shared by panels)."""
    k = len(fit.regimes)
    confidence = np.clip((fit.proba.max(-1) - 1 / k) / (1 - 1 / k), 0, 1)  # 0 tie, 1 sure
    rgba = np.array([to_rgba(REGIME_COLORS.get(r, (0.5, 0.5, 0.5))) for r in fit.regimes])[
        fit.proba.argmax(-1)
    ]
    rgba[..., 3] = 0.2 + 0.45 * confidence
    ax.pcolormesh(
        fit.grid_x, fit.grid_y, rgba, shading="nearest", rasterized=True, gid="regime-map"
    )
    unsure = fit.uncertain.any() and not fit.uncertain.all()
    if unsure:
        ax.contour(
            fit.grid_x,
            fit.grid_y,
            fit.agreement,
            levels=[fit.band_level],
            colors="0.25",
            linewidths=1.2,
            linestyles="--",
        )
    _draw_boundaries(ax, fit)
    _draw_trials(ax, points, fit.x.key, fit.y.key)
    _scale_axes(ax, fit)
    handles: list[Artist] = [
        Patch(facecolor=REGIME_COLORS[r], alpha=0.6, label=REGIME_LABELS.get(r, r))
        for r in fit.regimes
    ]
    handles.append(Line2D([], [], color="black", lw=2.2, label="boundary"))
    share = f" ({fit.uncertain.mean():.0%} of the map)" if band_share else ""
    handles.append(
        Line2D(
            [],
            [],
            color="0.25",
            lw=1.2,
            ls="--" if unsure or not band_share else "",
            label=f"< {fit.band_level:.0%} of posterior draws agree{share}",
        )
    )
    shown = set(points.get_column("regime").unique().to_list())
    handles += [trial_marker(r, f"trial: {r}") for r in (*CALLS, *CONTRAST_LABELS) if r in shown]
    return handles


def legend_below(ax: Axes, handles: list[Artist]) -> None:
    ax.legend(  # below the axes: a legend beside them left an empty half
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=2,
        fontsize=8,
        frameon=False,
    )


def regime_scatter(
    points: pl.DataFrame,
    x: str,
    y: str,
    *,
    log_x: bool = False,
    log_y: bool = False,
    note: str = "",
) -> Figure:
    """Trials by observed regime without a fitted map (when a fit is impossible, e.g. one regime)."""
    with sns.axes_style(STYLE):
        fig, (ax,) = new_figure(1, width=6.4, height=5.0)
        _draw_trials(ax, points, x, y)
        set_scale(ax, "x", log_x)
        set_scale(ax, "y", log_y)
        ax.set_xlabel(axis_label(x))
        ax.set_ylabel(axis_label(y))
        present = [r for r in CALLS if r in set(points["regime"].to_list())]
        ax.legend(
            handles=[trial_marker(r, REGIME_LABELS[r]) for r in present], loc="best", fontsize=8
        )
        ax.set_title(
            f"Trials by regime: {symbol(x)} × {symbol(y)}"
            + (f"\n{textwrap.fill(note, 70)}" if note else ""),
            fontsize=10,
        )
    return fig


def _varies(values: np.ndarray, tol: float = 1e-3) -> bool:
    return bool(np.nanmax(values) - np.nanmin(values) > tol)


def continuous_maps(maps: Mapping[str, ContinuousMap], fit: PhaseFit | None = None) -> Figure:
    """With a phase fit, a first row of its per-regime probability panels (the same field the
    phase diagram draws, so they share its boundaries and its smoothness); then one panel per
    metric: GP posterior mean (colour), posterior sd (dotted contours), the trials (dots), and
    the regime boundaries of `fit`. Panels with nothing to show (a flat field) are left out."""
    maps = {metric: m for metric, m in maps.items() if _varies(m.mean)}
    regimes = (
        [] if fit is None else [r for i, r in enumerate(fit.regimes) if _varies(fit.proba[..., i])]
    )
    rows = [row for row in (regimes, list(maps)) if row]
    ncols = max((len(row) for row in rows), default=1)
    with sns.axes_style(STYLE):
        fig = Figure(figsize=(4.6 * ncols, 4.0 * max(len(rows), 1)), layout="constrained")
        grid = fig.subplots(max(len(rows), 1), ncols, squeeze=False)
        r = 0
        if regimes and fit is not None:
            for ax, regime in zip(grid[r], regimes, strict=False):
                _probability_panel(fig, ax, fit, regime)
            r += 1
        for ax, (metric, m) in zip(grid[r] if maps else [], maps.items(), strict=False):
            _metric_panel(fig, ax, metric, m, fit)
        for row, names in zip(grid, rows, strict=False):
            for ax in row[len(names) :]:
                ax.set_axis_off()
        source = next(iter(maps.values()), None) or fit
        if source is not None:
            where = condition_text(source.conditions)
            fig.suptitle(
                "Regime probabilities (phase fit) and continuous maps (GP mean; dotted: posterior sd)"
                + (f"; {where}" if where else ""),
                fontsize=11,
            )
    return fig


def _probability_panel(fig: Figure, ax: Axes, fit: PhaseFit, regime: str) -> None:
    """P(regime) over the map: the phase fit's posterior mean, with its boundaries and trials."""
    k = fit.regimes.index(regime)
    mesh = ax.pcolormesh(
        fit.grid_x,
        fit.grid_y,
        fit.proba[..., k],
        shading="nearest",
        cmap=sns.light_palette(REGIME_COLORS.get(regime, (0.5, 0.5, 0.5)), as_cmap=True),
        vmin=0.0,
        vmax=1.0,
        rasterized=True,
    )
    fig.colorbar(mesh, ax=ax, shrink=0.85)
    _draw_boundaries(ax, fit)
    _draw_trials(ax, fit.points, fit.x.key, fit.y.key, size=20)
    _scale_axes(ax, fit)
    ax.set_title(f"P({REGIME_LABELS.get(regime, regime)})", fontsize=10)


def _metric_panel(
    fig: Figure, ax: Axes, metric: str, m: ContinuousMap, fit: PhaseFit | None
) -> None:
    base = TRANSIENCE if metric.startswith(TRANSIENCE) else metric  # any protocol's
    mesh = ax.pcolormesh(
        m.grid_x,
        m.grid_y,
        m.mean,
        shading="nearest",
        cmap=MAP_CMAPS.get(base, "viridis"),
        vmin=0.0,
        vmax=1.0 if base != TRANSIENCE else max(0.05, float(np.nanmax(m.mean))),
        rasterized=True,
    )
    fig.colorbar(mesh, ax=ax, shrink=0.85)
    levels = [lv for lv in (0.05, 0.1, 0.2) if m.sd.min() < lv < m.sd.max()]
    if levels:  # named in the title: in-line labels were cut at the frame
        ax.contour(
            m.grid_x, m.grid_y, m.sd, levels=levels, colors="white", linewidths=0.8, linestyles=":"
        )
    ax.scatter(
        m.points[m.x.key].to_numpy(),
        m.points[m.y.key].to_numpy(),
        s=8,
        color="black",
        zorder=4,
        clip_on=False,
    )
    if fit is not None:
        _draw_boundaries(ax, fit, color="white")
    _scale_axes(ax, fit if fit is not None else m)
    named = f"; sd {', '.join(f'{lv:g}' for lv in levels)}" if levels else ""
    ax.set_title(f"{metric_label(metric, world=m.world)}{named}", fontsize=10)
