"""A sweep spec (`sweeps/*.yaml`): typed, frozen, validated once at the edge.

A spec names a study and says what to vary (`space`, any trial-config key), how to pick points
(`sampler`), what to optimise (`objective`: `map` or metrics with directions) and the budget
(`n_trials` over the whole study, `replicates` seeds per point), and whether every forgetting
point gets its control (`controls`). Every mistake is a `SpecError`
naming the file, the key path, the value and what is allowed; the CLI exits 2 on it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

from study.errors import SpecError, fail_spec, validation_error
from study.metric_names import EVALUATED, SUMMARIZED, closest, current
from study.presets import read_yaml
from study.sweep.params import (
    Param,
    boundary_space_problem,
    param_values,
)
from study.sweep.sampler_specs import (
    MAP_SAMPLERS,
    HyperbandPrunerSpec,
    MedianPrunerSpec,
    PrunerSpec,
    SamplerSpec,
    SpecPart,
)
from study.sweep.spec_configs import check_configs, config_keys

Direction = Literal["maximize", "minimize"]
SEED_KEY = "train.seed"  # owned by the sweep: each replicate r trains with seed + r


class Target(SpecPart):
    metric: str = Field(description="a trial's summary metric: summary/dual_score, icl/structural")
    direction: Direction


class Base(SpecPart):
    preset: str
    overrides: dict[str, Any] = Field(default_factory=dict, alias="set")


# ---- the spec ------------------------------------------------------------------------------


class SweepSpec(SpecPart):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="the Optuna study name")
    description: str = ""
    seed: int = Field(0, ge=0)
    experiment: str | None = Field(
        None, min_length=1, description="MLflow experiment; default: the name"
    )
    base: Base
    space: dict[str, Param] = Field(min_length=1)
    sampler: SamplerSpec
    objective: list[Target] = Field(
        default_factory=list, description="'map' (= []) or metrics to optimise"
    )
    n_trials: int | None = Field(
        None, ge=1, description="budget of the whole study; grid: default all"
    )
    replicates: int = Field(1, ge=1, description="seeds per point, seed + r, each its own trial")
    controls: bool = Field(
        False,
        description="queue a control (no forgetting, embeddings at the reset std) beside every "
        "forgetting point and replicate, outside n_trials; needs objective 'map'",
    )
    pruner: PrunerSpec | None = None
    trial_timeout_s: float | None = Field(None, gt=0, description="a trial running longer fails")

    @field_validator("space", mode="before")
    @classmethod
    def _bare_lists(cls, space: Any) -> Any:
        if isinstance(space, dict):
            return {
                k: {"kind": "grid", "values": v} if isinstance(v, list) else v
                for k, v in space.items()
            }
        return space

    @field_validator("objective", mode="before")
    @classmethod
    def _map_or_targets(cls, objective: Any) -> Any:
        if objective == "map":
            return []
        if isinstance(objective, str):
            raise ValueError("expected 'map' or a list of {metric, direction}")
        return [objective] if isinstance(objective, dict) else objective

    @field_serializer("objective")
    def _show_map(self, objective: list[Target]) -> Any:
        return objective or "map"

    @property
    def is_map(self) -> bool:
        return not self.objective

    @property
    def targets(self) -> list[Target]:
        return list(self.objective)

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

    @property
    def sampler_seed(self) -> int:
        return self.seed if self.sampler.seed is None else self.sampler.seed

    @property
    def pruning(self) -> MedianPrunerSpec | HyperbandPrunerSpec | None:
        return None if self.pruner is None or self.pruner.kind == "none" else self.pruner

    def grid_size(self) -> int | None:
        """Points of the grid (without replicates), or None when a parameter is continuous."""
        size = 1
        for param in self.space.values():
            values = param_values(param)
            if values is None:
                return None
            size *= len(values)
        return size

    @property
    def budget(self) -> int:
        """Trials the whole study runs, replicates included."""
        if self.n_trials is not None:
            return self.n_trials
        return (self.grid_size() or 0) * self.replicates

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def spec_hash(spec: SweepSpec) -> str:
    """What identifies a study's points; a reworded description or `controls` does not change it."""
    # Controls add trials beside the points and change none: turning them on continues a study.
    tree = {k: v for k, v in spec.to_json().items() if k not in ("description", "controls")}
    return hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()[:16]


