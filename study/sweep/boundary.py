"""`sampler: boundary` as an Optuna sampler: put the trials where the regimes change.

Every proposal reads the study as it stands in the storage — finished trials with their regime,
trials running or queued with their points — so it works the same on every storage, for any
number of workers, and for packs (a pack claims its K trials one after another; each proposal
sees the ones before it running and keeps away from them). The arithmetic is in
`study.sweep.proposals`; this module maps trials to points of the unit cube and back.

Determinism: a proposal depends on the study's state and on (seed, trial number) only, so a
resumed study proposes what an uninterrupted one would have from the same state, and two
workers proposing at the same instant draw different candidates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from study.config import TrialConfig
from study.controls import BEATS, CONTRAST_LABELS, KIND_KEY, SHORT, beats_control
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.regimes import REGIMES, UNCERTAIN, presence_probability, soft_targets
from study.sweep import attrs
from study.sweep import optuna_private as private
from study.sweep.attrs import is_control, key_of, point_of, summary_of
from study.sweep.defaults import BOUNDARY_REPLICATES, BOUNDARY_SCORE
from study.sweep.params import FloatParam, IntParam
from study.sweep.proposals import propose as propose_unit
from study.sweep.proposals import seed_size, sobol_point

Label = dict[str, float]  # regime → probability
Numeric = FloatDistribution | IntDistribution  # an axis the sampler maps onto [0, 1]


def distributions(space: Mapping[str, Any]) -> dict[str, Numeric]:
    """The varied numeric axes of a spec's space, as the distributions `ask_tell.suggest` asks for."""
    out: dict[str, Numeric] = {}
    for name, param in space.items():
        if isinstance(param, FloatParam) and param.high > param.low:
            out[name] = FloatDistribution(param.low, param.high, log=param.log, step=param.step)
        elif isinstance(param, IntParam) and param.high > param.low:
            out[name] = IntDistribution(param.low, param.high, log=param.log, step=param.step)
    return out


def to_unit(dist: Numeric, value: float) -> float:
    low, high = float(dist.low), float(dist.high)
    if dist.log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def from_unit(dist: Numeric, u: float) -> float | int:
    u = min(max(float(u), 0.0), 1.0)
    low, high = float(dist.low), float(dist.high)
    value = (
        math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        if dist.log
        else (low + u * (high - low))
    )
    step = getattr(dist, "step", None)
    if step is not None:
        value = low + round((value - low) / step) * step
    value = min(max(value, low), high)
    return int(round(value)) if isinstance(dist, IntDistribution) else float(value)


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


