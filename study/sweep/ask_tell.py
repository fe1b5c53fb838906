"""What a trial asks of Optuna and tells it: `suggest(trial, spec)` for its point, the
objective's directions and names, and the values told at its end.

One `suggest` serves every sampler: a grid point or a replicate is an enqueued trial whose
parameters are fixed, and `trial.suggest_*` returns a fixed value as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import optuna

from study.metric_names import DUAL_SCORE, current
from study.sweep.params import CategoricalParam, FloatParam, GridParam, IntParam
from study.sweep.spec import Direction, SweepSpec


def suggest(
    trial: optuna.Trial, spec: SweepSpec, only: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The trial's point: dotted trial-config key → value, one `suggest_*` per axis (or per axis
    in `only`: a control trial has no forgetting axes)."""
    point: dict[str, Any] = {}
    for name, param in spec.space.items():
        if only is not None and name not in only:
            continue
        if isinstance(param, FloatParam):
            point[name] = trial.suggest_float(
                name, param.low, param.high, log=param.log, step=param.step
            )
        elif isinstance(param, IntParam):
            point[name] = trial.suggest_int(
                name, param.low, param.high, log=param.log, step=param.step
            )
        elif isinstance(param, CategoricalParam):
            point[name] = trial.suggest_categorical(name, one_type(param.choices))
        elif isinstance(param, GridParam):
            point[name] = trial.suggest_categorical(name, one_type(param.values))
    return point


def one_type(values: list[Any]) -> list[Any]:
    """`[0, 0.75, 1.5]` → `[0.0, 0.75, 1.5]`: YAML reads `0` as an int, and an axis whose
    values mix ints and floats shows as two types in Optuna's dashboard. (A queued point keeps
    its value; Optuna stores the choice it equals.)"""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(values) and any(isinstance(v, float) for v in values):
        return [float(v) for v in values]
    return values


def directions(spec: SweepSpec) -> list[Direction]:
    """Optuna needs a direction even for a map: one `maximize` of the dual score (see
    `objective_values`)."""
    return [t.direction for t in spec.targets] or ["maximize"]


def objective_names(spec: SweepSpec) -> list[str]:
    """The names Optuna (and its dashboard) shows for the objective values."""
    return [current(t.metric) for t in spec.targets] or [DUAL_SCORE]


class MissingMetric(KeyError):
    """An objective metric of the contract that this trial's summary lacks (an empty decile):
    the trial fails, the sweep goes on. A name outside the contract fails the spec check."""


def objective_values(spec: SweepSpec, summary: Mapping[str, float]) -> list[float]:
    """The values told to Optuna: the objective metrics, or for a map the dual score. A map
    optimises nothing — its answer is the classified map, and `dpl sweep status` names no best
    trial — but a real value gives the dashboard's history and slice plots something to show."""
    if spec.is_map:
        return [float(summary[DUAL_SCORE])]
    names = [current(t.metric) for t in spec.targets]  # a spec may still say an older name
    missing = [name for name in names if name not in summary]
    if missing:
        raise MissingMetric(f"objective metric(s) {', '.join(missing)} not in this trial's summary")
    return [float(summary[name]) for name in names]


def all_finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)
