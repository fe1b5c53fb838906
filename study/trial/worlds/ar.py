"""The paper's autoregressive toy as a world (docs/design.md §9): its sequences
(`study.trial.worlds.ar_data`), four evaluation sets, and the GPT-style decoder
(`study.trial.decoder`).

| set | sequences | scored | feeds |
|---|---|---|---|
| `val` | the training law | argmax over the vocabulary | `acc/val`, `loss/val` |
| `context` | seen items, uniform, 3 + 3 + 1 + 1, two evaluation labels at random | argmax between the two labels | `icl/head` |
| `holdout` | held-out items, likewise | likewise | `icl/structural` (`paper`) |
| `weights` | a Zipf query absent from 8 Zipf context items, canonical labels | argmax over the vocabulary | `iwl/head` |
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from study.config import ArTaskConfig, TrialConfig
from study.metric_names import ACC_VAL, ICL_HEAD, ICL_STRUCTURAL, IWL_HEAD, LOSS_VAL, structural
from study.trial.counter_rng import uniform
from study.trial.decoder import CausalLM, build_decoder
from study.trial.metrics import share
from study.trial.model import draw_noise
from study.trial.seeds import derive_seed, generator
from study.trial.task_model import Noise, TaskModel
from study.trial.worlds.api import World, task_part
from study.trial.worlds.ar_data import (
    IN_CONTEXT_SLOTS,
    SEQ_LEN,
    TRAIN_SLOTS,
    WEIGHTS_SLOTS,
    ArBatch,
    ArVocab,
    InContextBatch,
    in_context_sequences,
    training_sequences,
    weights_sequences,
)
from study.trial.worlds.draw_laws import zipf_cdf

if TYPE_CHECKING:
    from study.trial.lane import Lane

EVAL_SETS = ("val", "context", "holdout", "weights")


class ArWorld(World):
    kind = "ar"
    model_family = CausalLM
    eval_sets = EVAL_SETS
    feeds = {
        "val": (ACC_VAL, LOSS_VAL),
        "context": (ICL_HEAD,),
        "holdout": (structural("paper"),),
        "weights": (IWL_HEAD,),
    }

    def __init__(self, cfg: TrialConfig, device: torch.device, seeds: Mapping[str, int]):
        super().__init__(cfg, device, seeds)
        self.task: ArTaskConfig = task_part(cfg, ArTaskConfig)
        self.vocab = ArVocab.of(self.task)
        self.cdf = zipf_cdf(self.vocab.n_items, self.task.alpha, device)
        self._evaluation = ArEvaluation(self, seeds["eval"])

    @property
    def evaluation(self) -> ArEvaluation:
        return self._evaluation

    def model(self, generator: torch.Generator) -> CausalLM:
        return build_decoder(self.cfg.model, self.vocab.size, SEQ_LEN, generator, self.device)

    def draws(self, lanes: Sequence[Lane]) -> ArDraws:
        if len(lanes) != 1:
            raise ValueError("the AR toy's trials train alone (study.trial.pack.trains_alone)")
        return ArDraws(self, lanes[0].data_key, lanes[0].dropout_key)

    def training(self, u: Tensor) -> ArBatch:
        """u [n, TRAIN_SLOTS] uniforms → training sequences (and the `val` set)."""
        return training_sequences(self.task, self.vocab, self.cdf, u)


class ArDraws:
    """Each step's batch from the trial's counter stream, and its dropout masks."""

    def __init__(self, world: ArWorld, data_key: Tensor, dropout_key: Tensor):
        self.world, self.data_key, self.dropout_key = world, data_key, dropout_key
        self.batch_size = world.cfg.train.batch_size

    def alone(self, step: int) -> tuple[Tensor, Tensor, Noise | None]:
        """Inputs [b, 17], targets [b, 1], masks."""
        b = self.batch_size
        batch = self.world.training(uniform(self.data_key, step, b * TRAIN_SLOTS).view(b, -1))
        noise = draw_noise(self.world.cfg.model, b, self.dropout_key, step, seq_len=SEQ_LEN)
        return batch.inputs, batch.targets, None if noise is None else tuple(m[0] for m in noise)


class ArEvaluation:
    """The four fixed sets of a trial, each from its own seed, drawn on the CPU (the same sets
    on every device, whatever the training length)."""

    def __init__(self, world: ArWorld, seed: int):
        self.world, self.cfg = world, world.cfg.eval
        n, vocab = self.cfg.n_examples, world.vocab

        def rand(name: str, slots: int) -> Tensor:
            g = generator(derive_seed(seed, name))
            return torch.rand(n, slots, generator=g, dtype=torch.float64).to(world.device)

        self.val = world.training(rand("val", TRAIN_SLOTS))
        self.context = in_context_sequences(
            vocab, 0, vocab.n_items, rand("context", IN_CONTEXT_SLOTS)
        )
        self.holdout = in_context_sequences(
            vocab, vocab.holdout_start, vocab.n_holdout, rand("holdout", IN_CONTEXT_SLOTS)
        )
        self.weights = weights_sequences(vocab, world.cdf, rand("weights", WEIGHTS_SLOTS))
        self.eval_labels = torch.tensor(vocab.eval_labels, device=world.device)

    def measure(self, model: TaskModel) -> dict[str, Tensor]:
        """`acc/val`, `loss/val`, `icl/head`, `icl/structural` (= `icl/structural_paper`) and
        `iwl/head` of `model` now, as tensors on the device; no dropout."""
        val_hits, val_loss = self._full(model, self.val, with_loss=True)
        structural_icl = share(self._between_labels(model, self.holdout))
        return {
            ACC_VAL: share(val_hits),
            LOSS_VAL: val_loss,
            ICL_HEAD: share(self._between_labels(model, self.context)),
            structural("paper"): structural_icl,
            ICL_STRUCTURAL: structural_icl,
            IWL_HEAD: share(self._full(model, self.weights)[0]),
        }

    def embeddings_redrawn(self, std: float) -> None:
        """Nothing follows the embeddings' law here: the held-out rows are scored as trained."""

    @torch.inference_mode()
    def _full(
        self, model: TaskModel, batch: ArBatch, with_loss: bool = False
    ) -> tuple[Tensor, Tensor]:
        """([n] bool: the argmax over the vocabulary is the target, mean cross-entropy or NaN)."""
        hits, loss = [], torch.zeros((), dtype=torch.float64, device=batch.inputs.device)
        for start in range(0, len(batch), self.cfg.batch_size):
            chunk = slice(start, start + self.cfg.batch_size)
            logits = model(batch.inputs[chunk])[:, 0]  # [c, vocab]
            targets = batch.targets[chunk, 0]
            hits.append(logits.argmax(-1) == targets)
            if with_loss:
                loss += F.cross_entropy(logits, targets, reduction="sum").double()
        return torch.cat(hits), loss / len(batch) if with_loss else loss * math.nan

    @torch.inference_mode()
    def _between_labels(self, model: TaskModel, batch: InContextBatch) -> Tensor:
        """[n] bool: of the two evaluation labels, the query's scores higher."""
        hits = []
        for start in range(0, len(batch), self.cfg.batch_size):
            chunk = slice(start, start + self.cfg.batch_size)
            logits = model(batch.inputs[chunk])[:, 0, self.eval_labels]  # [c, 2]
            hits.append(logits.argmax(-1) == batch.answer[chunk])
        return torch.cat(hits)