def load_spec(path: str | Path, *, controls: bool | None = None) -> SweepSpec:
    """Read and validate `path`; any mistake is a `SpecError` naming the file and the key.
    `controls` overrides the spec's (the `--with-controls` flag)."""
    tree = read_yaml(path)
    if controls is not None:
        tree = {**tree, "controls": controls}
    return parse_spec(tree, source=str(path))


def parse_spec(tree: dict[str, Any], source: str = "spec") -> SweepSpec:
    try:
        spec = SweepSpec.model_validate(tree)
    except ValidationError as err:
        raise validation_error(SpecError, err, tree, SweepSpec, source) from None
    _check(spec, source)
    return spec


# ---- checks pydantic cannot express: the parts against each other and the trial config ------


def _check(spec: SweepSpec, source: str) -> None:
    keys = config_keys(spec.base.preset, spec.base.overrides, spec.space)
    for name in spec.space:
        if name == SEED_KEY:
            fail_spec(
                source,
                f"space.{name}",
                name,
                "the seed is set per replicate (seed + r); use replicates",
            )
        if name not in keys:
            fail_spec(
                source,
                f"space.{name}",
                name,
                f"not a trial-config key; allowed: {', '.join(sorted(keys))}",
            )
        if name in spec.base.overrides:
            fail_spec(source, f"space.{name}", name, "also fixed in base.set; keep it in one place")
    if SEED_KEY in spec.base.overrides:
        fail_spec(
            source,
            f"base.set.{SEED_KEY}",
            spec.base.overrides[SEED_KEY],
            "the sweep sets it: seed + replicate",
        )
    _check_metrics(spec, source)
    kind = spec.sampler.kind
    if spec.is_map and kind not in MAP_SAMPLERS:
        fail_spec(
            source,
            "sampler.kind",
            kind,
            f"objective 'map' optimises nothing; use {', '.join(MAP_SAMPLERS)}",
        )
    if kind == "boundary" and (problem := boundary_space_problem(spec.space)):
        fail_spec(source, *problem)
    if spec.controls and not spec.is_map:
        fail_spec(
            source,
            "controls",
            True,
            "controls belong to a map (objective 'map'): a control is not a point to optimise",
        )
    label = getattr(spec.sampler.options, "label", "regime")
    if label == "contrast" and not spec.controls:
        fail_spec(
            source,
            "sampler.options.label",
            label,
            "a map of forgetting against its control needs controls: true",
        )
    if spec.pruning is not None and len(spec.targets) != 1:
        fail_spec(
            source,
            "pruner.kind",
            spec.pruning.kind,
            "pruning needs exactly one objective metric; use none",
        )
    if kind == "grid":
        for name, param in spec.space.items():
            if param_values(param) is None:
                fail_spec(
                    source,
                    f"space.{name}",
                    param.model_dump(),
                    "a grid needs finite values: add step, or list them",
                )
        full = (spec.grid_size() or 0) * spec.replicates  # finite: each axis was checked above
        if spec.n_trials is not None and spec.n_trials > full:
            fail_spec(
                source, "n_trials", spec.n_trials, f"at most the grid's {full} points × replicates"
            )
    elif spec.n_trials is None:
        fail_spec(
            source, "n_trials", None, f"required for sampler {kind!r} (only a grid knows its size)"
        )
    elif spec.n_trials % spec.replicates:
        fail_spec(source, "n_trials", spec.n_trials, f"a multiple of replicates={spec.replicates}")
    check_configs(spec.base.preset, spec.base.overrides, spec.space, source)


def _check_metrics(spec: SweepSpec, source: str) -> None:
    """Every metric the spec names is one a trial of it logs (an older dotted name through its
    mapping): an objective reads a trial's summary, a pruner each evaluation."""
    named = [(f"objective[{i}].metric", t.metric, SUMMARIZED) for i, t in enumerate(spec.targets)]
    if spec.pruning is not None:
        named.append(("pruner.metric", spec.pruning.metric, EVALUATED))
    for key, name, names in named:
        if current(name) not in names:
            near = closest(name, names)
            hint = f"closest: {', '.join(near)}" if near else "see docs/design.md §3"
            fail_spec(source, key, name, f"not a metric a trial logs here; {hint}")
