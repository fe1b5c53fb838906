"""One trial of a sweep, from its claim to its end: decide its point, train it as one
`run_trial`, tell Optuna how it ended. (The loop that claims trials is `study.sweep.loop`.)

A trial that fails (exception, non-finite loss, timeout, a config that does not validate) ends
FAIL in Optuna and FAILED in MLflow with its reason; a pruned one PRUNED / KILLED with a `pruned`
tag. A fault of the machine rather than of the point — CUDA out of memory, a tracking server
that stopped answering — releases the trial (FAIL `machine: …`, budget given back, point queued
again). An interrupt releases the running trial (FAIL, reason `interrupted`) and re-raises.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from study.config import TrialConfig
from study.errors import ConfigError, SpecError
from study.metric_names import current
from study.states import COMPLETE, FAILED, PRUNED, RELEASED
from study.sweep import attrs, mlflow_link, queue
from study.sweep import optuna_private as private
from study.sweep.ask_tell import (
    MissingMetric,
    all_finite,
    objective_names,
    objective_values,
    suggest,
)
from study.sweep.control_trials import control_for
from study.sweep.defaults import HEARTBEAT_S, MAX_FAILURES
from study.sweep.failures import TrialTimeout, failure_reason, is_machine_fault
from study.sweep.points import point_config
from study.sweep.spec import SEED_KEY, SweepSpec
from study.tracking import schema
from study.tracking.logger import rounded
from study.tracking.store import Store
from study.tracking.uninterrupted import held_interrupts

if TYPE_CHECKING:  # torch loads with the trial, not when the CLI starts
    from study.tracking.trial_run import CurveFigure, TrialResult
    from study.trial.lane import OnEval, OnStep


@dataclass(frozen=True)
class Sweep:
    """What every worker needs; picklable, so spawned processes get it as an argument."""

    spec: SweepSpec
    store: Store
    storage_url: str
    parent_run_id: str
    device: str = "auto"
    curve_figure: CurveFigure | None = None  # each trial run's figure, drawn by the caller
    pack: int = 1  # trials trained together (study.sweep.loop); 1: one at a time
    heartbeat_s: int = HEARTBEAT_S  # study.sweep.liveness
    max_failures: int = MAX_FAILURES  # consecutive failed trials before a worker stops


class Ended(NamedTuple):
    """How a trial ended: complete, pruned, failed (counts) or released (gives its budget
    back), with the reason of the last two."""

    state: str
    reason: str | None = None
    machine: bool = False  # released for a fault of the machine


def run_one(sweep: Sweep, study: optuna.Study, trial: optuna.Trial) -> Ended:
    """Train one claimed trial and tell Optuna how it ended."""
    begun = begin(sweep, study, trial)
    if isinstance(begun, Ended):
        return begun
    return run_begun(sweep, study, begun)


def run_begun(sweep: Sweep, study: optuna.Study, begun: Begun) -> Ended:
    """Train a begun trial alone and tell Optuna how it ended."""
    try:
        result = run_trial_for(sweep, begun)
    except BaseException as err:
        ended = conclude(sweep, study, begun, err)
        if isinstance(err, KeyboardInterrupt | SpecError):
            raise
        return ended
    return conclude(sweep, study, begun, result)


@dataclass(frozen=True)
class Begun:
    """A claimed trial with its point decided and its config built, ready to train."""

    trial: optuna.Trial
    cfg: TrialConfig
    tags: dict[str, str]
    run_name: str
    point: dict[str, Any]
    seed: int


def begin(sweep: Sweep, study: optuna.Study, trial: optuna.Trial) -> Begun | Ended:
    """Decide the trial's point (and replicate) and build its config; a config that does not
    validate fails the trial here (its `Ended`), with a FAILED run that says why."""
    spec, store = sweep.spec, sweep.store
    control = trial.user_attrs.get(attrs.CONTROL)  # the overrides of a control trial
    point = suggest(trial, spec, only=private.fixed_params(trial) if control else None)
    replicate = queue.assign_replicates(study, spec, trial, point)
    group = trial.user_attrs[attrs.GROUP]
    seed = spec.seed + replicate
    trial.set_user_attr(attrs.SEED, seed)
    tags = mlflow_link.child_tags(spec, trial.number, group, replicate, control=bool(control))
    if spec.controls and not control and (its := control_for(spec, point)) is not None:
        tags[schema.CONTROL] = its.group
        trial.set_user_attr(attrs.CONTROL_GROUP, its.group)
    name = mlflow_link.run_name(point, seed, control=bool(control))
    try:
        cfg = point_config(spec, {**point, **(control or {}), SEED_KEY: seed})
    except ConfigError as err:
        reason = f"ConfigError: {err}"
        parent = sweep.parent_run_id
        run_id = mlflow_link.record_failure(store, spec, parent, tags, point, reason, name)
        return _fail(study, trial, run_id, reason)
    return Begun(trial, cfg, tags, name, point, seed)


def conclude(
    sweep: Sweep, study: optuna.Study, begun: Begun, outcome: TrialResult | BaseException
) -> Ended:
    """Tell Optuna how the trial ended: pruned, released (an interrupt or a machine fault:
    budget given back), failed (with its reason) or complete with its objective values, told
    as finely as MLflow stores them.

    A trial that another process ended meanwhile — reaped as lost while this worker was cut
    off from the storage longer than the grace period — stays as that process left it (its
    point is queued again); this worker's result lives on in its MLflow run only."""
    try:
        with held_interrupts():  # a trial is told whole: an interrupt waits the few writes out
            return _conclude(sweep, study, begun, outcome)
    except SpecError:  # a ValueError too, but this worker's own finding: its trial it ended
        raise
    except (UpdateFinishedTrialError, ValueError) as err:
        frozen = private.frozen(study, private.trial_id(begun.trial))
        if not frozen.state.is_finished() or isinstance(outcome, KeyboardInterrupt):
            raise
        reason = f"ended elsewhere ({frozen.user_attrs.get(attrs.REASON, frozen.state.name)})"
        print(f"trial {begun.trial.number}: {reason}; {err}", file=sys.stderr)
        return Ended(RELEASED, reason)


