"""What a sweep spec may say about its sampler and pruner: Optuna's own options, typed.

Each sampler kind takes the keyword options of its Optuna class (`options:`), validated here
with `extra="forbid"`, so a misspelt option fails at the edge rather than deep in Optuna.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from study.sweep.defaults import BOUNDARY_REPLICATES, BOUNDARY_SCORE, Score


class SpecPart(BaseModel):
    """Base of every part of a sweep spec: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SobolOptions(SpecPart):
    scramble: bool = Field(
        True, description="scrambled Sobol; unscrambled starts at the low corner"
    )


class TPEOptions(SpecPart):
    n_startup_trials: int = Field(10, ge=0)
    n_ei_candidates: int = Field(24, ge=1)
    multivariate: bool = False
    group: bool = False
    constant_liar: bool = Field(True, description="parallel workers avoid proposing the same point")


class GPOptions(SpecPart):
    n_startup_trials: int = Field(10, ge=0)
    deterministic_objective: bool = False


class NSGA2Options(SpecPart):
    population_size: int = Field(50, ge=2)
    mutation_prob: float | None = Field(None, ge=0.0, le=1.0)
    crossover_prob: float = Field(0.9, ge=0.0, le=1.0)
    swapping_prob: float = Field(0.5, ge=0.0, le=1.0)


class BoundaryOptions(SpecPart):
    n_init: int | None = Field(
        None,
        ge=2,
        description="Sobol seed-design points before the phase model proposes; default 2^(d+1) "
        "for d axes (8 in 2-D, 16 in 3-D)",
    )
    exploration: float = Field(
        0.1, ge=0.0, le=1.0, description="share of proposals sent to a space-filling point instead"
    )
    spread: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="radius (share of each axis' range) within which a running or queued point "
        "discourages another proposal",
    )
    n_candidates: int = Field(2048, ge=16, description="random candidates scored per proposal")
    score: Score = Field(
        BOUNDARY_SCORE,
        description="the share of posterior draws that disagree on the most likely regime; the "
        "entropy of the posterior-mean regime probabilities (higher towards the edges of the "
        "space, where the posterior is widest); or bald, the mutual information between a new "
        "trial's outcome and the map (low where replicates already split evenly)",
    )
    replicates: bool = Field(
        BOUNDARY_REPLICATES,
        description="the trials' own points are candidates too: a new seed at an existing point "
        "when that is worth more than a new point",
    )
    label: Literal["regime", "contrast"] = Field(
        "regime",
        description="what the map is of: each trial's regime, or (with controls: true) whether "
        "a forgetting trial beats its control at its seed (study.controls.beats_control)",
    )


class _NoOptions(SpecPart):
    pass


class _Sampler(SpecPart):
    seed: int | None = Field(None, ge=0, description="default: the spec's seed")


class GridSamplerSpec(_Sampler):
    kind: Literal["grid"]
    options: _NoOptions = _NoOptions()


class RandomSamplerSpec(_Sampler):
    kind: Literal["random"]
    options: _NoOptions = _NoOptions()


class SobolSamplerSpec(_Sampler):
    kind: Literal["sobol"]
    options: SobolOptions = SobolOptions()


class TPESamplerSpec(_Sampler):
    kind: Literal["tpe"]
    options: TPEOptions = TPEOptions()


class GPSamplerSpec(_Sampler):
    kind: Literal["gp"]
    options: GPOptions = GPOptions()


class NSGA2SamplerSpec(_Sampler):
    kind: Literal["nsga2"]
    options: NSGA2Options = NSGA2Options()


class BoundarySamplerSpec(_Sampler):
    kind: Literal["boundary"]
    options: BoundaryOptions = BoundaryOptions()


SamplerSpec = Annotated[
    GridSamplerSpec
    | RandomSamplerSpec
    | SobolSamplerSpec
    | TPESamplerSpec
    | GPSamplerSpec
    | NSGA2SamplerSpec
    | BoundarySamplerSpec,
    Field(discriminator="kind"),
]
MAP_SAMPLERS = ("grid", "random", "sobol", "boundary")  # the ones that map a space, no metric
BOUNDARY_MAX_AXES = 3  # the phase model's basis grows as (centres per axis)^axes


class MedianOptions(SpecPart):
    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(0, ge=0, description="training steps before pruning starts")
    interval_steps: int = Field(1, ge=1)
    n_min_trials: int = Field(1, ge=1)


class HyperbandOptions(SpecPart):
    min_resource: int = Field(1, ge=1, description="training steps")
    max_resource: int | Literal["auto"] = "auto"
    reduction_factor: int = Field(3, ge=2)


class NoPrunerSpec(SpecPart):
    kind: Literal["none"]


class MedianPrunerSpec(SpecPart):
    kind: Literal["median"]
    metric: str = Field(
        description="evaluation metric reported at every evaluation, e.g. icl/structural"
    )
    options: MedianOptions = MedianOptions()


class HyperbandPrunerSpec(SpecPart):
    kind: Literal["hyperband"]
    metric: str
    options: HyperbandOptions = HyperbandOptions()


PrunerSpec = Annotated[
    NoPrunerSpec | MedianPrunerSpec | HyperbandPrunerSpec, Field(discriminator="kind")
]
