"""The paper's synthetic figures (Anand et al., ICLR 2025) from the `sweeps/paper/` studies.

    figures = paper_figures(store, "paper_temporary")   # {name: Figure}

For one study: learning curves by α (the paper's Fig. 3: structural ICL, head and tail ICL/IWL
against step, one line per α), accuracy against the training frequency of the token, and — when
the study sweeps two numeric axes — its phase diagram with the continuous maps beside it; for
a study with controls, forgetting read against its control (`paper_effects`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from analysis.axes import PhaseError, default_axes, swept_params
from analysis.classify import classify
from analysis.effects import NoControls
from analysis.effects_report import effects_report
from analysis.figures import (
    accuracy_by_frequency,
    continuous_maps,
    learning_curves,
    phase_diagram,
)
from analysis.maps import fit_maps
from analysis.phase import fit_phase
from analysis.runs import load_curves, load_study, open_runs
from study.metric_names import DECILE_PREFIX
from study.tracking import schema
from study.tracking.store import Store


def paper_studies(store: Store, names: str | None = None) -> list[str]:
    """Comma-separated `names`, else every study in the store whose name starts with 'paper'."""
    if names:
        return [n.strip() for n in names.split(",") if n.strip()]
    with open_runs(store) as reader:
        return sorted(n for n in reader.tag_values(schema.STUDY) if n.startswith("paper"))


def paper_figures(store: Store, study: str, *, by: str | None = None) -> dict[str, Figure]:
    """The figures a study supports, by name; a study it cannot draw a diagram for gets curves."""
    loaded = load_study(store, study)
    trials = classify(loaded.trials)
    curves = load_curves(store, study)
    swept = swept_params(trials)
    by = by or (
        "task.zipf_exponent" if "task.zipf_exponent" in swept else (swept[0] if swept else None)
    )
    figures: dict[str, Figure] = {}
    if by is not None:
        figures["learning_curves"] = learning_curves(curves, trials, by)
        if curves.filter(pl.col("metric").str.starts_with(DECILE_PREFIX)).height:
            figures["accuracy_by_frequency"] = accuracy_by_frequency(curves, trials, by)
    try:
        x, y = default_axes(trials)
        scales = loaded.log_scales()
        fit = fit_phase(trials, x, y, log_x=scales.get(x), log_y=scales.get(y))
    except PhaseError:
        return figures
    figures["phase_diagram"] = phase_diagram(fit)
    maps = fit_maps(trials, x, y, log_x=fit.x.log, log_y=fit.y.log)
    if maps:
        figures["continuous_maps"] = continuous_maps(maps, fit)
    return figures


def paper_effects(store: Store, study: str, out: Path) -> str | None:
    """The forgetting-effect report of a study run with controls (`dpl analyze effects`), as
    text, its files written under `out`; None for a study without controls."""
    try:
        report = effects_report(store, study, out=out, log_artifacts=False)
    except NoControls:
        return None
    return report.text
