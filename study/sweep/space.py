"""A spec's search space in Optuna terms: `suggest(trial, spec)`, the grid, sampler and pruner.

One `suggest` serves every sampler: a grid point or a replicate is an enqueued trial whose
parameters are fixed, and `trial.suggest_*` returns a fixed value as it is.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Mapping
from typing import Any

import optuna

from study.config import TrialConfig
from study.errors import ConfigError
from study.metric_names import DUAL_SCORE, current
from study.presets import build_config
from study.sweep.params import CategoricalParam, FloatParam, GridParam, IntParam, param_values
from study.sweep.spec import SweepSpec


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


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every point of a grid spec, shuffled by the sampler seed so that a budget smaller than the
    grid still spreads over the whole space (as Optuna's GridSampler does)."""
    axes = {name: param_values(param) for name, param in spec.space.items()}
    points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    random.Random(spec.sampler_seed).shuffle(points)
    return points


def first_config(spec: SweepSpec) -> TrialConfig | None:
    """The trial config of the spec's first point (a grid's first, else the base alone), or
    None where that does not build: what a study's shape is judged by before it runs."""
    point = grid_points(spec)[0] if spec.sampler.kind == "grid" else {}
    try:
        return build_config(spec.base.preset, sets={**spec.base.overrides, **point})
    except ConfigError:
        return None


def replicate_group(point: Mapping[str, Any]) -> str:
    """Identifies a point across its replicates (the same params, seeds seed + r)."""
    return hashlib.sha1(json.dumps(dict(point), sort_keys=True, default=str).encode()).hexdigest()[
        :12
    ]


def directions(spec: SweepSpec) -> list[str]:
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


def build_sampler(spec: SweepSpec, worker: int = 0) -> optuna.samplers.BaseSampler:
    """The spec's sampler. Each worker process gets its own seed (seed + worker) so parallel
    workers do not propose the same points — except Sobol, whose workers must share one sequence."""
    seed, kind = spec.sampler_seed, spec.sampler.kind
    options = spec.sampler.options.model_dump()
    if kind == "grid":
        # The grid lives in the trial queue (`queue.fill`): every trial has fixed params,
        # so this sampler is never consulted; GridSampler itself can run a point twice in parallel.
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed + worker)
    if kind == "sobol":
        return optuna.samplers.QMCSampler(
            qmc_type="sobol", seed=seed, **options, warn_asynchronous_seeding=False
        )
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed + worker, **options)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed + worker, **options)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed + worker, **options)
    if kind == "boundary":  # every worker shares the seed: proposals are seeded by trial number
        # imported here: the sampler reads the queue, which reads this module
        from study.sweep.boundary import BoundarySampler, Labeller, distributions, regime_label

        cfg = first_config(spec)
        labeller = Labeller.of(cfg) if cfg is not None else regime_label
        return BoundarySampler(distributions(spec.space), labeller=labeller, seed=seed, **options)
    raise AssertionError(f"unhandled sampler kind {kind!r}")  # the spec's Literal rules it out


def build_pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    pruning = spec.pruning
    if pruning is None:
        return optuna.pruners.NopPruner()
    if pruning.kind == "median":
        return optuna.pruners.MedianPruner(**pruning.options.model_dump())
    return optuna.pruners.HyperbandPruner(**pruning.options.model_dump())


def axes(spec: SweepSpec) -> dict[str, str]:
    """The varied axes of the space, in spec order, with their scale: 'log' or 'linear' for a
    numeric range, 'categorical' for listed values (a schedule gets cells, not a smooth map;
    a numeric list's scale is left to analysis). Written on the study's parent run
    (`schema.AXES`), so that analysis reads what was swept from the tracking store."""
    out: dict[str, str] = {}
    for key, param in spec.space.items():
        if isinstance(param, FloatParam | IntParam):
            if param.high > param.low:
                out[key] = "log" if param.log else "linear"
        elif len(set(param_values(param) or [])) > 1:
            out[key] = "categorical"
    return out
