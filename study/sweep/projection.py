"""A study's wall time projected from measured pieces (`dpl bench train`): the step time of a
pack at each size, and the time of one evaluation. One worker on one device; sampling is inside
the step time.

    seconds = ⌈trials / K⌉ · steps · step_s(K) + trials · evaluations · eval_s

at the pack size K with the most trial-steps per second that the study can fill. Evaluation is
per trial inside a pack, so it does not shrink with K.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from study.config import TrialConfig
from study.sweep.space import first_config
from study.sweep.spec import SweepSpec


@dataclass(frozen=True)
class Projection:
    study: str
    trials: int
    steps: int
    evaluations: int  # per trial
    pack: int
    seconds: float | None  # None when the study's trials are not the benched shape
    note: str = ""


def project(
    spec: SweepSpec,
    step_s: Mapping[int, float],
    eval_s: float,
    benched: TrialConfig,
) -> Projection:
    """Project `spec` from pack step times {K: seconds} and the evaluation time measured on the
    config `benched`, at its precision; a study of another shape is not projected."""
    from study.trial.pack import pack_key
    from study.trial.schedule import eval_steps

    first = first_config(spec)
    if first is None:
        return Projection(spec.name, spec.budget, 0, 0, 0, None, "its first point does not build")
    cfg = first.model_copy(update={"train": first.train.model_copy(update={"precision": benched.train.precision})})  # fmt: skip
    benched_key = pack_key(benched)
    trials, steps, evals = spec.budget, cfg.train.steps, len(eval_steps(cfg))
    if pack_key(cfg) != benched_key:
        return Projection(spec.name, trials, steps, evals, 0, None, "not the benched shape")
    fits = {k: s for k, s in step_s.items() if k <= max(trials, 1)} or {min(step_s): step_s[min(step_s)]}  # fmt: skip
    best = max(fits, key=lambda k: k / fits[k])
    seconds = math.ceil(trials / best) * steps * fits[best] + trials * evals * eval_s
    return Projection(spec.name, trials, steps, evals, best, seconds)
