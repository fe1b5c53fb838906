"""Summary metrics of a trial from its curves (DESIGN.md §3, §5): finals, structural-ICL peak
and its step, transience = peak − final, regime and the transient flag — under the headline
protocol and under each of the three."""

from __future__ import annotations

from dataclasses import dataclass

from study.config import PROTOCOLS, EvalConfig
from study.trial.metrics import regime

Curve = list[tuple[int, dict[str, float]]]  # (step, metrics) in step order


@dataclass(frozen=True)
class Summary:
    metrics: dict[str, float]  # logged as `summary.<key>`
    regime: str
    transient: bool


def peak(curve: Curve, metric: str) -> tuple[float, int]:
    """Highest value of `metric` and the first step it is reached."""
    value, step = max(((m[metric], -s) for s, m in curve if metric in m), default=(float("nan"), 0))
    return value, -step


def summarize(curve: Curve, cfg: EvalConfig) -> Summary:
    final = curve[-1][1]
    out = dict(final)
    for name in ("icl.structural", *(f"icl.structural.{p}" for p in PROTOCOLS)):
        top, at = peak(curve, name)
        out[f"{name}.peak"], out[f"{name}.peak_step"] = top, float(at)
        suffix = name.removeprefix("icl.structural")
        out[f"transience{suffix}"] = top - final[name]
    out["dual_score"] = min(final["icl.structural"], final["iwl.head"])
    t = cfg.thresholds
    return Summary(
        metrics=out,
        regime=regime(final["icl.structural"], final["iwl.head"], t.icl, t.iwl),
        transient=out["icl.structural.peak"] >= t.icl > final["icl.structural"],
    )
