"""Figures: functions that take tidy polars frames and return matplotlib Figures.

Nothing here shows or saves a figure: the CLI and notebooks do (`fig.savefig`). Figures are built
with `matplotlib.figure.Figure` directly, not pyplot, so no display or global figure registry is
involved; seaborn supplies the style.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import seaborn as sns
from matplotlib.figure import Figure

STYLE = "whitegrid"

# One panel per question a learning curve answers; a metric missing from a frame is skipped.
TRIAL_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "structural ICL (held-out tokens)",
        ("icl.structural.paper", "icl.structural.init", "icl.structural.matched"),
    ),
    ("head (frequent) tokens, roles swapped", ("icl.head", "iwl.head")),
    ("tail (rare) tokens, roles swapped", ("icl.tail", "iwl.tail")),
    ("accuracy", ("acc.val", "acc.tail")),
)

METRIC_LABELS: dict[str, str] = {
    "icl.structural": "structural ICL",
    "icl.structural.paper": "structural ICL (paper protocol)",
    "icl.structural.init": "structural ICL (init protocol)",
    "icl.structural.matched": "structural ICL (matched protocol)",
    "icl.head": "ICL, head",
    "iwl.head": "IWL, head",
    "icl.tail": "ICL, tail",
    "iwl.tail": "IWL, tail",
    "acc.val": "val accuracy",
    "acc.tail": "tail accuracy",
    "transience": "transience (peak − final)",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def trial_learning_curves(
    curves: pl.DataFrame,
    *,
    threshold: float | None = 0.5,
    title: str | None = None,
    panels: Sequence[tuple[str, Sequence[str]]] = TRIAL_PANELS,
) -> Figure:
    """One trial's learning curves: structural ICL under the three protocols, head and tail
    ICL/IWL, and accuracies against step.

    `curves` is long: columns `step`, `metric`, `value` (extra columns are ignored). A dotted line
    marks the regime threshold (DESIGN.md §5) on the ICL/IWL panels.
    """
    present = set(curves.get_column("metric").unique().to_list()) if curves.height else set()
    shown = [(name, [m for m in metrics if m in present]) for name, metrics in panels]
    if shown and not shown[0][1] and "icl.structural" in present:  # only the headline was logged
        shown[0] = (shown[0][0], ["icl.structural"])
    shown = [(name, metrics) for name, metrics in shown if metrics] or [
        (p[0], []) for p in panels[:1]
    ]
    with sns.axes_style(STYLE):
        fig = Figure(figsize=(4.2 * len(shown), 3.4), layout="constrained")
        axes = fig.subplots(1, len(shown), sharey=True, squeeze=False)[0]
        for ax, (name, metrics) in zip(axes, shown, strict=True):
            for metric in metrics:
                one = curves.filter(pl.col("metric") == metric).sort("step")
                ax.plot(one["step"].to_numpy(), one["value"].to_numpy(), label=metric_label(metric))
            if threshold is not None and name != "accuracy":
                ax.axhline(threshold, color="0.4", ls=":", lw=1)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("training step")
            ax.set_ylim(-0.03, 1.03)
            if metrics:
                ax.legend(fontsize=8, loc="best")
        axes[0].set_ylabel("share of examples")
        if title:
            fig.suptitle(title)
    return fig
