"""The text of a phase report (`analysis.report`): the summary of a study's trials and of its
fitted map, as `dpl analyze phase` prints it and `summary.txt` keeps it."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from analysis.axes import swept_params
from analysis.figures.labels import axis_label, format_value, symbol
from analysis.phase import PhaseFit
from analysis.time_axis import classified_when
from study.config import Thresholds

EDGES = {"x low": "left", "x high": "right", "y low": "bottom", "y high": "top"}


def summary_lines(
    study: str,
    counts: Mapping[str, int],
    trials: pl.DataFrame,
    x: str,
    y: str,
    protocol: str | None,
    thresholds: Thresholds | None,
    at: Mapping[str, object] | None,
    step: int | None = None,
) -> list[str]:
    """What the trials are, how they were classified and over which axes."""
    done = trials.filter(pl.col("state") == "complete").height
    t = thresholds or Thresholds()
    lines = [
        f"study {study}: {done} finished trials of {trials.height}"
        + (
            f" (states: {dict(trials['state'].value_counts().iter_rows())})"
            if done < trials.height
            else ""
        ),
        f"regimes (protocol {protocol or 'headline'}, thresholds "
        + ("stored per trial" if thresholds is None else f"icl ≥ {t.icl}, iwl ≥ {t.iwl}")
        + "): "
        + ", ".join(f"{k} {v}" for k, v in counts.items()),
        f"transient: {int(trials['transient'].fill_null(False).sum())}",
        f"axes: x = {axis_label(x)} ({x}), y = {axis_label(y)} ({y})",
    ]
    if step is not None:
        lines.insert(1, f"classified {classified_when(step=step)}")
    if at:
        lines.append("fixed: " + ", ".join(f"{k} = {format_value(v)}" for k, v in at.items()))
    others = swept_params(trials, exclude=(x, y, *(at or {})))
    if others:
        lines.append(
            "other swept params (pooled; fix one with --at KEY=VALUE): " + ", ".join(others)
        )
    return lines


def fit_lines(fit: PhaseFit, x: str, y: str) -> list[str]:
    """How the map was fitted, how much of it is uncertain, where its boundaries meet its edges."""
    lines = [
        f"fit: {fit.n_trials} trials, RBF length scale {fit.length_scale} (per axis, of its range), "
        f"amplitude {fit.amplitude}, {fit.n_draws} posterior draws; "
        f"{fit.uncertain.mean():.0%} of the diagram is uncertain (< {fit.band_level:.0%} of draws agree)"
    ]
    crossings = fit.crossings()
    if not crossings.height:
        lines.append("boundaries: none meets the edges of the diagram")
    for pair, edge, bx, by in crossings.iter_rows():
        a, b = pair.split("|")
        lines.append(
            f"boundary {a} | {b} meets the {EDGES[edge]} edge at "
            f"{symbol(x)} = {format_value(float(bx))}, {symbol(y)} = {format_value(float(by))}"
        )
    return lines
