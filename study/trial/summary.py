"""A trial's summary from its curves: the summary features (`study.features`), its regime and
the transient flag (`study.regimes`) under the trial's thresholds (docs/design.md §3, §5)."""

from __future__ import annotations

from dataclasses import dataclass

from study.config import EvalConfig
from study.features import Curve, summary_features
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD, PEAK, structural
from study.regimes import regime, transient


@dataclass(frozen=True)
class Summary:
    metrics: dict[str, float]  # logged as `summary.<key>`
    regime: str
    transient: bool


def summarize(curve: Curve, cfg: EvalConfig) -> Summary:
    features = summary_features(curve)
    t = cfg.thresholds
    return Summary(
        metrics=features,
        regime=regime(features[ICL_STRUCTURAL], features[IWL_HEAD], t.icl, t.iwl),
        transient=transient(features[structural(None, PEAK)], features[ICL_STRUCTURAL], t.icl),
    )
