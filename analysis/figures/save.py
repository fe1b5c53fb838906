"""The one way figures reach disk: every file the CLI, a report or a trial's run writes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from analysis.figures.curves import trial_learning_curves

DPI = 150


def save_figure(
    fig: Figure, stem: str | Path, formats: Sequence[str] = ("png", "svg"), dpi: int = DPI
) -> list[Path]:
    """`stem`.png, `stem`.svg, … (a suffix on `stem` is replaced); returns the paths written."""
    stem = Path(stem)
    paths = [stem.with_suffix(f".{fmt}") for fmt in formats]
    for path in paths:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return paths


def save_trial_figure(curves: pl.DataFrame, path: Path) -> None:
    """A trial's learning curves (long frame: step, metric, value) as one PNG: the figure a
    trial's MLflow run carries (`study.tracking.run`'s `curve_figure`)."""
    save_figure(trial_learning_curves(curves), path, formats=(path.suffix.lstrip("."),), dpi=120)
