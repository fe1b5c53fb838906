"""The boundary benchmark's report: the summary over seeds, the verdicts against issue 12's
targets, where the boundary sampler's proposals went, the figures and the files
(`benchmarks/boundary.py` documents the choices: *Verdicts*)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.figure import Figure

from analysis.figures.save import save_figure
from analysis.figures.style import REGIME_COLORS, STYLE, set_scale
from benchmarks.boundary_error import METRICS, reference
from benchmarks.boundary_maps import AXES, REGIMES, SIGMA
from benchmarks.boundary_runs import SAMPLERS

TARGET_RATIO = 1 / 3
FACE = 0.05  # a trial this close to a face of the cube is "at a face"
SAMPLER_COLORS = dict(zip(SAMPLERS, sns.color_palette("colorblind", len(SAMPLERS)), strict=True))


def summarise(rows: pl.DataFrame) -> pl.DataFrame:
    """Mean and sd over seeds of each error, per (sampler, dims, n_trials)."""
    stats = [
        agg
        for m in (*METRICS, "near_boundary")
        for agg in (pl.col(m).mean().alias(f"{m}_mean"), pl.col(m).std().alias(f"{m}_sd"))
    ]
    return (
        rows.group_by("dims", "sampler", "n_trials")
        .agg(pl.len().alias("seeds"), *stats)
        .sort("dims", pl.col("sampler").replace_strict(SAMPLERS, range(len(SAMPLERS))), "n_trials")
    )


# --- verdicts ----------------------------------------------------------------------------------


def _curve(summary: pl.DataFrame, dims: int, sampler: str, metric: str) -> list[tuple[int, float]]:
    part = summary.filter(pl.col("dims") == dims, pl.col("sampler") == sampler).sort("n_trials")
    return list(zip(part["n_trials"].to_list(), part[f"{metric}_mean"].to_list(), strict=True))


def grid_verdicts(summary: pl.DataFrame, dims: int, metric: str) -> list[str]:
    """For each grid size N: the smallest boundary budget M whose mean error reaches the grid's,
    and whether some budget ≤ N/3 does (untested where no budget is that small)."""
    boundary = _curve(summary, dims, "boundary", metric)
    largest = boundary[-1][0]
    lines, tally = [], {"met": 0, "missed": 0, "untested": 0}
    for n, error in _curve(summary, dims, "grid", metric):
        m = next((b for b, e in boundary if e <= error), None)
        if boundary[0][0] > n * TARGET_RATIO:
            verdict = "untested (no budget ≤ N/3)"
            tally["untested"] += 1
        else:
            verdict = "met" if m is not None and m <= n * TARGET_RATIO else "missed"
            tally[verdict] += 1
        reach = (
            f"boundary reaches it at {m} trials (ratio {m / n:.2f})"
            if m is not None
            else f"boundary does not reach it within {largest} trials (ratio > {largest / n:.2f})"
        )
        lines.append(
            f"{dims}-D {metric}: grid needs {n} trials for error {error:.4f}; {reach} → ≤ 1/3 {verdict}"
        )
    lines.append(
        f"{dims}-D {metric}: target 'grid's error with ≤ 1/3 of its trials' met at "
        f"{tally['met']} of {tally['met'] + tally['missed']} tested grid sizes"
    )
    return lines


def paired_difference(rows: pl.DataFrame, dims: int, n: int, other: str, metric: str):
    """Mean over seeds of boundary − other at n trials, and its standard error."""
    part = rows.filter(pl.col("dims") == dims, pl.col("n_trials") == n)
    wide = part.pivot(on="sampler", index="seed", values=metric)
    diff = (wide["boundary"] - wide[other]).to_numpy()
    se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return float(diff.mean()), float(se)


def equal_trial_verdicts(
    rows: pl.DataFrame, summary: pl.DataFrame, dims: int, metric: str, others: Sequence[str]
) -> list[str]:
    """Boundary against each other sequential sampler at every budget they share."""
    lines = []
    boundary = dict(_curve(summary, dims, "boundary", metric))
    for other in others:
        curve = _curve(summary, dims, other, metric)
        deltas = [paired_difference(rows, dims, n, other, metric) for n, _ in curve]
        for (n, error), (delta, se) in zip(curve, deltas, strict=True):
            word = "better" if delta < 0 else "worse"
            sure = " (> 2 se)" if abs(delta) > 2 * se else ""
            lines.append(
                f"{dims}-D {metric} at {n} trials: boundary {boundary[n]:.4f} vs {other} "
                f"{error:.4f}: {word}{sure}, Δ = {delta:+.4f} ± {se:.4f}"
            )
        better = sum(d < 0 for d, _ in deltas)
        sure_better = sum(d < -2 * se for d, se in deltas)
        sure_worse = sum(d > 2 * se for d, se in deltas)
        lines.append(
            f"{dims}-D {metric}: boundary better than {other} at {better} of {len(deltas)} "
            f"budgets ({sure_better} by > 2 se; worse by > 2 se at {sure_worse})"
        )
    return lines


def verdicts(rows: pl.DataFrame, summary: pl.DataFrame) -> list[str]:
    lines = []
    for dims in sorted(set(rows["dims"])):
        for metric in METRICS:
            lines += grid_verdicts(summary, dims, metric)
            lines += equal_trial_verdicts(rows, summary, dims, metric, ("sobol", "tpe", "random"))
    return lines


# --- where the trials went ---------------------------------------------------------------------


def placement(points: pl.DataFrame, resolutions: Mapping[int, int]) -> pl.DataFrame:
    """Per (dims, sampler, proposal reason): how many trials of the runs' largest budgets, and the
    shares within FACE of a face of the cube, within FACE and within 2σ of a true boundary (on
    the reference grid of that dimension's resolution), and within FACE of a face but farther
    than 2σ from a true boundary (the boundaries meet the faces, so the first two overlap)."""
    parts = []
    for dims, resolution in sorted(resolutions.items()):
        part = points.filter(pl.col("dims") == dims)
        unit = part.select(AXES[:dims]).to_numpy()
        to_face = np.minimum(unit, 1 - unit).min(1)
        to_boundary = reference(dims, resolution).tree.query(unit)[0]
        parts.append(part.with_columns(to_face=to_face, to_boundary=to_boundary))
    return (
        pl.concat(parts, how="diagonal")
        .with_columns(pl.col("proposal").fill_null("-"))
        .group_by("dims", "sampler", "proposal")
        .agg(
            pl.len().alias("trials"),
            (pl.col("to_face") < FACE).mean().alias("near_face"),
            (pl.col("to_boundary") <= FACE).mean().alias("near_truth"),
            (pl.col("to_boundary") <= 2 * SIGMA).mean().alias("near_truth_2sigma"),
            ((pl.col("to_face") < FACE) & (pl.col("to_boundary") > 2 * SIGMA))
            .mean()
            .alias("face_not_truth"),
        )
        .sort("dims", pl.col("sampler").replace_strict(SAMPLERS, range(len(SAMPLERS))), "proposal")
    )


def format_placement(placed: pl.DataFrame) -> str:
    lines = [
        f"{'dims':>4}  {'sampler':<8} {'proposal':<12} {'trials':>6}  "
        f"{f'face<{FACE}':>10} {f'truth≤{FACE}':>11} {f'truth≤{2 * SIGMA:.2f}':>11} "
        f"{'face, not truth≤' + f'{2 * SIGMA:.2f}':>22}"
    ]
    for r in placed.iter_rows(named=True):
        lines.append(
            f"{r['dims']:>4}  {r['sampler']:<8} {r['proposal']:<12} {r['trials']:>6}  "
            f"{r['near_face']:>10.1%} {r['near_truth']:>11.1%} {r['near_truth_2sigma']:>11.1%} "
            f"{r['face_not_truth']:>22.1%}"
        )
    return "\n".join(lines)


# --- output ------------------------------------------------------------------------------------


def error_figure(summary: pl.DataFrame) -> Figure:
    """Error vs trials per sampler (mean ± sd over seeds): metrics by row, dimensions by column."""
    dims = sorted(set(summary["dims"]))
    with sns.axes_style(STYLE):
        fig = Figure(figsize=(5.0 * len(dims), 7.0), layout="constrained")
        axes = fig.subplots(len(METRICS), len(dims), squeeze=False)
        for col, d in enumerate(dims):
            for row, metric in enumerate(METRICS):
                ax = axes[row, col]
                for sampler in SAMPLERS:
                    part = summary.filter(pl.col("dims") == d, pl.col("sampler") == sampler)
                    if part.is_empty():
                        continue
                    n = part["n_trials"].to_numpy()
                    mean, sd = part[f"{metric}_mean"].to_numpy(), part[f"{metric}_sd"].to_numpy()
                    color = SAMPLER_COLORS[sampler]
                    ax.plot(n, mean, marker="o", ms=4, color=color, label=sampler)
                    ax.fill_between(n, mean - sd, mean + sd, color=color, alpha=0.15, lw=0)
                set_scale(ax, "x", True)
                set_scale(ax, "y", True)
                ax.set_title(f"{d}-D", fontsize=10)
                ax.set_xlabel("trials")
                ax.set_ylabel(metric.replace("_", " "))
        axes[0, -1].legend(fontsize=8, frameon=False)
    return fig


def design_figure(points: pl.DataFrame, resolution: int = 200) -> Figure:
    """The 2-D map's true regimes with the trials each sampler chose (the first seed, largest
    budget): where the budget went."""
    ref = reference(2, resolution)
    points = points.filter(pl.col("dims") == 2, pl.col("seed") == points["seed"].min())
    samplers = list(dict.fromkeys(points["sampler"]))
    truth = ref.truth.reshape(resolution, resolution).T  # [y, x] for imshow
    with sns.axes_style("white"):
        fig = Figure(figsize=(3.0 * len(samplers), 3.2), layout="constrained")
        axes = fig.subplots(1, len(samplers), squeeze=False)[0]
        shades = np.array([REGIME_COLORS[r] for r in REGIMES])
        for ax, sampler in zip(axes, samplers, strict=True):
            ax.imshow(shades[truth], origin="lower", extent=(0, 1, 0, 1), alpha=0.35)
            part = points.filter(pl.col("sampler") == sampler)
            colors = [REGIME_COLORS[r] for r in part["regime"]]
            ax.scatter(part["x"], part["y"], c=colors, s=14, edgecolors="black", linewidths=0.5)
            ax.set_title(f"{sampler} ({part.height} trials)", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


def format_summary(summary: pl.DataFrame) -> str:
    """The summary as a fixed-width table: mean ± sd over seeds."""
    header = f"{'dims':>4}  {'sampler':<8} {'trials':>6} {'seeds':>5}  "
    header += "  ".join(f"{m:>24}" for m in (*METRICS, "near_boundary"))
    lines = [header]
    for r in summary.iter_rows(named=True):
        cells = "  ".join(
            f"{r[f'{m}_mean']:>13.4f} ± {r[f'{m}_sd'] or 0:<8.4f}"
            for m in (*METRICS, "near_boundary")
        )
        lines.append(
            f"{r['dims']:>4}  {r['sampler']:<8} {r['n_trials']:>6} {r['seeds']:>5}  {cells}"
        )
    return "\n".join(lines)


def write_outputs(
    out: Path, rows: pl.DataFrame, points: pl.DataFrame, meta: dict, resolutions: Mapping[int, int]
) -> list[str]:
    """rows.csv, summary.csv, points.csv, summary.txt, verdicts.txt, placement.txt, run.json and
    the figures; returns the verdict lines."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    lines = verdicts(rows, summary)
    rows.write_csv(out / "rows.csv")
    summary.write_csv(out / "summary.csv")
    points.write_csv(out / "points.csv")
    (out / "summary.txt").write_text(format_summary(summary) + "\n")
    (out / "verdicts.txt").write_text("\n".join(lines) + "\n")
    (out / "placement.txt").write_text(format_placement(placement(points, resolutions)) + "\n")
    (out / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    save_figure(error_figure(summary), out / "boundary_error", formats=("png",))
    save_figure(design_figure(points), out / "designs_2d", formats=("png",))
    return lines
