"""A worker's loop: claim queued trials and run them (alone, or in packs) until the study's
budget is met — then return, wherever the other workers are.

While it holds trials the worker beats for them (`study.sweep.liveness`). With the queue empty
it does not leave while other workers still hold trials: any of them may die, and then its
point comes back to the queue. So it waits, reaping lost trials every beat, until none is
RUNNING. A worker whose trials keep failing — `max_failures` in a row, failed or released for a
machine fault — stops with `WorkerGaveUp` (exit 1) and the reasons, rather than spend the
budget on a broken node.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from study.errors import RuntimeFailure
from study.sweep import liveness, queue
from study.sweep.storage import load, open_storage
from study.sweep.worker import Ended, Sweep, run_one

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
        if ended.state == "complete" or ended.state == "pruned":
            self.reasons.clear()
            return
        if ended.state == "released" and not ended.machine:
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

    def reap(self) -> list:
        s = self.sweep
        grace = liveness.grace_s(s.heartbeat_s)
        return liveness.reap(self.study, s.store, s.spec, s.parent_run_id, s.storage_url, grace)

    def done(self, trial: optuna.Trial) -> None:
        self.beats.drop(trial._trial_id)


def work(
    sweep: Sweep, worker: int = 0, limit: int | None = None, on_progress: OnProgress | None = None
) -> int:
    """Pop and run queued trials (in packs when `sweep.pack` > 1) until the budget is met or
    `limit` trials ran; returns how many ran."""
    study, _ = load(sweep.spec.name, open_storage(sweep.storage_url), worker=worker)
    streak = Streak(sweep.max_failures)
    with liveness.Heartbeat(sweep.storage_url, sweep.heartbeat_s) as beats:
        claimer = Claimer(sweep, study, beats)
        if sweep.pack > 1:
            from study.sweep.packs import work_packs

            return work_packs(sweep, study, claimer, streak, limit, on_progress)
        done = 0
        while limit is None or done < limit:
            trial = claimer.next()
            if trial is None:
                break
            try:
                ended = run_one(sweep, study, trial)
            except KeyboardInterrupt:  # one that landed between run_one's own handlers
                queue.release(study, trial._trial_id)  # a no-op for a trial that ended
                raise
            finally:
                claimer.done(trial)
            done += 1
            if on_progress is not None:
                on_progress(study)
            streak.add(trial.number, ended)
        return done
