"""The phase of a forgetting run's reset cycle (docs/design.md §3, §4), once: which evaluation
steps see the model just before a reset, or once temporary forgetting has ended. Only those
describe comparable states — a point a few steps after an N(0, 1) reset and one just before the
next do not — so only they enter a trial's summary.

Core, and written on plain values, so that the trial (`study.trial.schedule`, from its config)
and analysis (`analysis.time_axis`, from the params a run logged) apply the same rule.
"""

from __future__ import annotations

import math


def aligns(kind: str, align_to_forgetting: bool = True) -> bool:
    """Whether the schedule is aligned at all: only a run with a reset cycle (active or
    temporary forgetting; probabilistic forgetting has none) that asks for it."""
    return kind in ("active", "temporary") and bool(align_to_forgetting)


def last_reset(kind: str, forget_every: int, forget_until: int | None) -> float:
    """The step after which the last reset happens (∞ for active forgetting)."""
    if kind == "active":
        return math.inf
    return (_until(kind, forget_until) - 1) // forget_every * forget_every


def end_of_forgetting(kind: str, forget_until: int | None) -> float:
    """N for temporary forgetting (the last reset is always before it), ∞ for active."""
    return math.inf if kind == "active" else _until(kind, forget_until)


def _until(kind: str, forget_until: int | None) -> int:
    """N of a run that stops forgetting: the config requires one (`ForgettingConfig`)."""
    assert forget_until is not None, f"{kind} forgetting without forget_until"
    return forget_until


def is_aligned(
    step: int,
    kind: str,
    forget_every: int | None,
    forget_until: int | None,
    align_to_forgetting: bool = True,
) -> bool:
    """At the schedule's phase of the reset cycle: just before a reset (a multiple of k while
    resets happen), or past the resets. Every step of a run that does not align."""
    if not aligns(kind, align_to_forgetting):
        return True
    k = forget_every
    assert k is not None, f"{kind} forgetting without forget_every"
    if step <= last_reset(kind, k, forget_until):
        return step % k == 0
    return step >= end_of_forgetting(kind, forget_until)
