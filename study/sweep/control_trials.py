"""Control trials of a sweep (`controls: true`): beside every point that forgets, the same point
without forgetting and with its embeddings drawn at the reset std (`study.controls`), one per
replicate (seed), so that `analysis.effects` can read the effect of forgetting beyond the
embedding scale as run − control, point by point.

A control depends only on the point's other axes and its reset std, so points that differ only
in their forgetting schedule (k = 10 and k = 100 at one α) share one control. A control is an
Optuna trial like any other — its params are the point's non-forgetting axes, its `control`
user attribute the overrides that make it a control — queued with the points and claimed by
the same workers; it is not counted in the spec's `n_trials`, which is the points' budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from study.controls import control_overrides
from study.errors import ConfigError
from study.sweep.points import point_config, replicate_group
from study.sweep.spec import SweepSpec

FORGETTING = "forgetting."  # the config section a control drops
GROUP_PREFIX = "control-"


@dataclass(frozen=True)
class Control:
    point: dict[str, Any]  # the controlled point's axes outside `forgetting.*`
    overrides: dict[str, Any]  # no forgetting, embeddings at the reset std
    group: str  # its replicate group: shared by every point it controls


def control_for(spec: SweepSpec, point: dict[str, Any]) -> Control | None:
    """The control of `point`, or None when the point does not forget (or does not build: that
    trial fails on its own)."""
    try:
        cfg = point_config(spec, point)
    except ConfigError:
        return None
    if cfg.forgetting.kind == "none":
        return None
    kept = {k: v for k, v in point.items() if not k.startswith(FORGETTING)}
    overrides = control_overrides(cfg)
    return Control(kept, overrides, GROUP_PREFIX + replicate_group({**kept, **overrides}))
