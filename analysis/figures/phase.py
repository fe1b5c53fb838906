"""Phase-diagram figures: the fitted regime map, the continuous maps, the trials by regime when no
map can be fitted. Each takes a fit and returns a Figure."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import polars as pl
import seaborn as sns
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
    side_legend,
    trial_marker,
)
from study.metric_names import TRANSIENCE
from study.regimes import CALLS

if TYPE_CHECKING:
    from analysis.maps import ContinuousMap
    from analysis.phase import PhaseFit


def _scale_axes(ax, fit: PhaseFit | ContinuousMap) -> None:
    set_scale(ax, "x", fit.x.log)
    set_scale(ax, "y", fit.y.log)
    ax.set_xlim(fit.x.low, fit.x.high)
    ax.set_ylim(fit.y.low, fit.y.high)
    ax.set_xlabel(axis_label(fit.x.key))
    ax.set_ylabel(axis_label(fit.y.key))
    ax.grid(False)


def _draw_boundaries(ax, fit: PhaseFit, color: str = "black") -> list:
    """One contour set per regime pair, at p_a = p_b."""
    sets = []
    for diff in fit.pair_fields().values():
        if np.nanmin(diff) < 0 < np.nanmax(diff):
            sets.append(
                ax.contour(fit.grid_x, fit.grid_y, diff, levels=[0.0], colors=color, linewidths=2.2)
            )
    return sets


def _draw_trials(ax, points: pl.DataFrame, x: str, y: str, *, size: float = 36) -> None:
    """One marker per trial, colour and shape by its observed regime."""
    for regime in CALLS:
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
    """The regime map: most likely regime (colour, paler where less probable), boundaries where
    the two most likely regimes are equally likely (black lines), the bootstrap uncertainty band
    (hatched), and the trials as markers coloured by their observed regime."""
    with sns.axes_style(STYLE), mpl.rc_context({"hatch.color": "0.3", "hatch.linewidth": 0.6}):
        fig, (ax,) = new_figure(1, width=7.2, height=5.6)
        k = len(fit.regimes)
        confidence = np.clip(
            (fit.proba.max(-1) - 1 / k) / (1 - 1 / k), 0, 1
        )  # 0 at a tie, 1 certain
        rgba = np.array([to_rgba(REGIME_COLORS.get(r, (0.5, 0.5, 0.5))) for r in fit.regimes])[
            fit.proba.argmax(-1)
        ]
        rgba[..., 3] = 0.2 + 0.45 * confidence
        ax.pcolormesh(
            fit.grid_x, fit.grid_y, rgba, shading="nearest", rasterized=True, gid="regime-map"
        )
        if fit.uncertain.any() and not fit.uncertain.all():
            ax.contourf(
                fit.grid_x,
                fit.grid_y,
                fit.agreement,
                levels=[0.0, fit.band_level],
                colors="none",
                hatches=["////"],
            )
        elif fit.uncertain.all():
            ax.contourf(
                fit.grid_x,
                fit.grid_y,
                fit.agreement,
                levels=[-0.01, 1.01],
                colors="none",
                hatches=["////"],
            )
        _draw_boundaries(ax, fit)
        _draw_trials(ax, fit.points, fit.x.key, fit.y.key)
        _scale_axes(ax, fit)
        handles = [
            Patch(facecolor=REGIME_COLORS[r], alpha=0.6, label=REGIME_LABELS.get(r, r))
            for r in fit.regimes
        ]
        handles += [
            Line2D([], [], color="black", lw=2.2, label="boundary (equally likely)"),
            Patch(
                facecolor="white",
                edgecolor="0.3",
                hatch="////",
                label=f"uncertain (< {fit.band_level:.0%} of posterior draws agree)",
            ),
        ]
        shown = set(fit.points.get_column("regime").unique().to_list())
        handles += [trial_marker(r, f"trial: {r}") for r in CALLS if r in shown]
        side_legend(ax, handles)
        ax.set_title(title or _title("Regimes", fit, fit.n_trials, fit.pooled_over), fontsize=10)
    return fig


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


def continuous_maps(maps: Mapping[str, ContinuousMap], fit: PhaseFit | None = None) -> Figure:
    """One panel per metric: GP posterior mean (colour), posterior sd (dotted contours), the
    trials (dots), and the regime boundaries of `fit` when given."""
    with sns.axes_style(STYLE):
        fig, axes = new_figure(max(len(maps), 1), width=4.6, height=4.0)
        for ax, (metric, m) in zip(axes, maps.items(), strict=False):
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
            if levels:
                sd_lines = ax.contour(
                    m.grid_x,
                    m.grid_y,
                    m.sd,
                    levels=levels,
                    colors="white",
                    linewidths=0.8,
                    linestyles=":",
                )
                ax.clabel(sd_lines, fmt=lambda v: f"sd {v:g}", fontsize=7)
            ax.scatter(
                m.points[m.x.key].to_numpy(),
                m.points[m.y.key].to_numpy(),
                s=8,
                color="black",
                zorder=4,
            )
            if fit is not None:
                _draw_boundaries(ax, fit, color="white")
            _scale_axes(ax, m)
            ax.set_title(metric_label(metric), fontsize=10)
        for ax in axes[len(maps) :]:
            ax.set_axis_off()
        if maps:
            first = next(iter(maps.values()))
            where = condition_text(first.conditions)
            fig.suptitle(
                f"Continuous maps (GP mean; dotted: posterior sd){'; ' + where if where else ''}",
                fontsize=11,
            )
    return fig
