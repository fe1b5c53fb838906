"""A map fitted over three axes, drawn in slices of the third: one panel per value, side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import seaborn as sns
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from analysis.figures.labels import symbol
from analysis.figures.phase import regime_panel
from analysis.figures.style import STYLE, new_figure
from study.param_names import format_value

if TYPE_CHECKING:
    from analysis.phase import PhaseFit


def phase_slices(fits: Mapping[float, PhaseFit], *, title: str) -> Figure:
    """Slices of one map fitted over three axes (`analysis.phase.fit_phase_through`), a panel
    per value of the third: each draws the trials nearest its slice (every trial once), so a
    marker sits in the panel whose map it informs most; one legend below them all."""
    values = list(fits)
    with sns.axes_style(STYLE):
        fig, axes = new_figure(len(values), width=4.4, height=5.0)
        first = fits[values[0]]
        key = first.through
        if key is None:
            raise ValueError(
                "phase_slices draws slices of a fit over three axes (fit_phase_through)"
            )
        nearest = np.abs(np.stack([fits[v].points["through"].to_numpy() for v in values])).argmin(0)
        handles: dict[str, Artist] = {}
        for i, (ax, value) in enumerate(zip(axes, values, strict=True)):
            fit = fits[value]
            shown = fit.points.filter(pl.Series(nearest == i))
            for h in regime_panel(ax, fit, shown, band_share=False):
                handles.setdefault(str(h.get_label()), h)
            ax.set_title(
                f"{symbol(key)} = {format_value(value)}\n{shown.height} nearest trials; "
                f"{fit.uncertain.mean():.0%} of the slice uncertain",
                fontsize=10,
            )
        fig.legend(
            handles=list(handles.values()),
            loc="outside lower center",
            ncol=3,
            fontsize=8,
            frameon=False,
        )
        fig.suptitle(title, fontsize=11)
    return fig
