"""When to evaluate: every n steps (the paper's), or log-spaced — dense early, where transience
happens, sparse later (from step total/200 on). Both include step 0 (the untrained model) and the
final step.

A forgetting run is evaluated at one phase of its reset cycle (docs/design.md §3): just before a
reset, i.e. at multiples of k while resets happen (the loop evaluates, then resets), and
anywhere once temporary forgetting has ended (step ≥ N). Scheduled points are moved there; a
final step that falls mid-cycle stays in the schedule (it is the run's end state) with the last
aligned step beside it, and only aligned points enter the summary features (`is_aligned`).
Without that, some points would sit a few steps after an N(0, 1) reset and others just before
one, and peak, transience and the final value would compare unlike states.
"""

from __future__ import annotations

import numpy as np

from study import reset_cycle as cycle
from study.config import TrialConfig


def eval_steps(cfg: TrialConfig) -> list[int]:
    """The evaluation steps of a trial, aligned with its forgetting cycle when it has one."""
    total, e = cfg.train.steps, cfg.eval
    if e.schedule == "every":
        steps = set(range(0, total + 1, e.every))
    else:
        points = np.geomspace(max(1, total // 200), total, e.n_points).round().astype(int)
        steps = {0, *np.unique(points).tolist()}
    steps.add(total)
    if aligns(cfg):  # the final step stays (the end state) beside its aligned twin
        steps = {_align(step, cfg) for step in steps} | {total}
    return sorted(s for s in steps if s <= total)


def aligns(cfg: TrialConfig) -> bool:
    return cycle.aligns(cfg.forgetting.kind, cfg.eval.align_to_forgetting)


def is_aligned(step: int, cfg: TrialConfig) -> bool:
    """At the schedule's phase of the reset cycle: just before a reset, or past the resets
    (the rule lives in core, `study.reset_cycle`, so that analysis applies it too)."""
    f = cfg.forgetting
    return cycle.is_aligned(
        step, f.kind, f.forget_every, f.forget_until, cfg.eval.align_to_forgetting
    )


def _last_reset(cfg: TrialConfig) -> float:
    f = cfg.forgetting
    return cycle.last_reset(f.kind, f.forget_every, f.forget_until)


def _end_of_forgetting(cfg: TrialConfig) -> float:
    return cycle.end_of_forgetting(cfg.forgetting.kind, cfg.forgetting.forget_until)


def _align(step: int, cfg: TrialConfig) -> int:
    """The aligned step nearest below `step` (the first reset's for an early point; the end of
    forgetting for a point between the last reset and N)."""
    if step == 0 or is_aligned(step, cfg):
        return step
    k = cfg.forgetting.forget_every
    if step <= _last_reset(cfg):
        return max(step // k * k, k)
    return int(_end_of_forgetting(cfg))
