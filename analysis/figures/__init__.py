"""Figures: functions that take tidy polars frames (or a fit holding them) and return matplotlib
Figures, re-exported from their modules (`figure_style`, `phase_figures`, `cell_figures`,
`curve_figures`).

Nothing here shows or saves a figure: the CLI and notebooks do (`fig.savefig`). Figures are built
with `matplotlib.figure.Figure` directly, not pyplot, so no display or global figure registry is
involved; seaborn supplies the style and palettes.
"""

from analysis.figures.cells import cell_diagram, cell_maps
from analysis.figures.curves import (
    PROTOCOL_PANELS,
    SETTING_PANELS,
    TRIAL_PANELS,
    accuracy_by_frequency,
    learning_curves,
    protocol_comparison,
    trial_learning_curves,
)
from analysis.figures.phase import continuous_maps, phase_diagram, regime_scatter
from analysis.figures.style import REGIME_COLORS, REGIME_MARKERS, STYLE

__all__ = [
    "PROTOCOL_PANELS",
    "REGIME_COLORS",
    "REGIME_MARKERS",
    "SETTING_PANELS",
    "STYLE",
    "TRIAL_PANELS",
    "accuracy_by_frequency",
    "cell_diagram",
    "cell_maps",
    "continuous_maps",
    "learning_curves",
    "phase_diagram",
    "protocol_comparison",
    "regime_scatter",
    "trial_learning_curves",
]
