"""Learning-curve figures: one trial's curves, curves by setting (the paper's Fig. 3), accuracy by
token frequency, and the same trials under the three held-out protocols."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.figures.labels import REGIME_LABELS, metric_label, symbol
from analysis.figures.style import REGIME_COLORS, STYLE, new_figure, side_legend
from analysis.scalars import to_float, to_int
from study.config import PROTOCOLS
from study.metric_names import (
    DECILE_PREFIX,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    TRANSIENCE,
    structural,
)
from study.regimes import CALLS

# One panel per question a learning curve answers; a metric missing from a frame is skipped.
# The paper's Fig. 3: structural ICL, then ICL (solid) and IWL (dashed) on head and tail tokens.
SETTING_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("structural ICL (held-out tokens)", (ICL_STRUCTURAL,)),
    ("head (frequent) tokens", (ICL_HEAD, IWL_HEAD)),
    ("tail (rare) tokens", (ICL_TAIL, IWL_TAIL)),
)


MAX_SETTINGS = 8  # more distinct values than this are binned into BINS ranges
BINS = 5


def settings(trials: pl.DataFrame, by: str) -> tuple[pl.DataFrame, list[object], dict[object, str]]:
    """(run_id, _by) with `by` binned into ranges when it takes many values (a random or Sobol
    sweep), the ordered settings, and a legend label per setting."""
    column = trials.get_column(by)
    frame = trials.select("run_id", pl.col(by).alias("_by"))
    labels: dict[object, str]
    if column.dtype.is_numeric() and column.n_unique() > MAX_SETTINGS:
        edges = np.linspace(to_float(column.min()), to_float(column.max()), BINS + 1)
        index = np.clip(np.searchsorted(edges, column.to_numpy(), side="right") - 1, 0, BINS - 1)
        frame = frame.with_columns(_by=pl.Series(index, dtype=pl.Int64))
        labels = {i: f"{symbol(by)} ∈ [{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(BINS)}
    else:
        labels = {
            v: f"{symbol(by)} = {v:g}" if isinstance(v, float | int) else f"{symbol(by)} = {v}"
            for v in column.drop_nulls().unique().to_list()
        }
    values = frame.get_column("_by").drop_nulls().unique().sort().to_list()
    return frame, values, labels


def _mean_band(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    return (
        frame.group_by(*keys)
        .agg(mean=pl.col("value").mean(), sd=pl.col("value").std().fill_null(0.0), n=pl.len())
        .sort(*keys)
    )


def learning_curves(
    curves: pl.DataFrame,
    trials: pl.DataFrame,
    by: str = "task.zipf_exponent",
    *,
    panels: Sequence[tuple[str, Sequence[str]]] = SETTING_PANELS,
    threshold: float | None = 0.5,
) -> Figure:
    """Learning curves by setting, like the paper's Fig. 3: one colour per value of `by`, mean over
    the trials (replicates) with that value, ±1 sd shaded; ICL solid, IWL dashed."""
    if by not in trials.columns:
        raise KeyError(f"no param {by!r} in the trials")
    setting, values, labels = settings(trials, by)
    joined = curves.join(setting, on="run_id", how="inner")
    present = set(joined.get_column("metric").unique().to_list())
    # a world without a panel's metrics (the AR toy has no tail tokens) draws no empty panel
    panels = [(name, ms) for name, ms in panels if present.intersection(ms)] or list(panels[:1])
    colors = dict(zip(values, sns.color_palette("flare", len(values)), strict=True))
    with sns.axes_style(STYLE):
        fig, axes = new_figure(len(panels), height=3.8)
        for ax, (name, metrics) in zip(axes, panels, strict=True):
            for metric in metrics:
                dashes = (4, 2) if metric.startswith("iwl") else ()
                summary = _mean_band(joined.filter(pl.col("metric") == metric), ["_by", "step"])
                for value in values:
                    one = summary.filter(pl.col("_by") == value)
                    if not one.height:
                        continue
                    step, mean, sd = (one[c].to_numpy() for c in ("step", "mean", "sd"))
                    ax.plot(step, mean, color=colors[value], dashes=dashes, lw=1.6)
                    if to_int(one["n"].max()) > 1:
                        ax.fill_between(
                            step, mean - sd, mean + sd, color=colors[value], alpha=0.15, lw=0
                        )
            if threshold is not None:
                ax.axhline(threshold, color="0.4", ls=":", lw=1)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("training step")
            ax.set_ylim(-0.03, 1.03)
        axes[0].set_ylabel("share of examples")
        handles = [
            Line2D(
                [],
                [],
                color=colors[v],
                lw=2,
                label=labels[v],
            )
            for v in values
        ]
        if any(m.startswith("iwl") for _, ms in panels for m in ms):
            handles += [
                Line2D([], [], color="0.3", label="ICL"),
                Line2D([], [], color="0.3", dashes=(4, 2), label="IWL"),
            ]
        side_legend(axes[-1], handles)
    return fig


def accuracy_by_frequency(
    curves: pl.DataFrame,
    trials: pl.DataFrame,
    by: str = "task.zipf_exponent",
    *,
    step: int | None = None,
) -> Figure:
    """Val accuracy against the training frequency of the query token (decile of its rank in its
    class, 0 = most frequent), at `step` (default: each trial's last evaluation), one line per
    value of `by`, mean over trials ± 1 sd."""
    deciles = curves.filter(pl.col("metric").str.starts_with(DECILE_PREFIX))
    if step is not None:
        deciles = deciles.filter(pl.col("step") <= step)
    last = deciles.sort("step").group_by("run_id", "metric").agg(pl.col("value").last())
    setting, values, labels = settings(trials, by)
    joined = last.join(setting, on="run_id", how="inner").with_columns(
        decile=pl.col("metric").str.strip_prefix(DECILE_PREFIX).cast(pl.Int64)
    )
    values = joined.get_column("_by").drop_nulls().unique().sort().to_list()
    colors = dict(zip(values, sns.color_palette("flare", len(values)), strict=True))
    with sns.axes_style(STYLE):
        fig, (ax,) = new_figure(1, width=5.6, height=4.0)
        summary = _mean_band(joined, ["_by", "decile"])
        for value in values:
            one = summary.filter(pl.col("_by") == value)
            x, mean, sd = (one[c].to_numpy() for c in ("decile", "mean", "sd"))
            ax.errorbar(
                x,
                mean,
                yerr=sd if to_int(one["n"].max()) > 1 else None,
                color=colors[value],
                marker="o",
                ms=4,
                capsize=2,
                label=labels[value],
            )
        ax.set_xticks(range(10))
        ax.set_xlabel("training frequency of the query token (decile; 0 = most frequent)")
        ax.set_ylabel("val accuracy")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=8)
        ax.set_title(
            "Accuracy by token frequency"
            + (f" at step {step}" if step is not None else " (end of training)"),
            fontsize=10,
        )
    return fig


# Structural ICL of the same trials under each held-out protocol (docs/design.md §2).
PROTOCOL_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (f"{p} protocol", (structural(p),)) for p in PROTOCOLS
)


def protocol_comparison(by_protocol: pl.DataFrame) -> Figure:
    """The same trials under each held-out protocol: trials per regime (stacked bars) and the
    transience of each trial (dots), one row per protocol. `by_protocol` is
    `analysis.protocols.regimes_by_protocol(trials)`."""
    protocols = [
        p for p in ("paper", "init", "matched") if p in set(by_protocol["protocol"].to_list())
    ]
    with sns.axes_style(STYLE):
        fig, (bars, dots) = new_figure(2, width=5.2, height=0.9 + 0.8 * len(protocols))
        for row, protocol in enumerate(protocols):
            one = by_protocol.filter(pl.col("protocol") == protocol)
            left = 0
            for regime in CALLS:
                n = int((one["regime"] == regime).sum())
                bars.barh(
                    row,
                    n,
                    left=left,
                    color=REGIME_COLORS[regime],
                    edgecolor="white",
                    label=REGIME_LABELS[regime] if row == 0 else None,
                )
                left += n
            values = one["transience"].drop_nulls().to_numpy()
            jitter = (
                np.linspace(-0.25, 0.25, values.size) if values.size > 1 else np.zeros(values.size)
            )
            colors = [
                REGIME_COLORS.get(r, (0.5, 0.5, 0.5))
                for r in one.filter(pl.col("transience").is_not_null())["regime"]
            ]
            dots.scatter(values, row + jitter, s=14, c=colors, edgecolor="black", linewidth=0.3)
        for ax in (bars, dots):
            ax.set_yticks(range(len(protocols)), protocols)
            ax.invert_yaxis()
        bars.set_xlabel("trials")
        bars.set_title("regime of the same trials", fontsize=10)
        bars.legend(
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(0, -0.25 - 0.1 / max(len(protocols), 1)),
            ncol=2,
            frameon=False,
        )
        dots.set_xlabel(metric_label(TRANSIENCE))
        dots.set_title("transience per trial (colour: regime)", fontsize=10)
    return fig