def _conclude(
    sweep: Sweep, study: optuna.Study, begun: Begun, outcome: TrialResult | BaseException
) -> Ended:
    spec, store, trial = sweep.spec, sweep.store, begun.trial
    if isinstance(outcome, optuna.TrialPruned):
        mlflow_link.link(trial, _child(sweep, trial))
        trial.set_user_attr(attrs.PRUNED, True)
        study.tell(trial, state=TrialState.PRUNED)
        return Ended(PRUNED)
    if isinstance(outcome, KeyboardInterrupt):
        run_id = None
        try:
            run_id = _child(sweep, trial)  # run_trial ended it KILLED
        finally:  # even on a second Ctrl-C: the trial must not stay RUNNING
            run_attrs = {attrs.RUN: run_id} if run_id else {}
            queue.release(study, private.trial_id(trial), attrs=run_attrs)
        return Ended(RELEASED, attrs.INTERRUPTED)
    if isinstance(outcome, BaseException) and is_machine_fault(outcome):
        return _release_for_machine(sweep, study, trial, failure_reason(outcome))
    if isinstance(outcome, BaseException):  # the trial failed, the sweep goes on
        return _fail(study, trial, _child(sweep, trial), failure_reason(outcome))
    result = outcome
    mlflow_link.link(trial, result.run_id)
    # scalars under the metric names, rounded as MLflow stores them: the dashboard plots them
    n = begun.cfg.eval.n_examples
    for key, value in rounded(result.summary, n).items():
        trial.set_user_attr(key, value)
    trial.set_user_attr(attrs.REGIME, result.regime)
    trial.set_user_attr(attrs.TRANSIENT, result.transient)
    note = mlflow_link.outcome_note(begun.point, begun.seed, result.regime, result.summary)
    mlflow_link.describe(store, result.run_id, note)
    try:
        values = objective_values(spec, result.summary)
    except MissingMetric as err:  # a name the spec check let through: absent from this trial
        mlflow_link.fail_run(store, result.run_id, err.args[0])
        return _fail(study, trial, result.run_id, err.args[0])
    names = objective_names(spec)  # one at a time: two objectives may name one metric
    values = [rounded({k: v}, n)[k] for k, v in zip(names, values, strict=True)]
    if not all_finite(values):
        reason = f"objective not finite: {values}"
        mlflow_link.fail_run(store, result.run_id, reason)
        return _fail(study, trial, result.run_id, reason)
    study.tell(trial, values)
    return Ended(COMPLETE)


