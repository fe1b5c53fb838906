"""A sweep spec's values checked against the trial config before any trial runs: a value the
config rejects, or values that clash, fail as a `SpecError` naming the axis and the value."""

from __future__ import annotations

from typing import Any

from study.config import TrialConfig
from study.errors import ConfigError, SpecError, fail_spec
from study.presets import build_config, preset_overrides
from study.sweep.params import CategoricalParam, GridParam, Param, Scalar
from study.task_config import TASK_KINDS


def check_configs(preset: str, base: dict[str, Any], space: dict[str, Param], source: str) -> None:
    """Build trial configs from the spec, so a bad value fails here rather than in every trial:
    each axis value alone on the base (a value the field rejects), the base with every axis at
    its first value (the base may lean on the space: temporary forgetting's N is often an axis),
    then each value with the other axes at their first value (values that clash)."""
    first = {name: _ends(param)[0] for name, param in space.items()}
    for name, param in space.items():
        for value in _ends(param):
            try:
                build_config(preset, sets={**base, name: value})
            except ConfigError as err:
                if err.key == "preset":
                    fail_spec(source, "base.preset", preset, err.allowed)
                if err.key == name:
                    fail_spec(source, f"space.{name}", value, err.allowed)
    try:
        build_config(preset, sets={**base, **first}, source=f"{source}: base.set")
    except ConfigError as err:
        if err.key == "preset":
            fail_spec(source, "base.preset", preset, err.allowed)
        raise SpecError.of(err, message=str(err)) from None
    for name, param in space.items():
        for value in _ends(param):
            try:
                build_config(preset, sets={**base, **first, name: value})
            except ConfigError as err:
                clash = f"{err.key}: got {err.value!r} — {err.allowed}"
                fail_spec(
                    source,
                    f"space.{name}",
                    value,
                    f"clashes with the base and the other axes' first values: {clash}",
                )


TASK_KIND = "task.kind"


def config_keys(preset: str, base: dict[str, Any], space: dict[str, Param]) -> set[str]:
    """The dotted keys a trial of the spec may set: those of each world its base or its
    `task.kind` axis chooses (a POS vocabulary size means nothing to the AR toy). A key of
    another world still fails, in `check_configs`, naming that world's keys."""
    try:
        preset_kind = (preset_overrides(preset).get("task") or {}).get("kind")
    except ConfigError:
        preset_kind = None  # the unknown preset is reported by `check_configs`
    kinds = {str(base.get(TASK_KIND) or preset_kind or "pos")}
    if TASK_KIND in space:
        kinds |= {str(v) for v in _ends(space[TASK_KIND]) if v in TASK_KINDS}
    worlds = (TrialConfig.model_validate({"task": {"kind": kind}}) for kind in kinds)
    return {key for world in worlds for key in world.flat()}


def _ends(param: Param) -> list[Scalar]:
    """The values to validate: every listed value, or a range's two ends (field bounds are
    intervals, so the ends decide; an int axis 100–10000 is 2 checks, not 9,901)."""
    if isinstance(param, GridParam):
        return list(param.values)
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    return [param.low, param.high]
