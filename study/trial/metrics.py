"""Pure metric functions on predictions (docs/design.md §3). All accuracies are exact match over the
three targets."""

from __future__ import annotations

import torch
from torch import Tensor

from study.metric_names import N_DECILES
from study.trial.tasks import Batch


def exact_match(pred: Tensor, answer: Tensor) -> Tensor:
    """pred, answer [n, 3] → [n] bool: all three targets right."""
    return (pred == answer).all(dim=1)


def share(hits: Tensor) -> float:
    return float(hits.float().mean()) if hits.numel() else float("nan")


def context_and_memory(pred: Tensor, batch: Batch) -> tuple[float, float]:
    """(share answered the context's way, share answered the memorised way).

    On a role-swapped set the two readings differ, so icl + iwl ≤ 1; the rest is neither."""
    return share(exact_match(pred, batch.targets)), share(exact_match(pred, batch.swapped))


def accuracy_by_decile(hits: Tensor, ranks: Tensor, class_size: int) -> dict[int, float]:
    """Accuracy per training-frequency decile of the query's rank (0 = most frequent); empty
    deciles are left out."""
    deciles = (ranks * N_DECILES) // class_size
    out = {}
    for d in range(N_DECILES):
        sel = deciles == d
        if sel.any():
            out[d] = share(hits[sel])
    return out


def argmax_predictions(logits: Tensor) -> Tensor:
    """logits [n, 3, vocab] → predicted ids [n, 3]."""
    return torch.argmax(logits, dim=-1)
