"""What a phase figure must say to stand alone — its study, its rule, the settings it holds
fixed and how many trials stand behind each cell — as one caption, from the trials it shows."""

from __future__ import annotations

import polars as pl

from analysis.axes import swept_params
from analysis.figures.labels import condition_text
from analysis.scalars import to_float, to_int
from study.config import Thresholds
from study.param_names import PARAMS

# settings worth naming when they are fixed (the axes the paper varies, and the scale of a run)
NAMED = (*PARAMS, "eval.n_examples")
LAST_EVALUATION = "at each trial's last evaluation"  # when a trial is classified, by default


def phase_caption(
    study: str,
    trials: pl.DataFrame,
    x: str,
    y: str,
    thresholds: Thresholds | None,
    protocol: str | None,
    when: str = LAST_EVALUATION,
) -> str:
    """`when`: at which evaluations the trials were classified (`analysis.time_axis`)."""
    rule = thresholds or _stored_thresholds(trials)
    proto = protocol or _one(trials, "eval.protocol") or "paper"
    lines = [
        f"study {study} · rule: structural ICL ≥ {rule.icl:g} ({proto} protocol), head IWL ≥ "
        f"{rule.iwl:g}, each clear of the threshold by its {rule.confidence:.0%} Wilson interval;"
        f" {when}",
    ]
    swept = set(swept_params(trials))
    fixed = {k: _one(trials, k) for k in NAMED if k in trials.columns and k not in swept}
    fixed = {k: v for k, v in fixed.items() if v is not None and k not in (x, y)}
    if fixed:
        lines.append("fixed: " + condition_text(fixed))
    if {x, y} <= set(trials.columns) and trials.height:
        per = trials.group_by(x, y).len().get_column("len")
        low, high = to_int(per.min()), to_int(per.max())
        n = f"{low}" if low == high else f"{low}–{high}"
        n_trials = trials["run_id"].n_unique() if "run_id" in trials.columns else trials.height
        lines.append(f"n per point: {n} (seeds); {n_trials} trials")
    return "\n".join(lines)


def _one(trials: pl.DataFrame, key: str) -> object | None:
    if key not in trials.columns:
        return None
    values = trials.get_column(key).drop_nulls().unique().to_list()
    return values[0] if len(values) == 1 else None


def _stored_thresholds(trials: pl.DataFrame) -> Thresholds:
    found = {k: _one(trials, f"eval.thresholds.{k}") for k in ("icl", "iwl", "confidence")}
    return Thresholds(**{k: to_float(v) for k, v in found.items() if v is not None})
