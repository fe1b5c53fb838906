"""Each step's training batches and dropout masks for the trials of a pack (or one trial alone),
drawn together from each trial's own counter streams (`study.trial.counter_rng`): a fixed number
of batched ops whatever the number of trials, no host sync, and a trial draws the same batch and
masks at a step whoever it is drawn with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from study.trial.counter_rng import uniform
from study.trial.model import Noise, draw_noise
from study.trial.task_law import SLOTS, Law, draw
from study.trial.tasks import N_TARGETS, SEQ_LEN

if TYPE_CHECKING:
    from study.trial.lane import Lane


class Draws:
    def __init__(self, lanes: Sequence[Lane]):
        first = lanes[0]
        self.task, self.model_cfg = first.task, first.cfg.model
        self.batch_size = first.cfg.train.batch_size  # shared by a pack (`pack_key`)
        self.law = Law.of([lane.task for lane in lanes])
        self.data_keys = torch.cat([lane.data_key for lane in lanes])
        self.dropout_keys = torch.cat([lane.dropout_key for lane in lanes])

    def __call__(self, step: int) -> tuple[Tensor, Tensor, Noise | None]:
        """Step `step`'s inputs [K, b, 7], targets [K, b, 3] and dropout masks [K, …]."""
        k, b = self.data_keys.shape[0], self.batch_size
        u = uniform(self.data_keys, step, b * SLOTS).view(k, b, SLOTS)
        noun, adj = draw(self.law, u, swap=True)
        batch = self.task.laid_out("train", noun, adj, (u[..., 2] * 4).long())
        noise = draw_noise(self.model_cfg, b, self.dropout_keys, step)
        return batch.inputs.view(k, b, SEQ_LEN), batch.targets.view(k, b, N_TARGETS), noise

    def alone(self, step: int) -> tuple[Tensor, Tensor, Noise | None]:
        """The same for the one trial of a pack of one: inputs [b, 7], targets [b, 3], masks."""
        inputs, targets, noise = self(step)
        return inputs[0], targets[0], None if noise is None else tuple(m[0] for m in noise)

    def keep(self, rows: Tensor) -> None:
        """Only the trials at `rows` stay."""
        self.law = self.law.keep(rows)
        self.data_keys, self.dropout_keys = self.data_keys[rows], self.dropout_keys[rows]
