"""Summary features of a trial's curves (docs/design.md §3), defined once: the structural-ICL
start (first evaluation), peak and the first step it is reached, transience = peak − final, the
dual score and the final step (the curves' final values are their points there). The scalar
form summarises a trial as it ends; the polars form (`*_expr`) computes the same statistics over
a long curves frame grouped by trial.
"""

from __future__ import annotations

import polars as pl

from study.config import PROTOCOLS
from study.metric_names import (
    DUAL_SCORE,
    FINAL_STEP,
    ICL_STRUCTURAL,
    IWL_HEAD,
    PEAK,
    PEAK_STEP,
    START,
    structural,
    transience,
)

Curve = list[tuple[int, dict[str, float]]]  # (step, metrics) in step order


def peak(curve: Curve, metric: str) -> tuple[float, int]:
    """Highest value of `metric` and the first step it is reached."""
    value, step = max(((m[metric], -s) for s, m in curve if metric in m), default=(float("nan"), 0))
    return value, -step


def summary_features(curve: Curve) -> dict[str, float]:
    """Start, peak, peak step and transience of structural ICL under the headline and each
    protocol the trial's world scores (the POS task all three, docs/design.md §9), the dual
    score, and the final step (where each curve's final value is read)."""
    final_step, final = curve[-1]
    out = {FINAL_STEP: float(final_step)}
    for protocol in (None, *PROTOCOLS):
        name = structural(protocol)
        if name not in final:
            continue
        top, at = peak(curve, name)
        out[structural(protocol, PEAK)], out[structural(protocol, PEAK_STEP)] = top, float(at)
        out[transience(protocol)] = top - final[name]
        out[structural(protocol, START)] = next(m[name] for _, m in curve if name in m)
    out[DUAL_SCORE] = min(final[ICL_STRUCTURAL], final[IWL_HEAD])
    return out


def peak_expr(value: str = "value") -> pl.Expr:
    return pl.col(value).max()


def peak_step_expr(value: str = "value", step: str = "step") -> pl.Expr:
    """Step of the first maximum; the group must be sorted by step."""
    return pl.col(step).get(pl.col(value).arg_max())


def start_expr(value: str = "value") -> pl.Expr:
    """First value; the group must be sorted by step."""
    return pl.col(value).first()


def final_expr(value: str = "value") -> pl.Expr:
    """Last value; the group must be sorted by step."""
    return pl.col(value).last()
