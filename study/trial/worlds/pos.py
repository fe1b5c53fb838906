"""The paper's masked part-of-speech task as a world (docs/design.md §2, §3): its sampler
(`study.trial.tasks`), held-out probe and protocols (`study.trial.holdout`), five evaluation
sets (`study.trial.evaluate`), the BERT-style encoder (`study.trial.model`) and batched draws
(`study.trial.draws`). The only world that trains in packs (`study.trial.pack`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch

from study.config import PROTOCOLS, TaskConfig, TrialConfig
from study.metric_names import (
    ACC_TAIL,
    ACC_VAL,
    DECILE_PREFIX,
    ICL_HEAD,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    LOSS_VAL,
    structural,
)
from study.trial.draws import Draws
from study.trial.evaluate import Evaluator
from study.trial.holdout import HoldoutProbe
from study.trial.model import MaskedLM, build_model
from study.trial.seeds import generator
from study.trial.task_model import TaskModel
from study.trial.tasks import EVAL_SPLITS, Task
from study.trial.worlds.api import World, task_part

if TYPE_CHECKING:
    from study.trial.lane import Lane


class PosWorld(World):
    kind = "pos"
    model_family = MaskedLM
    eval_sets = EVAL_SPLITS
    feeds = {
        "val": (ACC_VAL, LOSS_VAL, f"{DECILE_PREFIX}N"),
        "tail": (ACC_TAIL,),
        "switch": (ICL_HEAD, IWL_HEAD),
        "tail_switch": (ICL_TAIL, IWL_TAIL),
        "holdout": tuple(structural(p) for p in PROTOCOLS),
    }
    packs = True

    def __init__(self, cfg: TrialConfig, device: torch.device, seeds: Mapping[str, int]):
        super().__init__(cfg, device, seeds)
        part: TaskConfig = task_part(cfg, TaskConfig)
        self.task = Task(part, device, seeds["ambiguity"])
        self.probe = HoldoutProbe(
            self.task.vocab,
            cfg.model.d_model,
            cfg.model.embed_init_std,
            generator(seeds["holdout"]),
            device,
        )
        self.evaluator = Evaluator(self.task, cfg.eval, self.probe, seeds["eval"])

    @property
    def evaluation(self) -> Evaluator:
        return self.evaluator

    def model(self, generator: torch.Generator) -> MaskedLM:
        model = build_model(self.cfg.model, self.task.vocab.size, generator, self.device)
        self.probe.starts_from(model.tok_emb.weight)
        return model

    def draws(self, lanes: Sequence[Lane]) -> Draws:
        return Draws(lanes)


def pos_world(world: World) -> PosWorld:
    """`world` as the POS world, which packed training and the bench read."""
    if not isinstance(world, PosWorld):
        raise TypeError(
            f"task.kind={world.kind!r}: packed training and the bench support task.kind 'pos' "
            "only; this trial trains alone (study.trial.pack.trains_alone)"
        )
    return world


def pos_model(model: TaskModel) -> MaskedLM:
    if not isinstance(model, MaskedLM):
        raise TypeError(f"expected the POS task's MaskedLM, got {type(model).__name__}")
    return model
