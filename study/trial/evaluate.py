"""Evaluation: the five fixed sets, built once per trial, scored under inference mode.

Returns flat metric dicts named as docs/design.md §3 (`study.metric_names`: `acc/val`,
`icl/structural_matched`, …, and the headline `icl/structural`, which the writer leaves out).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from study.config import PROTOCOLS, EvalConfig
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
    accuracy_by_decile,
    argmax_predictions,
    context_and_memory,
    exact_match,
    share,
)
from study.trial.model import MaskedLM
from study.trial.seeds import derive_seed, generator
from study.trial.tasks import EVAL_SPLITS, Batch, Split, Task


def build_eval_sets(task: Task, n: int, seed: int) -> dict[Split, Batch]:
    """Each split from its own seed, so the sets never depend on training length or each other."""
    return {
        split: task.sample(split, n, generator(derive_seed(seed, split), task.device))
        for split in EVAL_SPLITS
    }


# One forward pass over one evaluation set: (pass name, the set it reads, holdout protocol or None)
PASSES: tuple[tuple[str, Split, str | None], ...] = (
    ("val", "val", None),
    ("tail", "tail", None),
    ("switch", "switch", None),
    ("tail_switch", "tail_switch", None),
    *((f"holdout.{p}", "holdout", p) for p in PROTOCOLS),
)
Predictions = dict[str, tuple[torch.Tensor, float]]  # pass → (predicted ids [n, 3], val loss)


class Evaluator:
    """A trial's evaluation: the forward passes of `PASSES` over its fixed sets, then the
    metrics of their predictions (`metrics`, pure). Alone, `__call__` runs the passes on the
    module; a pack runs them for all its trials at once (`study.trial.pack`)."""

    def __init__(self, task: Task, cfg: EvalConfig, probe: HoldoutProbe, seed: int):
        self.task, self.cfg, self.probe = task, cfg, probe
        self.sets = build_eval_sets(task, cfg.n_examples, seed)
        self.val_ranks = task.vocab.token_rank(self.sets["val"].query)

    def __call__(self, model: MaskedLM) -> dict[str, float]:
        """Every metric of `model` now; no dropout (the model applies masks only when given)."""
        preds: Predictions = {}
        for name, split, protocol in PASSES:
            with (
                holdout_rows(model, self.probe, protocol) if protocol else contextlib.nullcontext()
            ):
                preds[name] = self.predict(model, self.sets[split], with_loss=name == "val")
        return self.metrics(preds, model.tok_emb.weight, model.out_bias)

    def metrics(
        self, preds: Predictions, weight: torch.Tensor, bias: torch.Tensor
    ) -> dict[str, float]:
        """The metrics of docs/design.md §3 from each pass's predictions (and the weights, for the
        held-out diagnostics)."""
        sets = self.sets
        val_pred, val_loss = preds["val"]
        val_hits = exact_match(val_pred, sets["val"].targets)
        m = {ACC_VAL: share(val_hits), LOSS_VAL: val_loss}
        deciles = accuracy_by_decile(val_hits, self.val_ranks, self.task.vocab.class_size)
        m |= {decile(d): acc for d, acc in deciles.items()}  # a decile without queries: absent
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

    @torch.inference_mode()
    def predict(
        self, model: MaskedLM, batch: Batch, with_loss: bool = False
    ) -> tuple[torch.Tensor, float]:
        """Predicted ids [n, 3] and, when asked (it costs a log-softmax), the mean cross-entropy."""
        preds, loss_sum = [], 0.0
        for chunk in batch.chunks(self.cfg.batch_size):
            logits = model(chunk.inputs)  # [b, 3, vocab]
            if with_loss:
                loss_sum += float(
                    F.cross_entropy(logits.flatten(0, 1), chunk.targets.flatten(), reduction="sum")
                )
            preds.append(argmax_predictions(logits))
        return torch.cat(preds), loss_sum / (3 * len(batch)) if with_loss else float("nan")
