"""Phase-diagram figures on discrete axes: one cell per grid point (`analysis.cells`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from analysis.figures.labels import (
    REGIME_LABELS,
    axis_label,
    condition_text,
    format_value,
    metric_label,
    symbol,
)
from analysis.figures.style import (
    MAP_CMAPS,
    REGIME_COLORS,
    REGIME_MARKERS,
    STYLE,
    new_figure,
    side_legend,
    trial_marker,
)
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD, TRANSIENCE
from study.regimes import CALLS

if TYPE_CHECKING:
    from analysis.cells import CellMap


def _cell_axes(ax: Axes, cells: CellMap) -> None:
    ax.set_xticks(range(len(cells.x_values)), [format_value(v) for v in cells.x_values])
    ax.set_yticks(range(len(cells.y_values)), [format_value(v) for v in cells.y_values])
    ax.set_xlim(-0.5, len(cells.x_values) - 0.5)
    ax.set_ylim(-0.5, len(cells.y_values) - 0.5)
    ax.set_xlabel(axis_label(cells.x))
    ax.set_ylabel(axis_label(cells.y))
    ax.grid(False)


def _ink(rgba: Sequence[float]) -> str:
    """Black text on a light cell, white on a dark one."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def cell_diagram(cells: CellMap, *, title: str | None = None) -> Figure:
    """Regimes on discrete axes: one cell per grid point coloured by its trials' most common
    regime (paler when replicates disagree, 'k/n' written in), thick black lines between cells of
    different regimes, and each trial as a marker coloured by its own regime."""
    xi = {v: i for i, v in enumerate(cells.x_values)}
    yi = {v: j for j, v in enumerate(cells.y_values)}
    with sns.axes_style(STYLE):
        fig, (ax,) = new_figure(
            1, width=2.2 + 1.5 * len(cells.x_values), height=1.8 + 1.2 * len(cells.y_values)
        )
        for row in cells.frame.iter_rows(named=True):
            i, j = xi[row[cells.x]], yi[row[cells.y]]
            color = REGIME_COLORS.get(row["regime"], (0.5, 0.5, 0.5))
            ax.add_patch(
                Rectangle(
                    (i - 0.5, j - 0.5),
                    1,
                    1,
                    facecolor=color,
                    alpha=0.25 + 0.45 * row["share"],
                    lw=0,
                )
            )
            agree = round(row["share"] * row["n"])
            label = row["regime"] + (f"\n{agree}/{row['n']} trials" if row["n"] > 1 else "")
            ax.text(i, j + 0.3, label, ha="center", va="center", fontsize=8)
        for _pair, xa, ya, xb, _yb in cells.boundaries().iter_rows():
            ia, ja, ib = xi[xa], yi[ya], xi[xb]
            if ia != ib:  # neighbours along x: a vertical line between them
                ax.plot(
                    [ia + 0.5, ia + 0.5],
                    [ja - 0.5, ja + 0.5],
                    color="black",
                    lw=3,
                    solid_capstyle="butt",
                )
            else:
                ax.plot(
                    [ia - 0.5, ia + 0.5],
                    [ja + 0.5, ja + 0.5],
                    color="black",
                    lw=3,
                    solid_capstyle="butt",
                )
        for (xv, yv), group in cells.points.group_by(cells.x, cells.y):
            offsets = np.linspace(-0.25, 0.25, group.height) if group.height > 1 else np.zeros(1)
            for offset, regime in zip(offsets, group["regime"], strict=True):
                ax.scatter(
                    xi[xv] + offset,
                    yi[yv] - 0.1,
                    s=40,
                    marker=REGIME_MARKERS.get(regime, "o"),
                    color=REGIME_COLORS.get(regime, (0.5, 0.5, 0.5)),
                    edgecolor="black",
                    linewidth=0.7,
                    zorder=5,
                    gid=f"trials:{regime}",
                )
        _cell_axes(ax, cells)
        present = [r for r in CALLS if r in set(cells.points["regime"].to_list())]
        handles: list[Artist] = [
            Patch(facecolor=REGIME_COLORS[r], alpha=0.6, label=REGIME_LABELS[r]) for r in present
        ]
        handles += [Line2D([], [], color="black", lw=3, label="boundary (regimes differ)")]
        handles += [trial_marker(r, f"trial: {r}") for r in present]
        side_legend(ax, handles)
        where = condition_text(cells.conditions)
        ax.set_title(
            title
            or f"Regimes: {symbol(cells.x)} × {symbol(cells.y)}\n({where + '; ' if where else ''}{cells.points.height} trials)",
            fontsize=10,
        )
    return fig


def _shows(values: pl.Series) -> bool:
    return bool(values.drop_nulls().abs().max() or 0) if values.len() else False


def cell_maps(
    cells: CellMap, metrics: Sequence[str] = (ICL_STRUCTURAL, IWL_HEAD, TRANSIENCE)
) -> Figure:
    """Mean of each metric per cell, written in: the gradients behind the regime cells. A
    metric that is zero in every cell (transience of runs that never rose) is left out."""
    shown = [m for m in metrics if m in cells.frame.columns and _shows(cells.frame[m])]
    xi = {v: i for i, v in enumerate(cells.x_values)}
    yi = {v: j for j, v in enumerate(cells.y_values)}
    with sns.axes_style(STYLE):
        fig, axes = new_figure(
            max(len(shown), 1),
            width=1.6 + 1.3 * len(cells.x_values),
            height=1.6 + 1.0 * len(cells.y_values),
        )
        for ax, metric in zip(axes, shown, strict=False):
            grid = np.full((len(cells.y_values), len(cells.x_values)), np.nan)
            for row in cells.frame.iter_rows(named=True):
                grid[yi[row[cells.y]], xi[row[cells.x]]] = row[metric]
            base = TRANSIENCE if metric.startswith(TRANSIENCE) else metric  # any protocol's
            top = 1.0 if base != TRANSIENCE else max(0.05, float(np.nanmax(grid)))
            mesh = ax.pcolormesh(
                np.arange(len(cells.x_values)),
                np.arange(len(cells.y_values)),
                grid,
                shading="nearest",
                cmap=MAP_CMAPS.get(base, "viridis"),
                vmin=0.0,
                vmax=top,
            )
            fig.colorbar(mesh, ax=ax, shrink=0.85)
            for (j, i), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(
                        i,
                        j,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color=_ink(mesh.cmap(mesh.norm(value))),
                    )
            _cell_axes(ax, cells)
            if ax is not axes[0]:
                ax.set_ylabel("")
            ax.set_title(metric_label(metric, world=cells.world), fontsize=10)
        fig.suptitle("Mean per cell (over replicates)", fontsize=11)
    return fig
