"""Figures: functions that take tidy frames (or a fit holding them) and return matplotlib Figures.

Nothing here shows or saves a figure: the CLI and notebooks do (`fig.savefig`). Figures are built
with `matplotlib.figure.Figure` directly, not pyplot, so no display or global figure registry is
involved; seaborn supplies the style and palettes.
"""

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
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from analysis.labels import REGIME_LABELS, axis_label, condition_text, metric_label, symbol
from analysis.regimes import REGIMES

if TYPE_CHECKING:  # sklearn stays unimported for callers that only draw curves
    from analysis.maps import ContinuousMap
    from analysis.phase import PhaseFit

STYLE = "whitegrid"
_PALETTE = sns.color_palette("colorblind")
REGIME_COLORS: dict[str, tuple] = {
    "dual": _PALETTE[4],
    "icl": _PALETTE[0],
    "iwl": _PALETTE[1],
    "none": (0.6, 0.6, 0.6),
}
REGIME_MARKERS: dict[str, str] = {"dual": "D", "icl": "o", "iwl": "s", "none": "X"}
MAP_CMAPS: dict[str, str] = {"transience": "rocket_r"}

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
# The paper's Fig. 3: structural ICL, then ICL (solid) and IWL (dashed) on head and tail tokens.
SETTING_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("structural ICL (held-out tokens)", ("icl.structural",)),
    ("head (frequent) tokens", ("icl.head", "iwl.head")),
    ("tail (rare) tokens", ("icl.tail", "iwl.tail")),
)


def _figure(ncols: int, width: float = 4.2, height: float = 3.6) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def _set_scale(ax, which: str, log: bool) -> None:
    """Log axes read in plain numbers (100, 1000), not 10^k, with unlabelled minor ticks."""
    getattr(ax, f"set_{which}scale")("log" if log else "linear")
    axis = getattr(ax, f"{which}axis")
    if log:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _scale_axes(ax, fit: PhaseFit | ContinuousMap) -> None:
    _set_scale(ax, "x", fit.x.log)
    _set_scale(ax, "y", fit.y.log)
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
    for regime in REGIMES:
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
        fig, (ax,) = _figure(1, width=7.2, height=5.6)
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
        handles += [
            Line2D(
                [],
                [],
                ls="",
                marker=REGIME_MARKERS[r],
                color=REGIME_COLORS[r],
                mec="black",
                label=f"trial: {r}",
            )
            for r in fit.regimes
        ]
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
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
        fig, (ax,) = _figure(1, width=6.4, height=5.0)
        _draw_trials(ax, points, x, y)
        _set_scale(ax, "x", log_x)
        _set_scale(ax, "y", log_y)
        ax.set_xlabel(axis_label(x))
        ax.set_ylabel(axis_label(y))
        present = [r for r in REGIMES if r in set(points["regime"].to_list())]
        ax.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    ls="",
                    marker=REGIME_MARKERS[r],
                    color=REGIME_COLORS[r],
                    mec="black",
                    label=REGIME_LABELS[r],
                )
                for r in present
            ],
            loc="best",
            fontsize=8,
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
        fig, axes = _figure(max(len(maps), 1), width=4.6, height=4.0)
        for ax, (metric, m) in zip(axes, maps.items(), strict=False):
            base = metric.split(".")[0] if metric.startswith("transience") else metric
            mesh = ax.pcolormesh(
                m.grid_x,
                m.grid_y,
                m.mean,
                shading="nearest",
                cmap=MAP_CMAPS.get(base, "viridis"),
                vmin=0.0,
                vmax=1.0 if base != "transience" else max(0.05, float(np.nanmax(m.mean))),
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
    joined = curves.join(trials.select("run_id", pl.col(by).alias("_by")), on="run_id", how="inner")
    values = joined.get_column("_by").drop_nulls().unique().sort().to_list()
    colors = dict(zip(values, sns.color_palette("flare", len(values)), strict=True))
    with sns.axes_style(STYLE):
        fig, axes = _figure(len(panels), height=3.8)
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
                    if one["n"].max() > 1:
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
                label=f"{symbol(by)} = {v:g}"
                if isinstance(v, float | int)
                else f"{symbol(by)} = {v}",
            )
            for v in values
        ]
        if any(m.startswith("iwl") for _, ms in panels for m in ms):
            handles += [
                Line2D([], [], color="0.3", label="ICL"),
                Line2D([], [], color="0.3", dashes=(4, 2), label="IWL"),
            ]
        axes[-1].legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
        )
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
    deciles = curves.filter(pl.col("metric").str.starts_with("acc.decile."))
    if step is not None:
        deciles = deciles.filter(pl.col("step") <= step)
    last = deciles.sort("step").group_by("run_id", "metric").agg(pl.col("value").last())
    joined = last.join(
        trials.select("run_id", pl.col(by).alias("_by")), on="run_id", how="inner"
    ).with_columns(decile=pl.col("metric").str.strip_prefix("acc.decile.").cast(pl.Int64))
    values = joined.get_column("_by").drop_nulls().unique().sort().to_list()
    colors = dict(zip(values, sns.color_palette("flare", len(values)), strict=True))
    with sns.axes_style(STYLE):
        fig, (ax,) = _figure(1, width=5.6, height=4.0)
        summary = _mean_band(joined, ["_by", "decile"])
        for value in values:
            one = summary.filter(pl.col("_by") == value)
            x, mean, sd = (one[c].to_numpy() for c in ("decile", "mean", "sd"))
            ax.errorbar(
                x,
                mean,
                yerr=sd if one["n"].max() > 1 else None,
                color=colors[value],
                marker="o",
                ms=4,
                capsize=2,
                label=f"{symbol(by)} = {value:g}",
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
                ax.plot(
                    one["step"].to_numpy(),
                    one["value"].to_numpy(),
                    label=metric_label(metric, short=True),
                )
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


# Structural ICL of the same trials under each held-out protocol (DESIGN.md §2).
PROTOCOL_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("paper protocol", ("icl.structural.paper",)),
    ("init protocol", ("icl.structural.init",)),
    ("matched protocol", ("icl.structural.matched",)),
)


def protocol_comparison(by_protocol: pl.DataFrame) -> Figure:
    """The same trials under each held-out protocol: trials per regime (stacked bars) and the
    transience of each trial (dots), one row per protocol. `by_protocol` is
    `analysis.protocols.regimes_by_protocol(trials)`."""
    protocols = [
        p for p in ("paper", "init", "matched") if p in set(by_protocol["protocol"].to_list())
    ]
    with sns.axes_style(STYLE):
        fig, (bars, dots) = _figure(2, width=5.2, height=0.9 + 0.8 * len(protocols))
        for row, protocol in enumerate(protocols):
            one = by_protocol.filter(pl.col("protocol") == protocol)
            left = 0
            for regime in REGIMES:
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
        dots.set_xlabel(metric_label("transience"))
        dots.set_title("transience per trial (colour: regime)", fontsize=10)
    return fig
