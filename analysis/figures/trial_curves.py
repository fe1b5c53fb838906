"""One trial's learning curves: the figure each trial's MLflow run carries.

A 2 × 2 grid — structural ICL under the three held-out protocols, head and tail tokens with
their roles swapped (ICL and IWL), accuracies — against a log-scaled step axis (evaluations are
log-spaced), with a marker at each evaluation, the regime threshold drawn and labelled, and the
resets of a forgetting run marked along the top. The title names the run: its point, seed and
regime. Panels with nothing to show are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.figures.labels import metric_label
from analysis.figures.style import STYLE
from analysis.scalars import to_float, to_int
from study.config import PROTOCOLS
from study.metric_names import (
    ACC_TAIL,
    ACC_VAL,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    structural,
)

TRIAL_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("structural ICL (held-out tokens)", tuple(structural(p) for p in PROTOCOLS)),
    ("head (frequent) tokens, roles swapped", (ICL_HEAD, IWL_HEAD)),
    ("tail (rare) tokens, roles swapped", (ICL_TAIL, IWL_TAIL)),
    ("accuracy", (ACC_VAL, ACC_TAIL)),
)
MAX_RESET_LINES = 40  # beyond this many resets, a rug along the top instead of lines


def trial_learning_curves(
    curves: pl.DataFrame,
    *,
    threshold: float | None = 0.5,
    title: str | None = None,
    resets: Sequence[int] = (),
    panels: Sequence[tuple[str, Sequence[str]]] = TRIAL_PANELS,
) -> Figure:
    """`curves` is long: columns `step`, `metric`, `value` (extra columns are ignored)."""
    present = set(curves.get_column("metric").unique().to_list()) if curves.height else set()
    shown = [(name, [m for m in metrics if m in present]) for name, metrics in panels]
    if shown and not shown[0][1] and ICL_STRUCTURAL in present:  # only the headline was logged
        shown[0] = (shown[0][0], [ICL_STRUCTURAL])
    shown = [(name, metrics) for name, metrics in shown if metrics] or [
        (p[0], []) for p in panels[:1]
    ]
    cols = 1 if len(shown) == 1 else 2
    rows = (len(shown) + cols - 1) // cols
    with sns.axes_style(STYLE):
        fig = Figure(figsize=(4.6 * cols, 3.3 * rows + 0.5), layout="constrained")
        grid = fig.subplots(rows, cols, sharey=True, squeeze=False)
        axes = grid.ravel()
        for ax in axes[len(shown) :]:
            fig.delaxes(ax)
        steps = curves.get_column("step") if curves.height else pl.Series([], dtype=pl.Int64)
        for ax, (name, metrics) in zip(axes, shown, strict=False):
            for metric in metrics:
                one = curves.filter(pl.col("metric") == metric).sort("step")
                ax.plot(
                    one["step"].to_numpy(),
                    one["value"].to_numpy(),
                    marker="o",
                    markersize=2.5,
                    label=metric_label(metric, short=True),
                )
            if threshold is not None and name != "accuracy":
                ax.axhline(threshold, color="0.4", ls=":", lw=1, label=f"threshold {threshold:g}")
            _mark_resets(ax, resets)
            ax.set_title(name, fontsize=10)
            ax.set_ylim(-0.03, 1.07)
            if steps.len() and to_float(steps.max()) > 0:
                ax.set_xscale("symlog", linthresh=max(1, to_int(steps.filter(steps > 0).min())))
            if metrics:
                ax.legend(fontsize=7, loc="best")
        for ax in grid[-1]:
            ax.set_xlabel("training step (log scale)")
        for row in grid:
            row[0].set_ylabel("share of examples")
        if title:
            fig.suptitle(title, fontsize=11)
    return fig


def _mark_resets(ax: Axes, resets: Sequence[int]) -> None:
    """Every reset as a faint line; a long schedule as ticks along the top."""
    if not resets:
        return
    if len(resets) <= MAX_RESET_LINES:
        for step in resets:
            ax.axvline(step, color="0.75", lw=0.6, zorder=0)
        ax.plot([], [], color="0.75", lw=0.6, label="embedding reset")
    else:
        ax.plot(resets, [1.045] * len(resets), "|", color="0.5", ms=4, label="embedding reset")
