"""A trial's summary from its curves: the summary features (`study.features`), its regime and
the transient flag (`study.regimes`) under the trial's thresholds (docs/design.md §3, §5). Only
evaluations at the schedule's phase of the forgetting cycle count (`schedule.is_aligned`)."""

from __future__ import annotations

from dataclasses import dataclass

from study.config import TrialConfig
from study.features import Curve, summary_features
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD, PEAK, START, structural
from study.regimes import regime, transient
from study.trial.schedule import is_aligned


@dataclass(frozen=True)
class Summary:
    metrics: dict[str, float]  # logged as `summary.<key>`
    regime: str
    transient: bool


def summarize(curve: Curve, cfg: TrialConfig) -> Summary:
    features = summary_features([(step, m) for step, m in curve if is_aligned(step, cfg)])
    t = cfg.eval.thresholds
    return Summary(
        metrics=features,
        regime=regime(
            features[ICL_STRUCTURAL],
            features[IWL_HEAD],
            t.icl,
            t.iwl,
            cfg.eval.n_examples,
            t.confidence,
        ),
        transient=transient(
            features[structural(None, START)],
            features[structural(None, PEAK)],
            features[ICL_STRUCTURAL],
            cfg.eval.n_examples,
            t.confidence,
            t.transience_rise,
            t.transience_drop,
        ),
    )
