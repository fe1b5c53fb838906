"""The boundary sampler never runs one point twice: a batch asked at once spreads out, two workers
proposing at the same moment do not pick one spot, and a point proposed again gets a new seed."""

from __future__ import annotations

import itertools
import time

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from study.sweep import attrs
from study.sweep import optuna_private as private
from study.sweep.boundary import BoundarySampler, from_unit, replicate_params, to_unit
from study.sweep.points import replicate_group
from study.sweep.proposals import same_point

from .test_boundary import SPACE, run_study


def closest_pair(study: optuna.Study, trials) -> float:
    units = [np.array([t.params["x"], t.params["y"]]) for t in trials]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(units, 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_batch_spreads_out_and_never_repeats_a_running_point(seed):
    """After a labelled seed design, 6 proposals asked at once (all RUNNING together)."""

    def batch_after_seed(spread: float) -> tuple[optuna.Study, list]:
        sampler = BoundarySampler(
            SPACE,
            seed=seed,
            n_init=12,
            spread=spread,
            exploration=0.0,
            score="disagreement",
            replicates=False,
        )
        study = run_study(sampler, n_batches=3, seed=seed)  # 12 labelled seed points
        asked = [study.ask() for _ in range(6)]
        for t in asked:
            t.suggest_float("x", 0.0, 1.0)
            t.suggest_float("y", 0.0, 1.0)
        return study, study.get_trials(states=(TrialState.RUNNING,))

    study, running = batch_after_seed(spread=0.1)
    _, crowded = batch_after_seed(spread=1e-4)
    points = {(t.params["x"], t.params["y"]) for t in study.trials}
    assert len(points) == len(study.trials)  # no point twice, running or finished
    ours, control = closest_pair(study, running), closest_pair(study, crowded)
    print(
        f"closest pair in a batch of 6: {ours:.3f} with the spread penalty, {control:.3f} without"
    )
    # Under the Laplace draws the penalty doubled the closest pair; the exact posterior's sharper
    # acquisition gave 0.163 against 0.108 at seed 2, so the claim is now: farther apart than
    # without the penalty, and no two closer than its radius (where a point keeps ≤ 39% of its value).
    assert ours > control and ours >= 0.1


class RacedSampler(BoundarySampler):
    """A boundary sampler that, once armed, meets a rival while it proposes: another worker
    publishes the very point this one is about to pick, after this one read the study and before
    it publishes — the race two workers asking at the same moment run."""

    study: optuna.Study | None = None
    rival: int | None = None

    def propose(self, trials, trial):
        params, reason = super().propose(trials, trial)
        if self.study is not None and self.rival is None:
            self.study.enqueue_trial(dict(params))  # a point in the queue, not yet its params
            rival = self.study.get_trials(states=(TrialState.WAITING,))[-1]
            published = {"params": dict(params), "at": time.time() - 1.0}
            private.set_system_attr(self.study, private.trial_id(rival), attrs.PROPOSED, published)
            self.rival = rival.number
        return params, reason


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_point_another_worker_published_first_is_given_up_for_a_new_one(seed):
    sampler = RacedSampler(SPACE, seed=seed, n_init=8, exploration=0.0)
    study = run_study(sampler, n_batches=3, seed=seed)  # 8 seed points, then 4 proposals
    sampler.study = study
    trial = study.ask()  # its first pick is the rival's point, published while it proposed
    ours = np.array([trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)])
    rival = study.trials[sampler.rival]
    theirs = np.array([rival.system_attrs["fixed_params"][n] for n in ("x", "y")])
    distance = float(np.linalg.norm(ours - theirs))
    print(f"seed {seed}: moved {distance:.3f} from the rival's point")
    assert distance >= 0.1  # the spread radius: the rival's point crowds the second proposal


def test_a_new_point_within_1_percent_of_a_trials_point_is_that_point():
    points = np.array([[0.2, 0.2], [0.5, 0.5], [0.8, 0.3]])
    assert same_point(np.array([0.5, 0.507]), points) == 1
    assert same_point(np.array([0.5, 0.52]), points) is None
    assert same_point(np.array([0.5, 0.5]), np.empty((0, 2))) is None


def test_a_replicate_carries_its_trials_params_exactly_so_it_gets_a_new_seed():
    """On a log axis the unit round trip changes the last bits; a point that differs is its own
    replicate group and would train with the trial's seed again."""
    space = {"lr": FloatDistribution(1e-4, 3e-3, log=True), "y": FloatDistribution(0.0, 1.0)}
    trials = [{"lr": 3.1e-4, "y": 0.25}, {"lr": 7e-4, "y": 0.6}]
    unit = np.array([to_unit(space["lr"], 7e-4), to_unit(space["y"], 0.6)])
    assert from_unit(space["lr"], unit[0]) != 7e-4  # the round trip is not exact here
    params = replicate_params(space, unit, trials)
    assert params == trials[1] and replicate_group(params) == replicate_group(trials[1])
