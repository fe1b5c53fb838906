"""Figures: functions that take tidy polars frames (or a fit holding them) and return matplotlib
Figures, re-exported from their modules (`style`, `phase`, `cells`, `effects`, `curves`, `trial_curves`; `labels` holds
the words and symbols they print).

The drawing functions neither show nor save: `analysis.figures.save` writes every file (the
CLI, reports and a trial's run go through it); notebooks display. Figures are built
with `matplotlib.figure.Figure` directly, not pyplot, so no display or global figure registry is
involved; seaborn supplies the style and palettes.
"""

from analysis.figures.cells import cell_diagram, cell_maps
from analysis.figures.curves import (
    PROTOCOL_PANELS,
    SETTING_PANELS,
    accuracy_by_frequency,
    learning_curves,
    protocol_comparison,
)
from analysis.figures.effects import MAX_CELLS, effect_map, effect_scatter
from analysis.figures.phase import continuous_maps, phase_diagram, regime_scatter
from analysis.figures.slices import phase_slices
from analysis.figures.style import REGIME_COLORS, REGIME_MARKERS, STYLE
from analysis.figures.trial_curves import TRIAL_PANELS, trial_learning_curves

__all__ = [
    "MAX_CELLS",
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
    "effect_map",
    "effect_scatter",
    "learning_curves",
    "phase_diagram",
    "phase_slices",
    "protocol_comparison",
    "regime_scatter",
    "trial_learning_curves",
]
