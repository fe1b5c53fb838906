"""A trial's summary from its curves: the final values, the summary features (`study.features`),
its regime and the transient flag (`study.regimes`) under the trial's thresholds (docs/design.md
§3, §5). Only evaluations at the schedule's phase of the forgetting cycle count
(`schedule.is_aligned`)."""

from __future__ import annotations

from dataclasses import dataclass

from study.config import TrialConfig
from study.features import Curve, summary_features
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD, PEAK, START, structural
from study.regimes import regime, transient
from study.trial.schedule import is_aligned


@dataclass(frozen=True)
class Summary:
    final: dict[str, float]  # every curve at the last aligned evaluation: logged as the curves
    features: dict[str, float]  # final-only (`summary/…`): logged once, at the final step
    regime: str
    transient: bool

    @property
    def metrics(self) -> dict[str, float]:
        """Final values and features: the trial's scalars, headline names included."""
        return self.final | self.features


def summarize(curve: Curve, cfg: TrialConfig) -> Summary:
    aligned = [(step, m) for step, m in curve if is_aligned(step, cfg)]
    final, features = dict(aligned[-1][1]), summary_features(aligned)
    t = cfg.eval.thresholds
    return Summary(
        final=final,
        features=features,
        regime=regime(
            final[ICL_STRUCTURAL],
            final[IWL_HEAD],
            t.icl,
            t.iwl,
            cfg.eval.n_examples,
            t.confidence,
        ),
        transient=transient(
            features[structural(None, START)],
            features[structural(None, PEAK)],
            final[ICL_STRUCTURAL],
            cfg.eval.n_examples,
            t.confidence,
            t.transience_rise,
            t.transience_drop,
        ),
    )
