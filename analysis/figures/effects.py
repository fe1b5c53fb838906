"""The effect of forgetting beyond the embedding scale (`analysis.effects`) as cells: one panel
per metric (structural ICL, head IWL), each cell a forgetting point coloured by run − control on
a diverging scale centred on 0, outlined where the effect clears the contrast margin."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analysis.figures.labels import axis_label, format_value, metric_label, symbol
from analysis.figures.style import STYLE, new_figure
from analysis.scalars import optional_float
from study.metric_names import CONTROL_SUFFIX as CONTROL
from study.metric_names import EFFECT_SUFFIX as EFFECT

SCALE_MIN = 0.2  # the colour scale spans at least ±0.2, so noise-sized effects stay pale


def effect_map(
    points: pl.DataFrame,
    x: str,
    y: str | None,
    metrics: Sequence[str],
    *,
    orders: dict[str, list[object]] | None = None,
    title: str = "",
) -> Figure:
    """Cells over `x` (× `y`), one panel per metric of `metrics` (run − control)."""
    orders = orders or {}
    xs = orders.get(x) or sorted(points[x].unique().to_list())
    ys = (orders.get(y) or sorted(points[y].unique().to_list())) if y else [None]
    margin = float(points["margin"][0])
    top = max(SCALE_MIN, *(optional_float(points[m + EFFECT].abs().max()) or 0.0 for m in metrics))
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top)
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
                ax.text(
                    i,
                    j,
                    f"{effect:+.2f}\n{row[metric]:.2f} − {row[metric + CONTROL]:.2f}\nn = {row['n']}",
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
            ax.set_title(f"{metric_label(metric)}: run − control", fontsize=9)
            fig.colorbar(image, ax=ax, shrink=0.8, label="run − control")
        where = f"{symbol(x)}" + (f" × {symbol(y)}" if y else "")
        fig.suptitle(
            title
            or f"Effect of forgetting beyond the embedding scale over {where}\n"
            f"(control: no forgetting, embeddings at the reset std; outlined: |effect| ≥ {margin:g}; "
            "cell text: effect, run − control, seeds)",
            fontsize=9,
        )
    return fig
