"""Bursty in-context classification as a world (Reddy 2023, ICLR 2024; docs/design.md §9): its
sequences (`study.trial.worlds.bursty_data`), four evaluation sets, and the attention-only
classifier (`study.trial.classifier`).

| set | sequences | feeds |
|---|---|---|
| `val` | the training law | `acc/val`, `loss/val` |
| `fresh` | N/B classes never trained, distinct labels | `icl/structural` (`paper`) |
| `swap` | N/B trained classes, each showing a label not its own | `icl/head` |
| `absent` | a Zipf query class missing from the context | `iwl/head` |

Every set is scored by the argmax over the L labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from study.config import BurstyTaskConfig, TrialConfig
from study.metric_names import ACC_VAL, ICL_HEAD, ICL_STRUCTURAL, IWL_HEAD, LOSS_VAL, structural
from study.trial.classifier import BurstyClassifier, build_classifier
from study.trial.counter_rng import uniform
from study.trial.metrics import share
from study.trial.model import draw_noise
from study.trial.seeds import derive_seed, generator
from study.trial.task_model import Noise, TaskModel
from study.trial.worlds.api import World, task_part
from study.trial.worlds.bursty_data import (
    BurstyBatch,
    Layout,
    absent_sequences,
    class_means,
    eval_slots,
    fresh_sequences,
    placed,
    swap_sequences,
    training_sequences,
)
from study.trial.worlds.draw_laws import zipf_cdf

if TYPE_CHECKING:
    from study.trial.lane import Lane

EVAL_SETS = ("val", "fresh", "swap", "absent")


class BurstyWorld(World):
    kind = "bursty"
    model_family = BurstyClassifier
    eval_sets = EVAL_SETS
    feeds = {
        "val": (ACC_VAL, LOSS_VAL),
        "fresh": (structural("paper"),),
        "swap": (ICL_HEAD,),
        "absent": (IWL_HEAD,),
    }

    def __init__(self, cfg: TrialConfig, device: torch.device, seeds: Mapping[str, int]):
        super().__init__(cfg, device, seeds)
        self.task: BurstyTaskConfig = task_part(cfg, BurstyTaskConfig)
        self.layout = Layout(self.task.n_context, self.task.n_dims, bool(self.task.n_positions))
        # the classes belong to the data: drawn from the data seed, on the CPU
        means = class_means(self.task, generator(derive_seed(seeds["data"], "class_means")))
        self.means = means.to(device)
        self.cdf = zipf_cdf(self.task.n_classes, self.task.zipf_exponent, device)
        self._evaluation = BurstyEvaluation(self, seeds["eval"])

    @property
    def evaluation(self) -> BurstyEvaluation:
        return self._evaluation

    def model(self, generator: torch.Generator) -> BurstyClassifier:
        t = self.task
        positions = t.n_positions or self.layout.seq_len
        return build_classifier(
            self.cfg.model, t.n_dims, t.n_labels, positions, generator, self.device
        )

    def draws(self, lanes: Sequence[Lane]) -> BurstyDraws:
        if len(lanes) != 1:
            raise ValueError("bursty classification trains alone (study.trial.pack.trains_alone)")
        return BurstyDraws(self, lanes[0].data_key, lanes[0].dropout_key)

    def training(self, u: Tensor) -> BurstyBatch:
        """u [n, Layout.slots] uniforms → training sequences (and the `val` set)."""
        u = u.float()
        return self.place(training_sequences(self.task, self.means, self.cdf, u), u[:, -1])

    def place(self, batch: BurstyBatch, u: Tensor) -> BurstyBatch:
        """Each sequence at a random offset among `task.n_positions` (u [n]), where it has them."""
        if not self.task.n_positions:
            return batch
        return replace(batch, inputs=placed(batch.inputs, self.task.n_positions, u))


class BurstyDraws:
    def __init__(self, world: BurstyWorld, data_key: Tensor, dropout_key: Tensor):
        self.world, self.data_key, self.dropout_key = world, data_key, dropout_key
        self.batch_size = world.cfg.train.batch_size

    def alone(self, step: int) -> tuple[Tensor, Tensor, Noise | None]:
        """Inputs [b, 2N+1, D+L], targets [b, 1], masks."""
        b, layout = self.batch_size, self.world.layout
        u = uniform(self.data_key, step, b * layout.slots).view(b, -1)
        batch = self.world.training(u)
        noise = draw_noise(self.world.cfg.model, b, self.dropout_key, step, layout.seq_len)
        return batch.inputs, batch.targets, None if noise is None else tuple(m[0] for m in noise)


class BurstyEvaluation:
    """The four fixed sets of a trial, each from its own seed, drawn on the CPU."""

    def __init__(self, world: BurstyWorld, seed: int):
        self.cfg = world.cfg.eval
        n, task = self.cfg.n_examples, world.task

        def rand(name: str, slots: int) -> Tensor:
            g = generator(derive_seed(seed, name))
            return torch.rand(n, slots, generator=g, dtype=torch.float64).to(world.device)

        self.val = world.training(rand("val", world.layout.slots))
        slots = eval_slots(task)
        self.fresh = fresh_sequences(task, rand("fresh", slots).float())
        self.swap = swap_sequences(task, world.means, rand("swap", slots).float())
        self.absent = absent_sequences(task, world.means, world.cdf, rand("absent", slots).float())
        if task.n_positions:  # each set's offsets from a stream of its own
            self.fresh, self.swap, self.absent = (
                world.place(batch, rand(f"{name}/offset", 1)[:, 0].float())
                for name, batch in (
                    ("fresh", self.fresh),
                    ("swap", self.swap),
                    ("absent", self.absent),
                )
            )

    def measure(self, model: TaskModel) -> dict[str, Tensor]:
        """`acc/val`, `loss/val`, `icl/structural` (`fresh`), `icl/head` (`swap`, answered the
        context's way) and `iwl/head` (`absent`) of `model` now; no dropout."""
        val_hits, val_loss = self._hits(model, self.val, with_loss=True)
        structural_icl = share(self._hits(model, self.fresh)[0])
        return {
            ACC_VAL: share(val_hits),
            LOSS_VAL: val_loss,
            structural("paper"): structural_icl,
            ICL_STRUCTURAL: structural_icl,
            ICL_HEAD: share(self._hits(model, self.swap)[0]),
            IWL_HEAD: share(self._hits(model, self.absent)[0]),
        }

    def embeddings_redrawn(self, std: float) -> None:
        """Nothing follows the embeddings' law here."""

    @torch.inference_mode()
    def _hits(
        self, model: TaskModel, batch: BurstyBatch, with_loss: bool = False
    ) -> tuple[Tensor, Tensor]:
        """([n] bool: the argmax over the labels is the target, mean cross-entropy or NaN)."""
        hits, loss = [], torch.zeros((), dtype=torch.float64, device=batch.inputs.device)
        for start in range(0, len(batch), self.cfg.batch_size):
            chunk = slice(start, start + self.cfg.batch_size)
            logits = model(batch.inputs[chunk])[:, 0]  # [c, L]
            targets = batch.targets[chunk, 0]
            hits.append(logits.argmax(-1) == targets)
            if with_loss:
                loss += F.cross_entropy(logits, targets, reduction="sum").double()
        return torch.cat(hits), loss / len(batch) if with_loss else loss * math.nan