class ContrastLabeller:
    """A forgetting trial labelled by its control at the same seed: BEATS where it beats it
    (`study.controls.beats_control`, in its kind's direction), SHORT where it does not; no label
    until both have finished. What the sampler maps is then where forgetting matters. Each is
    read at its own final (aligned) evaluation, as its summary holds it — `analysis.effects`
    pairs them at one step, which for a run and its control evaluated alike is the same."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # the spec's forgetting kind, where the kind is not an axis

    def labels(self, trials: Sequence[FrozenTrial]) -> dict[int, Label]:
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        controls = {key_of(t): summary_of(t) for t in done if is_control(t)}
        out: dict[int, Label] = {}
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
            iwl = run[IWL_HEAD] - control[IWL_HEAD]
            out[t.number] = {BEATS if beats_control(kind, icl, iwl) else SHORT: 1.0}
        return out


Labels = Callable[[FrozenTrial], "Label | None"] | ContrastLabeller  # per trial, or by pairs


@dataclass(frozen=True)
class ProposalOptions:
    """What `proposals.propose` is asked with, beyond the data (its keyword arguments)."""

    exploration: float
    spread: float
    n_candidates: int
    score: str
    replicates: bool


class BoundarySampler(optuna.samplers.BaseSampler):
    """Sobol for the first `n_init` sampled points (and until two regimes are seen; None: 2^(d+1),
    `proposals.seed_size`), then the phase model's least certain point
    (`study.sweep.proposals.propose`)."""

    def __init__(
        self,
        space: Mapping[str, Numeric],
        *,
        labeller: Labels = regime_label,
        seed: int = 0,
        n_init: int | None = None,
        exploration: float = 0.1,
        spread: float = 0.1,
        n_candidates: int = 2048,
        score: str = BOUNDARY_SCORE,
        replicates: bool = BOUNDARY_REPLICATES,
    ) -> None:
        self._space = dict(space)
        self._labeller = labeller
        self._seed = seed
        self._n_init = seed_size(len(self._space)) if n_init is None else n_init
        self._options = ProposalOptions(exploration, spread, n_candidates, score, replicates)
        self._independent = optuna.samplers.RandomSampler(seed=seed)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._space)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space or trial.system_attrs.get(attrs.FIXED_PARAMS):
            return {}  # a replicate, a control or a re-run: its point is fixed
        params, reason = self.propose(study.get_trials(deepcopy=False), trial)
        # the trial is not yet an `optuna.Trial` here: its attribute is set through the storage
        private.set_user_attr(study, private.trial_id(trial), attrs.PROPOSAL, reason)
        return params

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def propose(
        self, trials: Sequence[FrozenTrial], trial: FrozenTrial
    ) -> tuple[dict[str, float | int], str]:
        """The params for `trial` given the study's `trials`, and the reason."""
        names = list(self._space)
        rank = _rank(trials, trial)
        labelled, labels = self._labelled(trials)
        vocabulary = (*REGIMES, *CONTRAST_LABELS)
        observed = [r for r in vocabulary if any(label.get(r, 0) > 0 for label in labels)]
        if rank < self._n_init or len(observed) < 2:
            unit, reason = sobol_point(rank, len(names), self._seed), "seed design"
        else:
            targets = np.array([[label.get(r, 0.0) for r in observed] for label in labels])
            rng = np.random.default_rng([self._seed, trial.number])
            pending = self._units(
                t
                for t in trials
                if t.state in (TrialState.RUNNING, TrialState.WAITING) and t.number != trial.number
            )
            chosen = propose_unit(
                self._to_units(labelled),
                targets,
                pending,
                rng,
                explore_at=sobol_point(rank, len(names), self._seed),
                **asdict(self._options),
            )
            unit, reason = chosen.unit, chosen.reason
        params = {n: from_unit(self._space[n], u) for n, u in zip(names, unit, strict=True)}
        return params, reason

    def _labelled(self, trials: Sequence[FrozenTrial]) -> tuple[list[dict[str, Any]], list[Label]]:
        points: list[dict[str, Any]] = []
        labels: list[Label] = []
        if isinstance(self._labeller, ContrastLabeller):
            by_number = self._labeller.labels(trials)
        else:
            by_number = {t.number: lb for t in trials if (lb := self._labeller(t)) is not None}
        for t in trials:
            label = by_number.get(t.number)
            if t.state != TrialState.COMPLETE or not all(n in t.params for n in self._space):
                continue
            if label is not None and sum(label.values()) > 0:
                points.append(t.params)
                labels.append(label)
        return points, labels

    def _to_units(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        rows = [[to_unit(d, p[n]) for n, d in self._space.items()] for p in points]
        return np.asarray(rows, dtype=float).reshape(-1, len(self._space))

    def _units(self, trials: Iterable[FrozenTrial]) -> np.ndarray:
        points = [point_of(t) for t in trials]
        return self._to_units([p for p in points if all(n in p for n in self._space)])


def _rank(trials: Sequence[FrozenTrial], trial: FrozenTrial) -> int:
    """The trial's place among the study's sampled slots (trials queued without a point): the
    index of its seed-design point, stable across resumes (a re-run keeps its point)."""
    return sum(
        1
        for t in trials
        if t.number < trial.number and not t.system_attrs.get("fixed_params") and not is_control(t)
    )
