"""`sampler: boundary` as an Optuna sampler: put the trials where the regimes change.

Every proposal reads the study as it stands in the storage — finished trials with their regime,
trials running or queued with their points — so it works the same on every storage, for any
number of workers, and for packs (a pack claims its K trials one after another; each proposal
sees the ones before it running and keeps away from them). The arithmetic is in
`study.sweep.proposals`; this module maps trials to points of the unit cube and back.

Determinism: a proposal depends on the study's state and on (seed, trial number) only, so a
resumed study proposes what an uninterrupted one would have from the same state, and two
workers proposing at the same instant draw different candidates. Different candidates are not
enough — on one acquisition both pick its peak — so a worker publishes its point before its
params are stored and proposes again if another published a point within the spread radius first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from study.controls import CONTRAST_LABELS
from study.regimes import REGIMES
from study.sweep import attrs
from study.sweep import optuna_private as private
from study.sweep.attrs import is_control, point_of
from study.sweep.defaults import BOUNDARY_REPLICATES, BOUNDARY_SCORE
from study.sweep.labels import (
    ContrastLabeller,
    Label,
    Labels,
    Pairs,
    pair_distances,
    pair_labels,
    regime_label,
)
from study.sweep.params import FloatParam, IntParam
from study.sweep.proposals import propose as propose_unit
from study.sweep.proposals import same_point, seed_size, seed_spread, sobol_point, unsettled

Numeric = FloatDistribution | IntDistribution  # an axis the sampler maps onto [0, 1]
REPROPOSALS = 2  # at most, when a point another worker published first is too close


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
        # Publish, then look: two workers that propose at the same moment cannot see each
        # other's point (its params are stored only after this returns), and on the same
        # acquisition they pick the same spot (a live quickstart ran α = 2, N = 1000 twice). The
        # later of two clashing publications proposes again, now crowded by the earlier one.
        tid = private.trial_id(trial)  # not yet an `optuna.Trial`: attributes go via the storage
        trials = study.get_trials(deepcopy=False)
        for _ in range(1 + REPROPOSALS):
            seen = {t.number for t in trials if self._pending_point(t)}
            params, reason = self.propose(trials, trial)
            stamp = time.time()
            private.set_system_attr(study, tid, attrs.PROPOSED, {"params": params, "at": stamp})
            if reason == "seed design":
                break  # one Sobol point per slot: nothing to clash with
            trials = study.get_trials(deepcopy=False)
            if not self._published_first(trials, trial, params, stamp, seen):
                break
        private.set_user_attr(study, tid, attrs.PROPOSAL, reason)
        return params

    def _published_first(
        self,
        trials: Sequence[FrozenTrial],
        trial: FrozenTrial,
        params: Mapping[str, Any],
        stamp: float,
        seen: set[int],
    ) -> bool:
        """Whether a trial unseen when `params` were proposed published a point within the
        spread radius before this one did (ties broken by trial number)."""
        ours = self._to_units([params])[0]
        for t in trials:
            published = t.system_attrs.get(attrs.PROPOSED)
            if t.number in seen or t.number == trial.number or not published:
                continue
            if t.state not in (TrialState.RUNNING, TrialState.WAITING):
                continue
            if (published["at"], t.number) > (stamp, trial.number):
                continue  # published after ours: it is the one to move
            theirs = self._to_units([published["params"]])[0]
            if float(np.linalg.norm(ours - theirs)) < self._options.spread:
                return True
        return False

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
        # a contrast map reads its run − control pairs once a proposal, for margins and labels
        pairs = self._labeller.pairs(trials) if isinstance(self._labeller, ContrastLabeller) else {}
        if rank >= self._n_init and (margin := self._margin_point(trials, pairs)) is not None:
            return margin, "margin"
        labelled, labels = self._labelled(trials, pairs)
        vocabulary = (*REGIMES, *CONTRAST_LABELS)
        observed = [r for r in vocabulary if any(label.get(r, 0) > 0 for label in labels)]
        if rank < self._n_init or len(observed) < 2:
            unit, reason = sobol_point(rank, len(names), self._seed), "seed design"
        else:
            targets = np.array([[label.get(r, 0.0) for r in observed] for label in labels])
            rng = np.random.default_rng([self._seed, trial.number])
            pending = self._to_units(
                [
                    point
                    for t in trials
                    if t.state in (TrialState.RUNNING, TrialState.WAITING)
                    and t.number != trial.number
                    and (point := self._pending_point(t))
                ]
            )
            chosen = propose_unit(
                self._to_units(labelled),
                targets,
                pending,
                rng,
                explore_at=sobol_point(rank, len(names), self._seed),
                **asdict(self._options),
            )
            if chosen.reason == "replicate":
                return replicate_params(self._space, chosen.unit, labelled), chosen.reason
            unit, reason = chosen.unit, chosen.reason
        params = {n: from_unit(self._space[n], u) for n, u in zip(names, unit, strict=True)}
        return params, reason

    def _margin_point(self, trials: Sequence[FrozenTrial], pairs: Pairs) -> dict[str, Any] | None:
        """On a contrast map, the params of a point whose pair is within SETTLE_WITHIN seed
        spreads of flipping its verdict and that has one seed (`proposals.unsettled`): run again
        at a new seed before any new point, so that no boundary rests on one seed's noise."""
        labeller = self._labeller
        if not (self._options.replicates and isinstance(labeller, ContrastLabeller)):
            return None
        distances = pair_distances(pairs)
        groups: dict[str, list[float]] = {}
        seeds: dict[str, int] = {}
        params: dict[str, dict[str, Any]] = {}
        for t in trials:
            group = t.user_attrs.get(attrs.GROUP)
            if group is None or is_control(t) or not all(n in t.params for n in self._space):
                continue
            alive = t.state in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
            seeds[group] = seeds.get(group, 0) + alive
            if t.number in distances:
                groups.setdefault(group, []).append(distances[t.number])
                params[group] = t.params
        names = list(groups)
        spread = seed_spread([groups[g] for g in names], labeller.seed_sd)
        i = unsettled([groups[g] for g in names], [seeds[g] for g in names], spread)
        return None if i is None else {n: params[names[i]][n] for n in self._space}

    def _labelled(
        self, trials: Sequence[FrozenTrial], pairs: Pairs
    ) -> tuple[list[dict[str, Any]], list[Label]]:
        points: list[dict[str, Any]] = []
        labels: list[Label] = []
        if isinstance(self._labeller, ContrastLabeller):
            by_number = pair_labels(pairs)
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

    def _pending_point(self, trial: FrozenTrial) -> dict[str, Any]:
        """Where a running or queued trial is: its params (or the ones it was queued with), else
        the point its worker published while proposing (`attrs.PROPOSED`); {} when neither
        names every axis."""
        published = trial.system_attrs.get(attrs.PROPOSED)
        point = point_of(trial) or (dict(published["params"]) if published else {})
        return point if all(n in point for n in self._space) else {}

    def _to_units(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        rows = [[to_unit(d, p[n]) for n, d in self._space.items()] for p in points]
        return np.asarray(rows, dtype=float).reshape(-1, len(self._space))


def replicate_params(
    space: Mapping[str, Numeric], unit: np.ndarray, points: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The params of the trial at `unit` among `points`, exactly: mapped back from the unit cube
    they could differ in the last bits (on a log axis they do), and a point that differs is a
    new replicate group, run with the same seed — a repeat, not a replicate."""
    units = np.asarray([[to_unit(d, p[n]) for n, d in space.items()] for p in points])
    on = same_point(unit, units, radius=1e-9)
    if on is None:
        raise ValueError(f"no trial at the replicate's point {unit.tolist()}")
    return {n: points[on][n] for n in space}


def _rank(trials: Sequence[FrozenTrial], trial: FrozenTrial) -> int:
    """The trial's place among the study's sampled slots (trials queued without a point): the
    index of its seed-design point, stable across resumes (a re-run keeps its point)."""
    return sum(
        1
        for t in trials
        if t.number < trial.number and not t.system_attrs.get("fixed_params") and not is_control(t)
    )
