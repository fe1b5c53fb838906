"""Evaluation inside a pack: each pass of `study.trial.evaluate.PASSES` runs for all the trials
due at once — their sets stacked, their parameters (with each trial's held-out rows as the
protocol has them) mapped over — so an evaluation of a pack costs about one batched pass per set,
not one per trial. The metrics are each trial's own `Evaluator.metrics` of its predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from study.trial.evaluate import PASSES, Evaluator, Predictions
from study.trial.metrics import argmax_predictions

if TYPE_CHECKING:
    from study.trial.pack import Pack

TOKENS, BIAS = "tok_emb.weight", "out_bias"


@torch.inference_mode()
def evaluate_rows(pack: Pack, rows: Sequence[int], evaluators: Sequence[Evaluator]) -> list[dict[str, float]]:  # fmt: skip
    """The metrics of the trials at `rows` of `pack` (each with its evaluator, all with eval
    sets of one size), in row order."""
    index = torch.tensor(list(rows), device=pack.device)
    params = {n: p.detach()[index] for n, p in pack.params.items()}
    k, weight, bias = len(rows), params[TOKENS], params[BIAS]
    chunk = max(1, evaluators[0].cfg.batch_size // k)  # logits of one chunk: as large as alone
    preds: list[Predictions] = [{} for _ in rows]
    for name, split, protocol in PASSES:
        if protocol is not None:
            subs = [ev.probe.substituted(weight[i], bias[i], protocol) for i, ev in enumerate(evaluators)]  # fmt: skip
            params = {**params, TOKENS: torch.stack([w for w, _ in subs]), BIAS: torch.stack([b for _, b in subs])}  # fmt: skip
        inputs = torch.stack([ev.sets[split].inputs for ev in evaluators])  # [k, n, 7]
        targets = torch.stack([ev.sets[split].targets for ev in evaluators])
        ids, loss = [], torch.zeros(k, dtype=torch.float64, device=pack.device)
        for start in range(0, inputs.shape[1], chunk):
            logits = pack.forward(
                params, inputs[:, start : start + chunk], None
            )  # [k, c, 3, vocab]
            ids.append(argmax_predictions(logits))
            if name == "val":
                ce = F.cross_entropy(logits.flatten(0, 2), targets[:, start : start + chunk].flatten(), reduction="none")  # fmt: skip
                loss += ce.view(k, -1).sum(1, dtype=torch.float64)
        predicted = torch.cat(ids, dim=1)
        n_targets = 3 * inputs.shape[1]
        for i in range(k):
            preds[i][name] = (predicted[i], float(loss[i] / n_targets) if name == "val" else float("nan"))  # fmt: skip
        params = {**params, TOKENS: weight, BIAS: bias}
    return [ev.metrics(p, weight[i], bias[i]) for i, (ev, p) in enumerate(zip(evaluators, preds, strict=True))]  # fmt: skip
