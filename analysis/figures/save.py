"""The one way figures reach disk: every file the CLI, a report or a trial's run writes."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from matplotlib.figure import Figure

from analysis.figures.trial_curves import trial_learning_curves

if TYPE_CHECKING:  # tracking.run loads torch; a figure needs only the two fields
    from study.tracking.trial_run import CurveContext

DPI = 150


def save_figure(
    fig: Figure,
    stem: str | Path,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = DPI,
    caption: str | None = None,
) -> list[Path]:
    """`stem`.png, `stem`.svg, … (a suffix on `stem` is replaced); returns the paths written.
    A `caption` goes under the figure, small, left-aligned, wrapped to the figure's width (a
    caption wider than the figure widened the saved file, leaving an empty half)."""
    stem = Path(stem)
    if caption:
        fig.supxlabel(wrap_to(caption, fig), x=0.0, ha="left", fontsize=7, color="0.25")
    paths = [stem.with_suffix(f".{fmt}") for fmt in formats]
    for path in paths:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return paths


CHARS_PER_INCH = 17  # of 7-point text


def wrap_to(text: str, fig: Figure) -> str:
    """Each line of `text` wrapped to the figure's width."""
    width = max(20, int(fig.get_figwidth() * CHARS_PER_INCH))
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


def save_trial_figure(
    curves: pl.DataFrame, path: Path, context: CurveContext | None = None
) -> None:
    """A trial's learning curves (long frame: step, metric, value) as one PNG: the figure a
    trial's MLflow run carries (`study.tracking.trial_run`'s `curve_figure`), titled by its run."""
    fig = trial_learning_curves(
        curves,
        title=context.title if context else None,
        resets=context.resets if context else (),
    )
    save_figure(fig, path, formats=(path.suffix.lstrip("."),), dpi=120)
