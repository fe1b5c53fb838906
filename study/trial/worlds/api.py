"""The task interface (docs/design.md §9): what a world gives a trial, so that the training
loop, forgetting, evaluation and the regime call never ask which world they run.

A world owns
- its vocabulary or input roles and its training sampler (`draws`: each step's inputs, targets
  and dropout masks, from the trial's own counter streams);
- its named evaluation sets (`eval_sets`), built once per trial, and the platform metric names
  each feeds (`feeds`: `icl/structural`, `icl/*`, `iwl/*`, `acc/*`, `loss/val`), computed by
  its `evaluation`; every world feeds `icl/structural` and `iwl/head`, the two the regime reads;
- the chance level of each metric it feeds (`chance`, from its config part: a regime threshold
  left unset defaults to it, `study.config`);
- its model family (`model`), whose `EMBEDDINGS` name the parameters forgetting re-draws.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

import torch
from torch import Tensor

from study.config import TrialConfig
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.task_config import AnyTaskConfig
from study.trial.task_model import Noise, TaskModel

if TYPE_CHECKING:
    from study.trial.lane import Lane

REGIME_METRICS = (ICL_STRUCTURAL, IWL_HEAD)  # what every world must feed: the regime's two calls
C = TypeVar("C", bound=AnyTaskConfig)


class Evaluation(Protocol):
    """A trial's evaluation: its fixed sets, scored on a model as 0-dim tensors on the device
    (read to the host once, with the training loss, by `study.trial.evaluate.read`)."""

    def measure(self, model: TaskModel) -> dict[str, Tensor]: ...

    def embeddings_redrawn(self, std: float) -> None:
        """Forgetting re-drew the token embeddings at `std` (a held-out probe follows the law)."""
        ...


class StepDraws(Protocol):
    def alone(self, step: int) -> tuple[Tensor, Tensor, Noise | None]:
        """Step `step`'s inputs [b, …], targets [b, n_targets] and dropout masks of a lone trial."""
        ...


class World(ABC):
    kind: ClassVar[str]  # the `task.kind` that selects it
    model_family: ClassVar[type[TaskModel]]
    eval_sets: ClassVar[tuple[str, ...]]
    feeds: ClassVar[Mapping[str, tuple[str, ...]]]  # evaluation set → the metrics it feeds
    packs: ClassVar[bool] = False  # trials of this world train in packs (study.trial.pack)

    def __init__(self, cfg: TrialConfig, device: torch.device, seeds: Mapping[str, int]):
        self.cfg, self.device = cfg, device

    @property
    def embeddings(self) -> tuple[str, ...]:
        """The parameters forgetting re-draws (its model family's token embeddings)."""
        return self.model_family.EMBEDDINGS

    @property
    def chance(self) -> dict[str, float]:
        """Chance level of each metric the world feeds (stated by its config part)."""
        return self.cfg.task.chance()

    @property
    @abstractmethod
    def evaluation(self) -> Evaluation:
        """The trial's evaluation sets and their metrics, built once."""

    @abstractmethod
    def model(self, generator: torch.Generator) -> TaskModel:
        """The trial's model, initialised from `generator`, on the world's device."""

    @abstractmethod
    def draws(self, lanes: Sequence[Lane]) -> StepDraws:
        """The training draws of these trials (one, unless the world packs)."""


def task_part(cfg: TrialConfig, kind: type[C]) -> C:
    """`cfg.task` as the part a world reads; a config of another world is a programming error."""
    if not isinstance(cfg.task, kind):
        raise TypeError(f"expected a {kind.__name__}, got task.kind={cfg.task.kind!r}")
    return cfg.task
