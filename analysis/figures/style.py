"""What every figure shares: seaborn style, regime colours and markers, the figure factory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import seaborn as sns
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from study.controls import BEATS, SHORT
from study.metric_names import TRANSIENCE

STYLE = "whitegrid"
_PALETTE = sns.color_palette("colorblind")
REGIME_COLORS: dict[str, tuple[float, float, float]] = {
    "dual": _PALETTE[4],
    "icl": _PALETTE[0],
    "iwl": _PALETTE[1],
    "none": (0.6, 0.6, 0.6),
    "uncertain": (0.85, 0.85, 0.85),  # a call the evaluation's noise cannot make
    BEATS: _PALETTE[2],  # an effect map's labels (`study.controls.CONTRAST_LABELS`)
    SHORT: (0.6, 0.6, 0.6),
}
REGIME_MARKERS: dict[str, str] = {
    "dual": "D",
    "icl": "o",
    "iwl": "s",
    "none": "X",
    "uncertain": "P",
    BEATS: "^",
    SHORT: "v",
}
MAP_CMAPS: dict[str, str] = {TRANSIENCE: "rocket_r"}


def new_figure(ncols: int, width: float = 4.2, height: float = 3.6) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def set_scale(ax: Axes, which: str, log: bool) -> None:
    """Log axes read in plain numbers (100, 1000), not 10^k, with unlabelled minor ticks."""
    getattr(ax, f"set_{which}scale")("log" if log else "linear")
    axis = getattr(ax, f"{which}axis")
    if log:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def trial_marker(regime: str, label: str) -> Line2D:
    """Legend entry for the marker a trial of `regime` is drawn with."""
    return Line2D(
        [],
        [],
        ls="",
        marker=REGIME_MARKERS[regime],
        color=REGIME_COLORS[regime],
        mec="black",
        label=label,
    )


def side_legend(ax: Axes, handles: Sequence[Artist]) -> None:
    """The legend outside the axes, to the right, top-aligned."""
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )
