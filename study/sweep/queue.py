"""The study's budget as a queue of WAITING trials, so no point runs twice and no budget overruns.

Optuna's own ways both leak under parallel workers: GridSampler can hand the same point to two
workers, and `optimize(n_trials=...)` counts per process. Instead, before any worker starts,
`fill` enqueues what the budget still needs — every grid point × replicate with its params
fixed, or one empty slot per point to sample — and a worker only ever pops a WAITING trial,
which the storage hands to exactly one process. A sampled point's replicates are enqueued by
its first trial (`assign_replicates`), with the params fixed.

Interrupted trials (and queued trials a changed spec cancelled) end FAIL with a
`failure_reason` and do not count against the budget: the next `fill` re-queues their points.

A spec with `controls: true` also queues a control trial (`study.sweep.control_trials`) for every
forgetting point × replicate — by `fill` for a grid, by the point's first trial when sampled —
outside the budget: `n_trials` counts points.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from study.sweep import optuna_private as private
from study.sweep.attrs import (
    CANCELLED,
    CONTROL,
    DUPLICATE,
    GROUP,
    INTERRUPTED,
    REASON,
    REPLICATE,
    WORKER,
    counts,
    is_control,
    key_of,
    point_of,
    used,
)
from study.sweep.control_trials import Control, control_for
from study.sweep.points import grid_points, replicate_group
from study.sweep.spec import SweepSpec


def hostname() -> str:
    """The host a worker records on its trials; `DPL_HOST` overrides it (containers that share
    one name)."""
    return os.environ.get("DPL_HOST") or socket.gethostname()


def control_of(trial: FrozenTrial) -> Control | None:
    """The `Control` a control trial runs (to queue it again), else None."""
    if not is_control(trial):
        return None
    return Control(point_of(trial), trial.user_attrs[CONTROL], trial.user_attrs[GROUP])


def fill(study: optuna.Study, spec: SweepSpec) -> int:
    """Enqueue what the budget still needs; returns how many trials were enqueued. Run it once
    per invocation, before workers start."""
    trials = study.get_trials(deepcopy=False)
    live = [t for t in trials if counts(t)]
    if spec.sampler.kind == "grid":
        wanted = [(p, r) for r in range(spec.replicates) for p in grid_points(spec)][: spec.budget]
        wanted_keys = {(replicate_group(p), r) for p, r in wanted}
        if spec.controls:
            their_controls = ((control_for(spec, p), r) for p, r in wanted)
            wanted_keys |= {(c.group, r) for c, r in their_controls if c is not None}
        _cancel(
            study,
            [t for t in live if t.state == TrialState.WAITING and key_of(t) not in wanted_keys],
        )
        have = {key_of(t) for t in live}
        todo = [(p, r) for p, r in wanted if (replicate_group(p), r) not in have]
        for point, r in todo:
            enqueue(study, point, r)
        controls = queue_controls(study, spec, wanted, have) if spec.controls else 0
        return len(todo) + controls
    added = points = 0
    have = {key_of(t) for t in live}
    for t in trials:  # an interrupted trial with a known point is re-run at that point
        key = key_of(t)
        if not counts(t) and key is not None and key not in have:
            enqueue(study, point_of(t), key[1], control_of(t))
            have.add(key)
            added += 1
            points += not is_control(t)
    slots = (
        spec.budget - used(live) - points
    ) // spec.replicates  # each slot grows into `replicates` trials
    if slots < 0:  # a smaller budget after --force: drop surplus empty slots
        _cancel(
            study, [t for t in live if t.state == TrialState.WAITING and key_of(t) is None][:-slots]
        )
    for _ in range(max(slots, 0)):
        study.enqueue_trial({})
    return added + max(slots, 0)


def enqueue(
    study: optuna.Study, point: dict[str, Any], replicate: int, control: Control | None = None
) -> None:
    if control is None:
        attrs = {REPLICATE: replicate, GROUP: replicate_group(point)}
    else:
        attrs = {REPLICATE: replicate, GROUP: control.group, CONTROL: control.overrides}
    study.enqueue_trial(point, user_attrs=attrs)


def queue_controls(
    study: optuna.Study,
    spec: SweepSpec,
    trials: Iterable[tuple[dict[str, Any], int]],
    have: set[tuple[str, int] | None] | None = None,
) -> int:
    """Queue the missing controls of (point, replicate) pairs; returns how many. Points that
    share a control queue it once; a copy queued by a racing worker is dropped at `claim`."""
    if have is None:
        have = {key_of(t) for t in study.get_trials(deepcopy=False) if counts(t)}
    added = 0
    for point, r in trials:
        control = control_for(spec, point)
        if control is not None and (control.group, r) not in have:
            enqueue(study, control.point, r, control)
            have.add((control.group, r))
            added += 1
    return added


def assign_replicates(
    study: optuna.Study, spec: SweepSpec, trial: optuna.Trial, point: dict[str, Any]
) -> int:
    """The trial's replicate index. A queued trial has one; a freshly sampled point takes the
    first free index of its group and queues `replicates - 1` more (usually 1 … R-1; a sampler
    that proposes a point again gets further seeds there rather than a repeat)."""
    if GROUP in trial.user_attrs:
        return int(trial.user_attrs[REPLICATE])
    group = replicate_group(point)
    taken = {
        key[1]
        for t in study.get_trials(deepcopy=False)
        if counts(t) and (key := key_of(t)) and key[0] == group
    }
    free = [r for r in range(len(taken) + spec.replicates) if r not in taken][: spec.replicates]
    trial.set_user_attr(GROUP, group)
    trial.set_user_attr(REPLICATE, free[0])
    for r in free[1:]:
        enqueue(study, point, r)
    if spec.controls:
        queue_controls(study, spec, [(point, r) for r in free])
    return free[0]


def claim(
    study: optuna.Study, on_claim: Callable[[int], None] | None = None
) -> optuna.Trial | None:
    """Pop a WAITING trial, atomically across processes; None when the queue is empty.

    Trials whose point is decided (grid points, a sampled point's replicates and controls) go
    before empty slots: a point's control then runs next to it, and a sampler that labels its
    trials by their controls (`label: contrast`) or pools replicates sees them before it
    proposes again. (In number order, a sampled study's controls all waited for its last point.)

    Like Optuna's own pop of a waiting trial, but never creating a trial: the queue is the budget. A
    point queued twice (two invocations filling at once) is claimed once; the copy is cancelled.
    `on_claim(trial_id)` runs as soon as the trial is ours (the worker's heartbeat)."""
    while True:
        queued = private.waiting(study)
        if not queued:
            return None
        for frozen in sorted(queued, key=lambda t: (key_of(t) is None, t.number)):
            trial_id = private.trial_id(frozen)
            if not private.take(study, trial_id):
                continue  # another worker took it
            try:
                private.set_system_attr(
                    study, trial_id, WORKER, {"host": hostname(), "pid": os.getpid()}
                )
                if on_claim is not None:
                    on_claim(trial_id)
                if _is_duplicate(study, frozen):
                    end(study, trial_id, DUPLICATE)
                    break  # look at the queue afresh
                return private.live(study, trial_id)
            except KeyboardInterrupt:  # claimed but not yet handed over: give it back
                release(study, trial_id)
                raise


def requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue the point of a trial that gave its budget back (lost, machine fault) again; a
    trial whose point was not yet decided gives back an empty slot."""
    key = key_of(trial)
    if key is None:
        study.enqueue_trial({})
    else:
        enqueue(study, point_of(trial), key[1], control_of(trial))


def _is_duplicate(study: optuna.Study, trial: FrozenTrial) -> bool:
    key = key_of(trial)
    if key is None:
        return False
    others = study.get_trials(deepcopy=False)
    return any(t.number < trial.number and counts(t) and key_of(t) == key for t in others)


def release(
    study: optuna.Study,
    trial_id: int,
    reason: str = INTERRUPTED,
    attrs: dict[str, Any] | None = None,
) -> None:
    """End a trial FAIL with `reason` (and user `attrs`) so that it neither stays RUNNING nor
    uses budget, and queue its point again for whichever worker comes next."""
    if end(study, trial_id, reason, attrs):
        requeue(study, private.frozen(study, trial_id))


def _cancel(study: optuna.Study, trials: Iterable[FrozenTrial]) -> None:
    for t in trials:
        end(study, private.trial_id(t), CANCELLED)


def end(
    study: optuna.Study, trial_id: int, reason: str, attrs: dict[str, Any] | None = None
) -> bool:
    """End a trial FAIL with `reason`; False when it had finished meanwhile (then nothing is
    changed: of two processes ending one trial, exactly one does)."""
    return private.fail(study, trial_id, {**(attrs or {}), REASON: reason})
