"""The entries of a sweep's search space, one per trial-config key: a float or int range, a
categorical choice, or a grid axis (a bare list in the YAML), and the finite values each takes."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from study.sweep.sampler_specs import BOUNDARY_MAX_AXES, SpecPart

Scalar = bool | int | float | str | None
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _numbers(values: Any) -> Any:
    # YAML 1.1 reads `1e-4` as a string; a grid axis of learning rates should still be numbers.
    if isinstance(values, list):
        return [float(v) if isinstance(v, str) and _NUMBER.match(v) else v for v in values]
    return values


class FloatParam(SpecPart):
    kind: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        if self.high < self.low:
            raise ValueError(f"high={self.high} is below low={self.low}")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("log=true needs low > 0 and no step")
        return self


class IntParam(SpecPart):
    kind: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        if self.high < self.low:
            raise ValueError(f"high={self.high} is below low={self.low}")
        if self.log and (self.low <= 0 or self.step != 1):
            raise ValueError("log=true needs low > 0 and step 1")
        return self


class CategoricalParam(SpecPart):
    kind: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    @field_validator("choices", mode="before")
    @classmethod
    def _numeric(cls, choices: Any) -> Any:
        return _numbers(choices)


class GridParam(SpecPart):
    """An explicit list of values; in a spec, a bare list is short for `{kind: grid, values: ...}`."""

    kind: Literal["grid"]
    values: list[Scalar] = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _numeric(cls, values: Any) -> Any:
        return _numbers(values)


Param = Annotated[FloatParam | IntParam | CategoricalParam | GridParam, Field(discriminator="kind")]


def param_values(param: Param) -> list[Scalar] | None:
    """The finite list of values a parameter takes, or None for a continuous range."""
    if isinstance(param, GridParam):
        return list(param.values)
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    if isinstance(param, IntParam):
        return list(range(param.low, param.high + 1, param.step))
    if param.step is not None:
        n = int((param.high - param.low) / param.step + 1e-9) + 1
        return [round(param.low + i * param.step, 12) for i in range(n)]
    return None


def boundary_space_problem(space: dict[str, Param]) -> tuple[str, Any, str] | None:
    """(key, value, what is allowed) where a space does not suit the `boundary` sampler, which
    fits a smooth map: every varied axis a numeric range, 1 to BOUNDARY_MAX_AXES of them."""
    varied = []
    for name, param in space.items():
        if isinstance(param, FloatParam | IntParam):
            varied += [name] if param.high > param.low else []
        elif len(set(param_values(param) or [])) > 1:
            return (
                f"space.{name}",
                param.model_dump(exclude_none=True),
                "sampler 'boundary' needs numeric ranges (kind: float or int, low, high); "
                "listed values are cells, not a map to trace",
            )
    if not 1 <= len(varied) <= BOUNDARY_MAX_AXES:
        return "space", varied, f"sampler 'boundary' traces 1 to {BOUNDARY_MAX_AXES} numeric axes"
    return None