def hooks(sweep: Sweep, begun: Begun) -> tuple[OnEval, OnStep]:
    """The trial's callbacks: the spec's deadline after every step, pruning after every
    evaluation (told as finely as MLflow stores it)."""
    trial, n_examples = begun.trial, begun.cfg.eval.n_examples
    spec = sweep.spec
    deadline = time.monotonic() + spec.trial_timeout_s if spec.trial_timeout_s else None
    pruning = spec.pruning

    def check_deadline(step: int) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise TrialTimeout(f"timeout: over {spec.trial_timeout_s:g} s at step {step}")

    def on_eval(step: int, metrics: dict[str, float]) -> None:
        check_deadline(step)
        if pruning is None:
            return
        metric = current(pruning.metric)  # a spec may still say an older name
        if metric not in metrics:  # checked with the spec: only an empty decile is absent
            return
        trial.report(rounded({metric: metrics[metric]}, n_examples)[metric], step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step}")

    return on_eval, check_deadline


def run_trial_for(sweep: Sweep, begun: Begun) -> TrialResult:
    """`run_trial` with the sweep's deadline and pruning hooked into its callbacks."""
    from study.tracking.trial_run import run_trial  # torch loads here, not when the CLI starts

    on_eval, on_step = hooks(sweep, begun)
    return run_trial(
        begun.cfg,
        store=sweep.store,
        experiment=sweep.spec.experiment_name,
        device=sweep.device,
        parent_run_id=sweep.parent_run_id,
        tags=begun.tags,
        run_name=begun.run_name,
        on_eval=on_eval,
        on_step=on_step,
        pruned_exceptions=(optuna.TrialPruned,),
        curve_figure=sweep.curve_figure,
    )


def _release_for_machine(
    sweep: Sweep, study: optuna.Study, trial: optuna.Trial, reason: str
) -> Ended:
    """Give the trial's budget back and queue its point again: another machine (or this one,
    repaired) can run it. Its run, if the tracking server still answers, ends KILLED."""
    run_id = None
    try:
        run_id = _child(sweep, trial)
        if run_id is not None:
            mlflow_link.kill_run(sweep.store, run_id, attrs.MACHINE + reason, ended_too=True)
    except Exception:  # the server is what failed: the Optuna side is what must stay right
        pass
    run_attrs = {attrs.RUN: run_id} if run_id else {}
    queue.release(study, private.trial_id(trial), (attrs.MACHINE + reason)[:2000], run_attrs)
    return Ended(RELEASED, attrs.MACHINE + reason, machine=True)


def _fail(study: optuna.Study, trial: optuna.Trial, run_id: str | None, reason: str) -> Ended:
    mlflow_link.link(trial, run_id)
    trial.set_user_attr(attrs.REASON, reason[:2000])
    study.tell(trial, state=TrialState.FAIL)
    return Ended(FAILED, reason)


def _child(sweep: Sweep, trial: optuna.Trial) -> str | None:
    return mlflow_link.find_child(sweep.store, sweep.spec, sweep.parent_run_id, trial.number)
