"""The content-token law of K tasks as stacked tables, and one batched draw from uniforms.

A sequence's two content tokens are drawn from seven uniforms (`SLOTS`): each slot's Zipf rank
(inverse CDF), the template, and — on the ambiguous training and validation splits — a coin per
token and the position its swap draws from. The twin law swaps an ambiguous token for its
same-rank twin of the other class; the paper law for a Zipf draw over the other class's
ambiguous list. Both are table look-ups, so K trials of either law (mixed in one pack) draw in
the same dozen ops, with no host sync, and a trial draws the same tokens from the same uniforms
whoever it is drawn with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from study.trial.tasks import Task

SLOTS = 7  # uniforms per sequence: noun rank, adjective rank, template, 2 coins, 2 positions
NOUN_SLOT, ADJ_SLOT = 0, 1


@dataclass(frozen=True)
class Law:
    """Trial k's tables in row k."""

    zipf_cdf: Tensor  # [K, 1, C] float64: the within-class Zipf law's CDF over ranks
    ambiguous: Tensor  # [K, 2, C] bool: the ambiguous ranks of each class
    paper: Tensor  # [K, 1] bool: the paper law's swap (else the twin law's)
    lists: Tensor  # [K, 2, L] long: each class's ambiguous ranks, sorted (padded)
    list_cdf: Tensor  # [K, 2, L] float64: the swap's draw over positions of the list
    list_last: Tensor  # [K, 2, 1] long: the last position of each list

    @classmethod
    def of(cls, tasks: Sequence[Task]) -> Law:
        rows = [_row(t) for t in tasks]
        width = max(r[3].shape[-1] for r in rows)

        def pad(x: Tensor, value: float) -> Tensor:
            return torch.nn.functional.pad(x, (0, width - x.shape[-1]), value=value)

        return cls(
            torch.stack([r[0] for r in rows]),
            torch.stack([r[1] for r in rows]),
            torch.stack([r[2] for r in rows]),
            torch.stack([pad(r[3], 0) for r in rows]),
            torch.stack([pad(r[4], 2.0) for r in rows]),  # past the end: never reached
            torch.stack([r[5] for r in rows]),
        )

    def keep(self, rows: Tensor) -> Law:
        return Law(*(getattr(self, f.name)[rows] for f in fields(self)))


def _row(task: Task) -> tuple[Tensor, ...]:
    size, device = task.vocab.class_size, task.device
    w = task.zipf_weights.double()
    cdf = (w.cumsum(0) / w.sum()).view(1, size)
    if task.cfg.ambiguity == "twin":
        flags = task.is_ambiguous_rank.expand(2, size)
        lists = [torch.zeros(1, dtype=torch.long, device=device)] * 2
    else:
        lists = list(task.paper_ambiguous)
        flags = torch.zeros(2, size, dtype=torch.bool, device=device)
        for c, ranks in enumerate(lists):
            flags[c, ranks] = True
        lists = [x if len(x) else torch.zeros(1, dtype=torch.long, device=device) for x in lists]
    width = max(len(x) for x in lists)
    list_cdf = torch.stack(
        [_list_cdf(len(x), width, task.cfg.zipf_exponent, device) for x in lists]
    )
    padded = torch.stack([torch.nn.functional.pad(x, (0, width - len(x))) for x in lists])
    last = torch.tensor([[len(x) - 1] for x in lists], device=device)
    paper = torch.tensor([task.cfg.ambiguity == "paper"], device=device)
    return cdf, flags, paper, padded, list_cdf, last


def _list_cdf(length: int, width: int, alpha: float, device: torch.device) -> Tensor:
    """CDF over positions of an ambiguous list under the released sampler: weight j^−α for
    j ≥ 1 (position 0 never drawn, unless the list has one entry); uniform at α = 0."""
    if alpha == 0 or length == 1:
        weights = torch.ones(length, dtype=torch.float64, device=device)
    else:
        weights = torch.arange(length, dtype=torch.float64, device=device).pow(-alpha)
        weights[0] = 0.0
    cdf = weights.cumsum(0) / weights.sum()
    return torch.nn.functional.pad(cdf, (0, width - length), value=2.0)


def draw(law: Law, u: Tensor, swap: bool) -> tuple[Tensor, Tensor]:
    """u [K, n, SLOTS] uniforms → (noun-slot, adjective-slot) token ids, each [K, n]; with
    `swap`, ambiguous tokens are swapped under each trial's law."""
    k, n, _ = u.shape
    size = law.zipf_cdf.shape[-1]
    ranks = torch.searchsorted(law.zipf_cdf, u[..., :2].reshape(k, 1, 2 * n), right=True)
    ranks = ranks.clamp_(max=size - 1).view(k, n, 2)  # the last CDF entry may round below 1
    if swap:
        ranks, classes = _swapped(law, ranks, u)
    else:
        classes = torch.tensor([0, 1], device=u.device)
    ids = ranks + classes * size
    return ids[..., NOUN_SLOT], ids[..., ADJ_SLOT]


def _swapped(law: Law, ranks: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
    """(ranks, classes) [K, n, 2] after each ambiguous token flipped a coin for its swap."""
    k, n, _ = ranks.shape
    slot_class = torch.tensor([0, 1], device=u.device).expand(k, n, 2)
    ambiguous = law.ambiguous.gather(2, ranks.permute(0, 2, 1)).permute(0, 2, 1)  # [K, n, 2]
    flip = ambiguous & (u[..., 3:5] < 0.5)
    other = 1 - slot_class
    # the paper law's swap: a draw over the other class's list (rows of [K, 2, L] by class)
    cdf = law.list_cdf.flip(1)  # the other class's list, for the noun slot first
    position = torch.searchsorted(cdf, u[..., 5:7].permute(0, 2, 1).contiguous(), right=True)
    position = torch.minimum(position, law.list_last.flip(1)).permute(0, 2, 1)  # [K, n, 2]
    listed = law.lists.flip(1).gather(2, position.permute(0, 2, 1)).permute(0, 2, 1)
    swapped_rank = torch.where(law.paper.view(k, 1, 1), listed, ranks)
    return torch.where(flip, swapped_rank, ranks), torch.where(flip, other, slot_class)
