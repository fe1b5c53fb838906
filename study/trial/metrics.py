"""Pure metric functions on predictions (docs/design.md §3). All accuracies are exact match over the
three targets. Each returns tensors on the predictions' device — nothing here reads a value back
to the host, so an evaluation reads all its metrics at once (`Evaluator.metrics`)."""

from __future__ import annotations

import torch
from torch import Tensor

from study.metric_names import N_DECILES
from study.trial.tasks import Batch


def exact_match(pred: Tensor, answer: Tensor) -> Tensor:
    """pred, answer [n, 3] → [n] bool: all three targets right."""
    return (pred == answer).all(dim=1)


def share(hits: Tensor) -> Tensor:
    """The share of true entries (NaN for none)."""
    return hits.float().mean()


def context_and_memory(pred: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
    """(share answered the context's way, share answered the memorised way).

    On a role-swapped set the two readings differ, so icl + iwl ≤ 1; the rest is neither."""
    return share(exact_match(pred, batch.targets)), share(exact_match(pred, batch.swapped))


def deciles_of(ranks: Tensor, class_size: int) -> Tensor:
    """The training-frequency decile of each rank (0 = most frequent)."""
    return (ranks * N_DECILES) // class_size


def decile_shares(hits: Tensor, deciles: Tensor) -> Tensor:
    """[N_DECILES] accuracy per decile (NaN where a decile has no entry)."""
    zeros = torch.zeros(N_DECILES, device=hits.device)
    right = zeros.index_add(0, deciles, hits.float())
    return right / zeros.index_add(0, deciles, torch.ones_like(right[deciles]))


def accuracy_by_decile(hits: Tensor, ranks: Tensor, class_size: int) -> dict[int, float]:
    """Accuracy per training-frequency decile of the query's rank; empty deciles are left out
    (a host read: the Evaluator knows its sets' deciles beforehand)."""
    deciles = deciles_of(ranks, class_size)
    shares = decile_shares(hits, deciles).tolist()
    return {d: shares[d] for d in sorted(set(deciles.tolist()))}


def argmax_predictions(logits: Tensor) -> Tensor:
    """logits [n, 3, vocab] → predicted ids [n, 3]."""
    return torch.argmax(logits, dim=-1)
