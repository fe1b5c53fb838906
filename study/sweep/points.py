"""A spec's points, without Optuna: the grid, the first config, a point's replicate group and
the swept axes. (What a trial asks of Optuna and tells it is `study.sweep.ask_tell`.)"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Mapping
from typing import Any

from study.config import TrialConfig
from study.errors import ConfigError
from study.presets import build_config
from study.sweep.params import FloatParam, IntParam, Scalar, param_values
from study.sweep.spec import SweepSpec


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every point of a grid spec, shuffled by the sampler seed so that a budget smaller than the
    grid still spreads over the whole space (as Optuna's GridSampler does)."""
    axes: dict[str, list[Scalar]] = {}
    for name, param in spec.space.items():
        values = param_values(param)
        assert values is not None, "a grid spec's axes are finite (checked with the spec)"
        axes[name] = values
    points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    random.Random(spec.sampler_seed).shuffle(points)
    return points


def point_config(spec: SweepSpec, point: Mapping[str, Any]) -> TrialConfig:
    """The trial config of `point` (dotted keys, a seed among them or not) on the spec's base:
    its preset, then its overrides, then the point. Raises ConfigError where it does not build."""
    return build_config(spec.base.preset, sets={**spec.base.overrides, **point})


def first_config(spec: SweepSpec) -> TrialConfig | None:
    """The trial config of the spec's first point (a grid's first, else the base alone), or
    None where that does not build: what a study's shape is judged by before it runs."""
    point = grid_points(spec)[0] if spec.sampler.kind == "grid" else {}
    try:
        return point_config(spec, point)
    except ConfigError:
        return None


def replicate_group(point: Mapping[str, Any]) -> str:
    """Identifies a point across its replicates (the same params, seeds seed + r)."""
    return hashlib.sha1(json.dumps(dict(point), sort_keys=True, default=str).encode()).hexdigest()[
        :12
    ]


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
