"""Boundary sampling on the contrast (`sampler.options.label: contrast`): each forgetting trial
is labelled by its control at the same seed — beats or short, in its kind's direction — and a
sweep with controls maps where forgetting beats its control."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from study.controls import BEATS, CONTRAST_MARGIN, SHORT, beats_control, contrast_distance
from study.errors import SpecError
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.sweep import attrs
from study.sweep.boundary import BoundarySampler
from study.sweep.labels import ContrastLabeller
from study.sweep.proposals import seed_spread, unsettled

from .conftest import FAST, spec_of, sweep_in

ALPHA = "task.zipf_exponent"
KIND = "forgetting.kind"


def _trial(study, alpha, kind, group, replicate, icl, iwl, *, control_of=None, control=False):
    params = {ALPHA: alpha} if control else {ALPHA: alpha, KIND: kind}
    dists = {ALPHA: FloatDistribution(0.0, 2.0)}
    if not control:
        dists[KIND] = CategoricalDistribution(["active", "temporary"])
    user = {attrs.GROUP: group, attrs.REPLICATE: replicate, ICL_STRUCTURAL: icl, IWL_HEAD: iwl}
    if control:
        user[attrs.CONTROL] = {KIND: "none"}
    if control_of is not None:
        user[attrs.CONTROL_GROUP] = control_of
    study.add_trial(create_trial(params=params, distributions=dists, user_attrs=user, value=0.0))


def test_each_forgetting_trial_is_labelled_by_its_control_at_its_seed_in_its_kinds_direction():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    gain = CONTRAST_MARGIN + 0.05
    _trial(study, 1.0, "", "control-a", 0, 0.40, 0.60, control=True)
    _trial(study, 1.0, "", "control-a", 1, 0.10, 0.60, control=True)  # seed 1's control
    # seed 0, against control (0.40, 0.60)
    _trial(study, 1.0, "active", "p1", 0, 0.40 + gain, 0.60, control_of="control-a")  # more ICL
    _trial(study, 1.0, "active", "p2", 0, 0.40, 0.60 - gain, control_of="control-a")  # less IWL
    _trial(study, 1.0, "temporary", "p3", 0, 0.40 + gain, 0.60, control_of="control-a")
    _trial(study, 1.0, "temporary", "p4", 0, 0.40 + gain, 0.60 - gain, control_of="control-a")
    _trial(study, 1.0, "active", "p5", 0, 0.40 + 0.05, 0.60, control_of="control-a")  # < margin
    _trial(study, 1.0, "active", "p7", 0, 0.40 - gain, 0.60 - gain, control_of="control-a")
    # seed 1: the same run values read against seed 1's own control
    _trial(study, 1.0, "active", "p5", 1, 0.40 + 0.05, 0.60, control_of="control-a")
    # a control not yet finished: no label
    _trial(study, 1.5, "active", "p6", 0, 0.90, 0.10, control_of="control-b")
    labels = ContrastLabeller("active").labels(study.get_trials())
    assert [labels.get(n) for n in range(2, 10)] == [
        {BEATS: 1.0},  # active: more ICL counts
        {BEATS: 1.0},  # active: less head IWL counts too
        {BEATS: 1.0},  # temporary: more ICL while keeping head IWL
        {SHORT: 1.0},  # temporary: more ICL bought with head IWL is not a dual-process win
        {SHORT: 1.0},  # within the margin
        {SHORT: 1.0},  # active: head IWL gone, but structural ICL lost with it
        {BEATS: 1.0},  # seed 1's control is lower: its own pair decides
        None,
    ]


def test_a_contrast_map_needs_controls():
    with pytest.raises(SpecError) as err:
        spec_of(
            space={ALPHA: {"kind": "float", "low": 0.0, "high": 2.0}},
            sampler={"kind": "boundary", "options": {"label": "contrast"}},
            n_trials=4,
        )
    assert err.value.key == "sampler.options.label" and err.value.value == "contrast"


def test_the_sampler_proposes_from_the_contrast_once_both_labels_are_seen():
    """Pairs that beat their control below α = 1 and fall short above: past the seed design the
    phase model proposes on the contrast map, near its boundary. Pinned to the disagreement score,
    which scores the boundary itself: first run under the default (bald), the pick was
    α = 0.0004, the frame's edge, where the fit to eight clean pairs is least sure."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    alphas = [0.1, 0.4, 0.7, 0.9, 1.1, 1.3, 1.6, 1.9]
    for i, alpha in enumerate(alphas):
        _trial(study, alpha, "", f"control-{i}", 0, 0.5, 0.5, control=True)
        icl = 0.8 if alpha < 1.0 else 0.5
        _trial(study, alpha, "active", f"p{i}", 0, icl, 0.5, control_of=f"control-{i}")
    study.ask()  # the trial to propose for
    trials = study.get_trials()
    space = {ALPHA: FloatDistribution(0.0, 2.0)}
    labeller = ContrastLabeller("active")
    sampler = BoundarySampler(
        space, labeller=labeller, n_init=3, seed=0, exploration=0.0, score="disagreement"
    )
    params, reason = sampler.propose(trials, trials[-1])
    assert reason == "uncertain" and 0.6 < params[ALPHA] < 1.4, (params, reason)
    one_kind = [
        t for t in trials if t.user_attrs.get(IWL_HEAD) is None or t.params.get(ALPHA, 0) < 1
    ]
    _, reason = sampler.propose(one_kind, trials[-1])
    assert reason == "seed design"  # nothing to map until both labels are seen


