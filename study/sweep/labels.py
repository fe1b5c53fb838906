"""What the boundary sampler maps: a finished trial's label, a probability vector over the
regimes (`Labeller`, soft for an `uncertain` call) or over beats/short against its control
(`ContrastLabeller`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from study.config import TrialConfig
from study.controls import BEATS, KIND_KEY, SHORT, beats_control, contrast_distance
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.regimes import REGIMES, UNCERTAIN, presence_probability, soft_targets
from study.sweep import attrs
from study.sweep.attrs import is_control, key_of, summary_of
from study.sweep.defaults import CONTRAST_SEED_SD

Label = dict[str, float]  # regime → probability


def regime_label(trial: FrozenTrial) -> Label | None:
    """The decided regime of a finished trial, without soft labels (for studies outside a spec)."""
    return decided_label(trial.user_attrs.get(attrs.REGIME))


def decided_label(call: str | None) -> Label | None:
    """A decided regime call as a one-hot label; None for `uncertain` or no call."""
    return {call: 1.0} if call in REGIMES else None


@dataclass(frozen=True)
class Labeller:
    """A finished trial's regime as a probability vector: its call, or for an `uncertain` one the
    presence probabilities of its final structural ICL and head IWL at the study's thresholds."""

    icl_threshold: float
    iwl_threshold: float
    n_examples: int

    @classmethod
    def of(cls, cfg: TrialConfig) -> Labeller:
        t = cfg.eval.thresholds
        return cls(t.icl, t.iwl, cfg.eval.n_examples)

    def __call__(self, trial: FrozenTrial) -> Label | None:
        summary = summary_of(trial)  # keyed by metric name
        return self.label(
            trial.user_attrs.get(attrs.REGIME), summary.get(ICL_STRUCTURAL), summary.get(IWL_HEAD)
        )

    def label(self, call: str | None, icl: float | None, iwl: float | None) -> Label | None:
        """The label of a call with its final structural ICL and head IWL (None: unlabelled)."""
        decided = decided_label(call)
        if decided is not None:
            return decided
        if call != UNCERTAIN or icl is None or iwl is None:
            return None
        n = self.n_examples
        p_icl = presence_probability(icl, self.icl_threshold, n)
        p_iwl = presence_probability(iwl, self.iwl_threshold, n)
        (row,) = soft_targets([UNCERTAIN], [p_icl], [p_iwl], REGIMES)
        return dict(zip(REGIMES, row, strict=True))


Pairs = dict[int, tuple[str, float, float]]  # trial number → (kind, Δ structural ICL, Δ head IWL)


class ContrastLabeller:
    """A forgetting trial labelled by its control at the same seed: BEATS where it beats it
    (`study.controls.beats_control`, in its kind's direction), SHORT where it does not; no label
    until both have finished. What the sampler maps is then where forgetting matters. Each is
    read at its own final (aligned) evaluation, as its summary holds it — `analysis.effects`
    pairs them at one step, which for a run and its control evaluated alike is the same.

    `seed_sd` is the seed spread of a pair's contrast the sampler assumes until it has measured
    one (`study.sweep.proposals.seed_spread`)."""

    def __init__(self, kind: str, seed_sd: float = CONTRAST_SEED_SD) -> None:
        self.kind = kind  # the spec's forgetting kind, where the kind is not an axis
        self.seed_sd = seed_sd

    def pairs(self, trials: Sequence[FrozenTrial]) -> Pairs:
        """Trial number → (kind, structural ICL run − control, head IWL run − control) of every
        finished forgetting trial whose control at its seed has finished."""
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        controls = {key_of(t): summary_of(t) for t in done if is_control(t)}
        out: Pairs = {}
        for t in done:
            key = key_of(t)
            if is_control(t) or key is None or attrs.CONTROL_GROUP not in t.user_attrs:
                continue
            control = controls.get((t.user_attrs[attrs.CONTROL_GROUP], key[1]))
            run = summary_of(t)
            needed = {ICL_STRUCTURAL, IWL_HEAD}
            if control is None or not (needed <= run.keys() and needed <= control.keys()):
                continue
            kind = str(t.params.get(KIND_KEY, self.kind))
            icl = run[ICL_STRUCTURAL] - control[ICL_STRUCTURAL]
            out[t.number] = (kind, icl, run[IWL_HEAD] - control[IWL_HEAD])
        return out

    def labels(self, trials: Sequence[FrozenTrial]) -> dict[int, Label]:
        return pair_labels(self.pairs(trials))


def pair_labels(pairs: Pairs) -> dict[int, Label]:
    """Trial number → BEATS or SHORT, by its kind's rule (`study.controls.beats_control`)."""
    return {n: {BEATS if beats_control(*pair) else SHORT: 1.0} for n, pair in pairs.items()}


def pair_distances(pairs: Pairs) -> dict[int, float]:
    """Trial number → how far its pair is from flipping (`study.controls.contrast_distance`)."""
    return {n: contrast_distance(*pair) for n, pair in pairs.items()}


Labels = Callable[[FrozenTrial], "Label | None"] | ContrastLabeller  # per trial, or by pairs
