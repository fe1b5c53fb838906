"""A worker's loop: claim queued trials and run them — alone, or in packs — until the study's
budget is met; then return, wherever the other workers are.

While it holds trials the worker beats for them (`study.sweep.liveness`). With the queue empty
it does not leave while other workers still hold trials: any of them may die, and then its
point comes back to the queue. So it waits, reaping lost trials every beat, until none is
RUNNING. A worker whose trials keep failing — `max_failures` in a row, failed or released for a
machine fault — stops with `WorkerGaveUp` (exit 1) and the reasons, rather than spend the
budget on a broken node.

In packs (`dpl sweep run --pack K`) it claims up to K queued trials, decides their points, and
trains those that share shapes together (`study.trial.pack`), each still its own Optuna trial
and its own MLflow run. A trial whose shapes differ from the first one held waits for a later
pack. A pack that runs out of GPU memory is tried again as two packs of half its size (down to
one trial, which fails as a machine fault would), and the worker forms no larger pack after it.
A failure of the whole pack fails its trials and the worker goes on, as after one failed trial.
An interrupt releases every trial the worker holds, trained or waiting, in both systems (FAIL
`interrupted`, budget given back; MLflow KILLED), and is raised.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from study.errors import RuntimeFailure, SpecError
from study.states import COMPLETE, PRUNED, RELEASED
from study.sweep import liveness, queue
from study.sweep import optuna_private as private
from study.sweep.storage import load, open_storage
from study.sweep.worker import Begun, Ended, Sweep, begin, conclude, hooks, run_begun, run_one
from study.trial.device import configure_cpu_threads

OnProgress = Callable[[optuna.Study], None]
POLL_S = 1.0  # a waiting worker looks at the study this often (a read), so it leaves promptly


class WorkerGaveUp(RuntimeFailure):
    """`max_failures` trials in a row failed on this worker: exit 1."""


class Streak:
    """Consecutive failed (or machine-released) trials of one worker."""

    def __init__(self, max_failures: int) -> None:
        self.max_failures = max_failures
        self.reasons: list[str] = []

    def add(self, trial_number: int, ended: Ended) -> None:
        if ended.state in (COMPLETE, PRUNED):
            self.reasons.clear()
            return
        if ended.state == RELEASED and not ended.machine:
            return  # an interrupt says nothing about the node
        self.reasons.append(f"trial {trial_number}: {ended.reason}")
        print(f"trial {trial_number} {ended.state}: {ended.reason}", file=sys.stderr)
        if self.max_failures and len(self.reasons) >= self.max_failures:
            lines = "\n  ".join(self.reasons)
            raise WorkerGaveUp(
                f"{len(self.reasons)} trials in a row failed on this worker; it stops:\n  {lines}"
            )


class Claimer:
    """Claims trials for one worker, beating for them, and waits for the others' trials once
    the queue is empty."""

    def __init__(self, sweep: Sweep, study: optuna.Study, beats: liveness.Heartbeat) -> None:
        self.sweep, self.study, self.beats = sweep, study, beats

    def next(self, *, wait: bool = True) -> optuna.Trial | None:
        """A claimed trial; None when nothing is queued and (with `wait`) nothing runs
        elsewhere either."""
        while True:
            trial = queue.claim(self.study, on_claim=self.beats.hold)
            if trial is not None or not wait:
                return trial
            if self.reap():
                continue  # their points are queued again
            if not self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                return None
            time.sleep(min(self.sweep.heartbeat_s, POLL_S))

    def reap(self) -> list[FrozenTrial]:
        s = self.sweep
        grace = liveness.grace_s(s.heartbeat_s)
        return liveness.reap(self.study, s.store, s.spec, s.parent_run_id, s.storage_url, grace)

    def done(self, trial: optuna.Trial) -> None:
        self.beats.drop(private.trial_id(trial))


def work(
    sweep: Sweep, worker: int = 0, limit: int | None = None, on_progress: OnProgress | None = None
) -> int:
    """Pop and run queued trials (in packs when `sweep.pack` > 1) until the budget is met or
    `limit` trials ran; returns how many ran. Every worker — `dpl sweep run`'s, a spawned one,
    `dpl sweep worker` — sets its torch threads here: one on the CPU unless the user said
    otherwise (`configure_cpu_threads`). A `dpl sweep worker` once kept torch's default, two
    threads on a 2-core machine beside another worker, and a 38 s trial took 60 minutes."""
    configure_cpu_threads(sweep.device)
    study, _ = load(sweep.spec.name, open_storage(sweep.storage_url), worker=worker)
    streak = Streak(sweep.max_failures)
    with liveness.Heartbeat(sweep.storage_url, sweep.heartbeat_s) as beats:
        claimer = Claimer(sweep, study, beats)
        if sweep.pack > 1:
            return work_packs(sweep, study, claimer, streak, limit, on_progress)
        done = 0
        while limit is None or done < limit:
            trial = claimer.next()
            if trial is None:
                break
            try:
                ended = run_one(sweep, study, trial)
            except KeyboardInterrupt:  # one that landed between run_one's own handlers
                queue.release(study, private.trial_id(trial))  # a no-op once it ended
                raise
            finally:
                claimer.done(trial)
            done += 1
            if on_progress is not None:
                on_progress(study)
            streak.add(trial.number, ended)
        return done


# ---- packs --------------------------------------------------------------------------------------


def work_packs(
    sweep: Sweep,
    study: optuna.Study,
    claimer: Claimer,
    streak: Streak,
    limit: int | None = None,
    on_progress: OnProgress | None = None,
) -> int:
    """Claim, pack and train queued trials until the budget is met (or `limit` ran); returns
    how many ran."""
    from study.trial.pack import pack_key, trains_alone  # torch loads here, not at CLI start

    held: list[Begun] = []
    done, size = 0, PackSize(sweep.pack)
    try:
        while True:
            while len(held) < size.limit and (limit is None or done + len(held) < limit):
                trial = claimer.next(wait=not held)  # with trials in hand, train them now
                if trial is None:
                    break
                try:
                    begun = begin(sweep, study, trial)
                except KeyboardInterrupt:
                    queue.release(study, private.trial_id(trial))
                    raise
                if isinstance(begun, Ended):  # its config failed: the trial has ended
                    _ended(claimer, streak, trial, begun)
                    done += 1
                elif trains_alone(begun.cfg):  # compiled, frozen or own-rate embeddings
                    _ended(claimer, streak, trial, run_begun(sweep, study, begun))
                    done += 1
                else:
                    held.append(begun)
            if not held:
                return done
            key = pack_key(held[0].cfg)
            group = [b for b in held if pack_key(b.cfg) == key]
            held = [b for b in held if pack_key(b.cfg) != key]
            for b, ended in zip(group, run_group(sweep, study, group, size), strict=True):
                _ended(claimer, streak, b.trial, ended)
            done += len(group)
            if on_progress is not None:
                on_progress(study)
    except KeyboardInterrupt:
        for waiting in held:
            queue.release(study, private.trial_id(waiting.trial))
        raise


def _ended(claimer: Claimer, streak: Streak, trial: optuna.Trial, ended: Ended) -> None:
    claimer.done(trial)
    streak.add(trial.number, ended)


@dataclass
class PackSize:
    """The most trials a worker packs: lowered when a pack ran out of memory."""

    limit: int


def run_group(
    sweep: Sweep, study: optuna.Study, group: list[Begun], size: PackSize | None = None
) -> list[Ended]:
    """Train `group` as one pack and tell Optuna how each trial ended; a group of one trains
    unpacked (the mapped function costs more than it shares with no one). Out of memory, the
    group trains again as two halves."""
    from study.tracking.trial_run import PackedRun, run_pack

    if len(group) == 1:
        return [run_begun(sweep, study, group[0])]

    runs = []
    for b in group:
        on_eval, on_step = hooks(sweep, b)
        runs.append(PackedRun(b.cfg, b.tags, b.run_name, on_eval, on_step))
    try:
        outcomes = run_pack(
            runs,
            store=sweep.store,
            experiment=sweep.spec.experiment_name,
            device=sweep.device,
            parent_run_id=sweep.parent_run_id,
            pruned_exceptions=(optuna.TrialPruned,),
            curve_figure=sweep.curve_figure,
        )
    except BaseException as err:  # the whole pack: interrupted, or a failure of its own
        if _out_of_memory(err):
            return _halves(sweep, study, group, size or PackSize(len(group)))
        ends = [conclude(sweep, study, b, err) for b in group]
        if isinstance(err, KeyboardInterrupt | SpecError):
            raise
        return ends
    ends = [conclude(sweep, study, b, o) for b, o in zip(group, outcomes, strict=True)]
    stop = next((o for o in outcomes if isinstance(o, SpecError)), None)
    if stop is not None:  # every trial would fail the same way
        raise stop
    return ends


def _out_of_memory(err: BaseException) -> bool:
    return type(err).__name__ == "OutOfMemoryError" or "out of memory" in str(err)


def _halves(sweep: Sweep, study: optuna.Study, group: list[Begun], size: PackSize) -> list[Ended]:
    """`group` again as two packs of half its size, after freeing what the failed one held."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    half = (len(group) + 1) // 2
    size.limit = min(size.limit, half)
    return run_group(sweep, study, group[:half], size) + run_group(sweep, study, group[half:], size)