def test_a_boundary_sweep_on_the_contrast_labels_its_pairs_and_proposes_from_them(tmp_path, store):
    """A real sweep: forgetting trials at sampled points, each with its control; every point's
    pair is labelled."""
    spec = spec_of(
        name="contrast",
        base={"preset": "tiny", "set": {**FAST, KIND: "active", "forgetting.forget_every": 3}},
        space={ALPHA: {"kind": "float", "low": 0.0, "high": 2.0}},
        sampler={"kind": "boundary", "options": {"label": "contrast", "n_init": 3}},
        n_trials=4,
        controls=True,
    )
    _, study = sweep_in(tmp_path, store, spec, workers=1)
    trials = study.get_trials()
    points = [t for t in trials if not attrs.is_control(t)]
    assert len(points) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    labels = ContrastLabeller("active").labels(trials)
    assert set(labels) == {t.number for t in points}  # every point has its finished control
    reasons = [t.user_attrs[attrs.PROPOSAL] for t in sorted(points, key=lambda t: t.number)]
    assert reasons[:3] == ["seed design"] * 3
    print(f"contrast labels: {sorted(labels.items())}; proposals: {reasons}")


@pytest.mark.parametrize("kind", ["active", "temporary"])
def test_a_pairs_distance_from_flipping_has_the_sign_of_its_verdict(kind):
    """`contrast_distance` ≥ 0 exactly where `beats_control` says beats (off the ties), and
    its size is how far the nearest of the rule's inequalities is from flipping."""
    grid = np.round(np.arange(-0.6, 0.61, 0.0125), 4)
    for icl in grid:
        for iwl in grid:
            d = contrast_distance(kind, float(icl), float(iwl))
            if abs(d) > 1e-9:
                assert (d > 0) == beats_control(kind, float(icl), float(iwl)), (icl, iwl, d)
    m = CONTRAST_MARGIN
    assert contrast_distance(kind, m + 0.03, 0.0) == pytest.approx(0.03)  # more ICL, by 0.03
    assert contrast_distance(kind, 0.0, 0.0) == pytest.approx(-m)
    gone = contrast_distance(kind, m + 0.2, -m - 0.01)  # head IWL lost by just past the margin
    assert gone == pytest.approx(0.2 if kind == "active" else -0.01)


def test_seed_spread_pools_replicate_pairs_and_assumes_a_prior_until_it_has_enough():
    assert seed_spread([[0.1], [0.2, 0.3]], prior=0.04) == 0.04  # 1 degree of freedom
    groups = [[0.1, 0.2], [0.0, 0.1, 0.2], [0.5]]  # 1 + 2 degrees of freedom
    pooled = math.sqrt((0.005 + 0.02) / 3)
    assert seed_spread(groups, prior=0.04) == pytest.approx(pooled)


def test_a_point_within_twice_the_seed_spread_of_flipping_wants_a_second_seed():
    groups = [[0.30], [0.05], [-0.03], [0.01, 0.02], []]
    # the nearest to flipping with one seed; the point with two seeds is settled
    assert unsettled(groups, [1, 1, 1, 2, 1], spread=0.04) == 2
    assert unsettled(groups, [1, 1, 2, 2, 1], spread=0.04) == 1  # 0.05 < 2 × 0.04
    assert unsettled(groups, [1, 1, 2, 2, 1], spread=0.02) is None  # 0.05 > 2 × 0.02
    assert unsettled(groups, [1, 1, 2, 2, 1], spread=0.02, wanted=3) == 3  # |0.015| < 0.04


def test_past_its_seed_design_the_sampler_gives_a_pair_near_the_margin_a_second_seed():
    """Eight pairs, one seed each: α < 1 beats its control by far, α > 1 falls far short, and at
    α = 0.9 the pair is 0.03 past the margin — within twice the assumed seed spread (0.04). The
    next proposal re-runs that point at a new seed; once that seed is queued, it does not."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    alphas = [0.1, 0.4, 0.7, 0.9, 1.1, 1.3, 1.6, 1.9]
    for i, alpha in enumerate(alphas):
        _trial(study, alpha, "", f"control-{i}", 0, 0.5, 0.5, control=True)
        icl = 0.5 + CONTRAST_MARGIN + 0.03 if alpha == 0.9 else (0.9 if alpha < 1.0 else 0.5)
        _trial(study, alpha, "active", f"p{i}", 0, icl, 0.5, control_of=f"control-{i}")
    study.ask()
    trials = study.get_trials()
    space = {ALPHA: FloatDistribution(0.0, 2.0)}
    sampler = BoundarySampler(space, labeller=ContrastLabeller("active"), n_init=3, seed=0)
    params, reason = sampler.propose(trials, trials[-1])
    assert (reason, params) == ("margin", {ALPHA: 0.9})
    # its second seed queued: the point is settled for now, and the map proposes
    dists = {ALPHA: FloatDistribution(0.0, 2.0), KIND: CategoricalDistribution(["active"])}
    study.add_trial(
        create_trial(
            params={ALPHA: 0.9, KIND: "active"},
            distributions=dists,
            user_attrs={attrs.GROUP: "p3", attrs.REPLICATE: 1},
            state=TrialState.WAITING,
        )
    )
    trials = study.get_trials()
    _, reason = sampler.propose(trials, trials[-2])
    assert reason != "margin"
    # without replicates as candidates, no second seed either
    single = BoundarySampler(
        space, labeller=ContrastLabeller("active"), n_init=3, seed=0, replicates=False
    )
    assert single.propose(study.get_trials()[:-1], trials[-2])[1] != "margin"
