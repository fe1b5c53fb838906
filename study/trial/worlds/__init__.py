"""The worlds a trial can run (docs/design.md §9), keyed by `task.kind`: the registry the lane
builds its world from. A new world is a `World` subclass, its config part in
`study.task_config`, and a line here."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from study.config import TrialConfig
from study.trial.worlds.api import Evaluation, StepDraws, World
from study.trial.worlds.ar import ArWorld
from study.trial.worlds.bursty import BurstyWorld
from study.trial.worlds.pos import PosWorld

__all__ = ["WORLDS", "Evaluation", "StepDraws", "World", "world_of"]

WORLDS: dict[str, type[World]] = {w.kind: w for w in (PosWorld, ArWorld, BurstyWorld)}


def world_of(cfg: TrialConfig, device: torch.device, seeds: Mapping[str, int]) -> World:
    """The world `cfg.task.kind` names, built for one trial from its seeds."""
    return WORLDS[cfg.task.kind](cfg, device, seeds)
