"""Evaluation inside a pack: each pass of `study.trial.evaluate.PASSES` runs for all the trials
due at once — their sets stacked, their parameters (with each trial's held-out rows as the
protocol has them) mapped over, in chunks of the evaluation's batch size for every trial — so an
evaluation of a pack costs about one batched pass per set and chunk, not one per trial. The
metrics are each trial's own `Evaluator.values` of its predictions, with its training loss, all
read to the host at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from study.trial.evaluate import PASSES, Evaluator, Predictions, read
from study.trial.loss_window import WIDTH, LossWindow
from study.trial.metrics import argmax_predictions

if TYPE_CHECKING:
    from study.trial.pack import Pack

TOKENS, BIAS = "tok_emb.weight", "out_bias"


@torch.inference_mode()
def evaluate_rows(
    pack: Pack, rows: Sequence[int], evaluators: Sequence[Evaluator], window: LossWindow
) -> list[tuple[list[float], dict[str, float]]]:
    """(training-loss window row, metrics) of the trials at `rows` of `pack` (each with its
    evaluator, all with eval sets of one size), in row order, from one host read."""
    index = torch.tensor(list(rows), dtype=torch.long, device=pack.device)
    params = {n: p.detach()[index] for n, p in pack.params.items()}
    k, weight, bias = len(rows), params[TOKENS], params[BIAS]
    chunk = evaluators[0].cfg.batch_size  # sequences of each trial per forward, as alone
    preds: list[Predictions] = [{} for _ in rows]
    for name, split, protocol in PASSES:
        if protocol is not None:
            subs = [
                ev.probe.substituted(weight[i], bias[i], protocol)
                for i, ev in enumerate(evaluators)
            ]
            params = {
                **params,
                TOKENS: torch.stack([w for w, _ in subs]),
                BIAS: torch.stack([b for _, b in subs]),
            }
        inputs = torch.stack([ev.sets[split].inputs for ev in evaluators])  # [k, n, 7]
        targets = torch.stack([ev.sets[split].targets for ev in evaluators])
        ids, loss = [], torch.zeros(k, dtype=torch.float64, device=pack.device)
        for start in range(0, inputs.shape[1], chunk):
            logits = pack.forward(params, inputs[:, start : start + chunk], None)  # [k, c, 3, V]
            ids.append(argmax_predictions(logits))
            if name == "val":
                ce = F.cross_entropy(
                    logits.flatten(0, 2),
                    targets[:, start : start + chunk].flatten(),
                    reduction="none",
                )
                loss += ce.view(k, -1).sum(1, dtype=torch.float64)
        predicted = torch.cat(ids, dim=1)
        loss = loss / (3 * inputs.shape[1]) if name == "val" else loss * math.nan
        for i in range(k):
            preds[i][name] = (predicted[i], loss[i])
        params = {**params, TOKENS: weight, BIAS: bias}
    values = [
        ev.values(p, weight[i], bias[i])
        for i, (ev, p) in enumerate(zip(evaluators, preds, strict=True))
    ]
    losses, metrics = read(values, window.read(index))
    return [(losses[WIDTH * i : WIDTH * (i + 1)], m) for i, m in enumerate(metrics)]
