"""Evaluation: the five fixed sets, built once per trial, scored under inference mode.

Returns flat metric dicts named as docs/design.md §3 (`study.metric_names`: `acc/val`,
`icl/structural_matched`, …, and the headline `icl/structural`, which the writer leaves out).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from study.config import PROTOCOLS, EvalConfig, Protocol
from study.metric_names import (
    ACC_TAIL,
    ACC_VAL,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    LOSS_VAL,
    decile,
    structural,
)
from study.trial.holdout import HoldoutProbe, holdout_rows
from study.trial.metrics import (
    argmax_predictions,
    context_and_memory,
    decile_shares,
    deciles_of,
    exact_match,
    share,
)
from study.trial.model import MaskedLM
from study.trial.seeds import derive_seed, generator
from study.trial.task_model import TaskModel
from study.trial.tasks import EVAL_SPLITS, Batch, Split, Task


def build_eval_sets(task: Task, n: int, seed: int) -> dict[Split, Batch]:
    """Each split from its own seed, so the sets never depend on training length or each other;
    drawn on the CPU, so they are the same sets on every device."""
    return {
        split: task.sample(split, n, generator(derive_seed(seed, split))) for split in EVAL_SPLITS
    }


# One forward pass over one evaluation set: (pass name, the set it reads, holdout protocol or None)
PASSES: tuple[tuple[str, Split, Protocol | None], ...] = (
    ("val", "val", None),
    ("tail", "tail", None),
    ("switch", "switch", None),
    ("tail_switch", "tail_switch", None),
    *((f"holdout.{p}", "holdout", p) for p in PROTOCOLS),
)
Predictions = dict[str, tuple[Tensor, Tensor]]  # pass → (predicted ids [n, 3], val loss)


class Evaluator:
    """A trial's evaluation: the forward passes of `PASSES` over its fixed sets, then the
    metrics of their predictions (`values`, pure, on the device). Alone, `__call__` runs the
    passes on the module; a pack runs them for all its trials at once (`study.trial.pack_eval`).
    Either way the metrics come to the host in one read (`read`)."""

    def __init__(self, task: Task, cfg: EvalConfig, probe: HoldoutProbe, seed: int):
        self.task, self.cfg, self.probe = task, cfg, probe
        self.sets = build_eval_sets(task, cfg.n_examples, seed)
        ranks = task.vocab.token_rank(self.sets["val"].query)
        self.val_deciles = deciles_of(ranks, task.vocab.class_size)
        self.present = sorted(set(self.val_deciles.tolist()))  # read once: the sets are fixed

    def measure(self, model: TaskModel) -> dict[str, Tensor]:
        """Every metric of `model` now, as tensors on the device (the `Evaluation` of a world)."""
        if not isinstance(model, MaskedLM):
            raise TypeError(f"the POS evaluation scores a MaskedLM, got {type(model).__name__}")
        return self.values(self.predictions(model), model.tok_emb.weight, model.out_bias)

    def embeddings_redrawn(self, std: float) -> None:
        """Forgetting re-drew the token embeddings at `std`: the `init` probe follows."""
        self.probe.embeddings_redrawn(std)

    def __call__(self, model: MaskedLM) -> dict[str, float]:
        """Every metric of `model` now; no dropout (the model applies masks only when given)."""
        return self.metrics(self.predictions(model), model.tok_emb.weight, model.out_bias)

    def predictions(self, model: MaskedLM) -> Predictions:
        preds: Predictions = {}
        for name, split, protocol in PASSES:
            with (
                holdout_rows(model, self.probe, protocol) if protocol else contextlib.nullcontext()
            ):
                preds[name] = self.predict(model, self.sets[split], with_loss=name == "val")
        return preds

    def values(self, preds: Predictions, weight: Tensor, bias: Tensor) -> dict[str, Tensor]:
        """The metrics of docs/design.md §3 from each pass's predictions (and the weights, for the
        held-out diagnostics), as 0-dim tensors."""
        sets = self.sets
        val_pred, val_loss = preds["val"]
        val_hits = exact_match(val_pred, sets["val"].targets)
        m = {ACC_VAL: share(val_hits), LOSS_VAL: val_loss}
        deciles = decile_shares(val_hits, self.val_deciles)
        m |= {decile(d): deciles[d] for d in self.present}  # a decile without queries: absent
        m[ACC_TAIL] = share(exact_match(preds["tail"][0], sets["tail"].targets))
        m[ICL_HEAD], m[IWL_HEAD] = context_and_memory(preds["switch"][0], sets["switch"])
        m[ICL_TAIL], m[IWL_TAIL] = context_and_memory(preds["tail_switch"][0], sets["tail_switch"])
        for protocol in PROTOCOLS:
            pred = preds[f"holdout.{protocol}"][0]
            m[structural(protocol)] = share(exact_match(pred, sets["holdout"].targets))
        m[ICL_STRUCTURAL] = m[structural(self.cfg.protocol)]
        with torch.no_grad():
            m |= self.probe.diagnostics(weight, bias)
        return m

    def metrics(self, preds: Predictions, weight: Tensor, bias: Tensor) -> dict[str, float]:
        return read([self.values(preds, weight, bias)])[1][0]

    @torch.inference_mode()
    def predict(
        self, model: MaskedLM, batch: Batch, with_loss: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Predicted ids [n, 3] and, when asked (it costs a log-softmax), the mean cross-entropy
        (else NaN)."""
        preds, loss_sum = [], torch.zeros((), dtype=torch.float64, device=batch.inputs.device)
        for chunk in batch.chunks(self.cfg.batch_size):
            logits = model(chunk.inputs)  # [b, 3, vocab]
            if with_loss:
                ce = F.cross_entropy(logits.flatten(0, 1), chunk.targets.flatten(), reduction="sum")
                loss_sum += ce.double()
            preds.append(argmax_predictions(logits))
        return torch.cat(preds), loss_sum / (3 * len(batch)) if with_loss else loss_sum * math.nan


def read(
    values: Sequence[dict[str, Tensor]], extra: Tensor | None = None
) -> tuple[list[float], list[dict[str, float]]]:
    """(`extra`'s entries, each trial's metrics) in one host read."""
    device = next(iter(values[0].values())).device
    head = torch.zeros(0) if extra is None else extra.flatten()
    parts = [head.to(device, torch.float64)]
    parts += [torch.stack([v.double() for v in m.values()]) for m in values]
    flat = torch.cat(parts).tolist()  # the one read
    out, at = [], head.numel()
    for m in values:
        out.append(dict(zip(m, flat[at : at + len(m)], strict=True)))
        at += len(m)
    return flat[: head.numel()], out
