"""The effect of forgetting beyond the embedding scale (`analysis.effects`), one panel per metric
(structural ICL, head IWL), each forgetting point coloured by run − control on a diverging scale
centred on 0 and outlined where the effect clears the contrast margin: as cells for a grid, as
markers at their coordinates for a sampled study (cells for every distinct value of a continuous
axis were a sparse diagonal, 5,440 pixels wide at 11 points)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analysis.figures.labels import axis_label, format_value, metric_label, symbol
from analysis.figures.style import STYLE, new_figure, set_scale
from analysis.scalars import optional_float
from study.metric_names import CONTROL_SUFFIX as CONTROL
from study.metric_names import EFFECT_SUFFIX as EFFECT

SCALE_MIN = 0.2  # the colour scale spans at least ±0.2, so noise-sized effects stay pale
MAX_CELLS = 8  # an axis with more distinct values than this is drawn to scale, not as cells


def _scale_top(points: pl.DataFrame, metrics: Sequence[str]) -> float:
    """The colour scale's ± limit: the largest |effect|, at least SCALE_MIN."""
    return max(SCALE_MIN, *(optional_float(points[m + EFFECT].abs().max()) or 0.0 for m in metrics))


def _norm(top: float) -> TwoSlopeNorm:
    return TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top)


def _caption(x: str, y: str | None, margin: float, marks: str) -> str:
    where = f"{symbol(x)}" + (f" × {symbol(y)}" if y else "")
    return (
        f"Effect of forgetting beyond the embedding scale over {where}\n"
        f"(control: no forgetting, embeddings at the reset std; outlined: |effect| ≥ {margin:g}; "
        f"{marks})"
    )


def effect_map(
    points: pl.DataFrame,
    x: str,
    y: str | None,
    metrics: Sequence[str],
    *,
    orders: dict[str, list[object]] | None = None,
    title: str = "",
    world: str = "pos",
) -> Figure:
    """Cells over `x` (× `y`), one panel per metric of `metrics` (run − control), named in the
    words of the trials' `world`."""
    orders = orders or {}
    xs = orders.get(x) or sorted(points[x].unique().to_list())
    ys = (orders.get(y) or sorted(points[y].unique().to_list())) if y else [None]
    margin = float(points["margin"][0])
    top = _scale_top(points, metrics)
    norm = _norm(top)
    with sns.axes_style(STYLE):
        fig, panels = new_figure(
            len(metrics), width=1.6 + 1.5 * len(xs), height=1.6 + 1.1 * len(ys)
        )
        for ax, metric in zip(panels, metrics, strict=True):
            grid = np.full((len(ys), len(xs)), np.nan)
            cells = [
                (xs.index(row[x]), ys.index(row[y] if y else None), row)
                for row in points.iter_rows(named=True)
            ]
            for i, j, row in cells:
                grid[j, i] = row[metric + EFFECT]
            image = ax.imshow(grid, cmap="RdBu_r", norm=norm, origin="lower", aspect="auto")
            for i, j, row in cells:
                effect = row[metric + EFFECT]
                spread = f" ± {row[metric + EFFECT + '_sd']:.2f}" if row["n"] > 1 else ""
                ax.text(
                    i,
                    j,
                    f"{effect:+.2f}{spread}\n{row[metric]:.2f} − {row[metric + CONTROL]:.2f}"
                    f"\nn = {row['n']}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if abs(effect) > 0.6 * top else "black",
                )
                if abs(effect) >= margin:
                    ax.add_patch(
                        Rectangle(
                            (i - 0.47, j - 0.47),
                            0.94,
                            0.94,
                            fill=False,
                            ec="black",
                            lw=2.5,
                            zorder=3,
                        )
                    )
            ax.set_xticks(range(len(xs)), [format_value(v) for v in xs])
            ax.set_xlabel(axis_label(x))
            if y:
                ax.set_yticks(range(len(ys)), [format_value(v) for v in ys])
                ax.set_ylabel(axis_label(y))
            else:
                ax.set_yticks([])
            ax.grid(False)
            ax.set_title(f"{metric_label(metric, world=world)}: run − control", fontsize=9)
            fig.colorbar(image, ax=ax, shrink=0.8, label="run − control")
        fig.suptitle(
            title
            or _caption(x, y, margin, "cell text: effect (± sd over seeds), run − control, seeds"),
            fontsize=9,
        )
    return fig


def effect_scatter(
    points: pl.DataFrame,
    x: str,
    y: str,
    metrics: Sequence[str],
    *,
    bounds: Mapping[str, tuple[float, float]],
    log_scales: Mapping[str, bool],
    title: str = "",
    world: str = "pos",
) -> Figure:
    """Markers at each sampled point's (x, y), one panel per metric, the axes at the spec's
    bounds (log where the spec sampled on a log scale)."""
    margin = float(points["margin"][0])
    norm = _norm(_scale_top(points, metrics))
    with sns.axes_style(STYLE):
        fig, panels = new_figure(len(metrics), width=5.2, height=4.6)
        for ax, metric in zip(panels, metrics, strict=True):
            effect = points[metric + EFFECT].to_numpy()
            clears = np.abs(effect) >= margin
            image = ax.scatter(
                points[x].to_numpy(),
                points[y].to_numpy(),
                c=effect,
                cmap="RdBu_r",
                norm=norm,
                s=np.where(clears, 90, 55),
                edgecolors=np.where(clears, "black", "0.6"),
                linewidths=np.where(clears, 2.0, 0.8),
                clip_on=False,  # a point on the bounds stays whole
                zorder=3,
            )
            for key, which, set_lim in ((x, "x", ax.set_xlim), (y, "y", ax.set_ylim)):
                set_scale(ax, which, bool(log_scales.get(key)))  # plain numbers, as the maps
                if key in bounds:
                    set_lim(*bounds[key])
            ax.set_xlabel(axis_label(x))
            ax.set_ylabel(axis_label(y))
            ax.set_title(f"{metric_label(metric, world=world)}: run − control", fontsize=9)
            fig.colorbar(image, ax=ax, shrink=0.8, label="run − control")
        marks = "marker colour: the mean effect over the point's seeds"
        fig.suptitle(title or _caption(x, y, margin, marks), fontsize=9)
    return fig
