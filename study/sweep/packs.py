"""A worker that trains its trials in packs (`dpl sweep run --pack K`): it claims up to K queued
trials, decides their points, and trains those that share shapes together (`study.trial.pack`),
each still its own Optuna trial and its own MLflow run.

A pack that runs out of GPU memory is tried again as two packs of half its size (down to one
trial, which fails as a machine fault would), and the worker forms no larger pack after it.

A trial whose shapes differ from the first one held waits for a later pack. A failure of the
whole pack fails its trials and the worker goes on, as after one failed trial. An interrupt
releases every trial the worker holds, trained or waiting, in both systems (FAIL `interrupted`,
budget given back; MLflow KILLED), and is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna

from study.sweep import queue
from study.sweep.spec import SpecError
from study.sweep.worker import Begun, Ended, Sweep, begin, conclude, hooks, run_begun

if TYPE_CHECKING:
    from study.sweep.loop import Claimer, Streak


def work_packs(
    sweep: Sweep,
    study: optuna.Study,
    claimer: Claimer,
    streak: Streak,
    limit: int | None = None,
    on_progress: Callable[[optuna.Study], None] | None = None,
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
                    queue.release(study, trial._trial_id)
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
            queue.release(study, waiting.trial._trial_id)
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
