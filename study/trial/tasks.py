"""The synthetic part-of-speech task (docs/design.md §2), sampled vectorised on the training device.

Token ids: nouns `0 … V/2-1`, adjectives `V/2 … V-1` (inside a class, id order is frequency
rank), then the copula, the mask, and R held-out ids that never occur in a training input.

A sequence has 7 positions: a context `[cop, A, N]` or `[N, cop, A]`, a query that is the context's
A or N, and three masked targets — `A A A` after an adjective query, `A N N` after a noun query.
Target 1 is always the token after the copula; targets 2–3 copy the query.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import torch
from torch import Tensor

from study.config import TaskConfig
from study.trial.task_law import SLOTS, Law, draw

SEQ_LEN = 7
QUERY = 3  # position of the query token
TARGETS = slice(4, 7)  # the three masked target positions
N_TARGETS = 3

Split = Literal["train", "val", "holdout", "switch", "tail", "tail_switch"]
SPLITS: tuple[Split, ...] = ("train", "val", "holdout", "switch", "tail", "tail_switch")
EVAL_SPLITS: tuple[Split, ...] = ("val", "holdout", "switch", "tail", "tail_switch")
NOUN, ADJ, HELD_OUT = 0, 1, -1  # token classes


@dataclass(frozen=True)
class Vocab:
    """Id layout of a task; pure arithmetic, no tensors held."""

    n_content: int
    n_holdout: int

    @classmethod
    def of(cls, cfg: TaskConfig) -> Vocab:
        assert cfg.n_holdout is not None  # TaskConfig sets its default (V // 10) when validated
        return cls(cfg.n_vocab, cfg.n_holdout)

    @property
    def class_size(self) -> int:
        return self.n_content // 2

    @property
    def copula(self) -> int:
        return self.n_content

    @property
    def mask(self) -> int:
        return self.n_content + 1

    @property
    def holdout_start(self) -> int:
        return self.n_content + 2

    @property
    def size(self) -> int:
        return self.n_content + 2 + self.n_holdout

    @property
    def holdout_ids(self) -> range:
        return range(self.holdout_start, self.size)

    def token_class(self, ids: Tensor) -> Tensor:
        """NOUN / ADJ for content ids, HELD_OUT otherwise."""
        cls = torch.full_like(ids, HELD_OUT)
        cls[ids < self.n_content] = ADJ
        cls[ids < self.class_size] = NOUN
        return cls

    def token_rank(self, ids: Tensor) -> Tensor:
        """Frequency rank inside the class (0 = most frequent); -1 for non-content ids."""
        return torch.where(ids < self.n_content, ids % self.class_size, torch.full_like(ids, -1))


@dataclass(frozen=True)
class Batch:
    """Sequences with the two readings of their targets.

    `targets` is the context's answer (token after the copula, then the query twice);
    `swapped` is the memorised-role answer (the other context token, then the query twice), which
    differs from `targets` only on the role-swapped sets.
    """

    inputs: Tensor  # [n, 7] token ids, targets masked
    targets: Tensor  # [n, 3]
    swapped: Tensor  # [n, 3]
    after_copula: Tensor  # [n]
    other: Tensor  # [n]
    query: Tensor  # [n]
    template: Tensor  # [n] 0..3: bit 0 = context order [N, cop, A], bit 1 = noun query

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def chunks(self, size: int) -> Iterator[Batch]:
        for start in range(0, len(self), size):
            yield Batch(**{k: v[start : start + size] for k, v in self.__dict__.items()})


class Task:
    """Sampler for one task config on one device. All randomness comes from the caller's generator."""

    def __init__(self, cfg: TaskConfig, device: torch.device | str = "cpu", seed: int = 0):
        self.cfg, self.seed = cfg, seed  # `seed` draws the `paper` law's ambiguous sets
        self.vocab = Vocab.of(cfg)
        self.device = torch.device(device)

    @cached_property
    def zipf_weights(self) -> Tensor:
        """Unnormalised `rank^-α` over a class, ranks counted from 1 (rank 1 is drawn, unless
        `task.zipf_law: paper` at α > 0: the released sampler's off-by-one)."""
        ranks = torch.arange(1, self.vocab.class_size + 1, dtype=torch.float64, device=self.device)
        weights = ranks.pow(-self.cfg.zipf_exponent)
        if self.cfg.zipf_law == "paper" and self.cfg.zipf_exponent > 0:
            weights[0] = 0.0
        return weights.float()

    @cached_property
    def ambiguous_ranks(self) -> Tensor:
        """Ranks that are ambiguous in both classes: ε of each class, evenly over frequency bins."""
        return ambiguous_ranks(
            self.vocab.class_size, self.cfg.p_ambiguous, self.cfg.n_freq_bins
        ).to(self.device)

    @cached_property
    def is_ambiguous_rank(self) -> Tensor:
        flags = torch.zeros(self.vocab.class_size, dtype=torch.bool, device=self.device)
        flags[self.ambiguous_ranks] = True
        return flags

    @cached_property
    def paper_ambiguous(self) -> tuple[Tensor, Tensor]:
        """The `paper` law's ambiguous ranks, sorted, for nouns and for adjectives."""
        g = torch.Generator().manual_seed(self.seed)
        size, eps, bins = self.vocab.class_size, self.cfg.p_ambiguous, self.cfg.n_freq_bins
        nouns, adjectives = (
            paper_ambiguous_ranks(size, eps, bins, g).to(self.device) for _ in range(2)
        )
        return nouns, adjectives

    def is_ambiguous(self, ids: Tensor) -> Tensor:
        """[n] bool: content ids that are ambiguous under the task's law."""
        ranks = self.vocab.token_rank(ids).clamp(min=0)
        content = ids < self.vocab.n_content
        if self.cfg.ambiguity == "twin":
            return content & self.is_ambiguous_rank[ranks]
        flags = torch.zeros(2, self.vocab.class_size, dtype=torch.bool, device=self.device)
        for cls, ambiguous in enumerate(self.paper_ambiguous):
            flags[cls, ambiguous] = True
        return content & flags[(ids >= self.vocab.class_size).long(), ranks]

    @property
    def tail_start(self) -> int:
        """First rank of the tail: the rarest `tail_fraction` of a class."""
        size = self.vocab.class_size
        return size - max(1, math.ceil(self.cfg.tail_fraction * size))

    @cached_property
    def law(self) -> Law:
        """This task's content law as the tables a pack stacks (`study.trial.task_law`)."""
        return Law.of([self])

    def sample(self, split: Split, n: int, generator: torch.Generator) -> Batch:
        """`n` sequences of `split` from `generator` (drawn on its device, then moved to this
        task's: a CPU generator gives the same sets on every device)."""
        noun, adj = self._content_pair(split, n, generator)
        template = self._uniform_ints(4, n, generator)
        return self.laid_out(split, noun, adj, template)

    def laid_out(self, split: Split, noun: Tensor, adj: Tensor, template: Tensor) -> Batch:
        """The sequences of `split` from their content tokens and templates (any leading
        shape; the batch is flat)."""
        swap_roles = split in ("switch", "tail_switch")
        after_copula, other = (noun, adj) if swap_roles else (adj, noun)
        return assemble(self.vocab, after_copula.flatten(), other.flatten(), template.flatten())

    def _content_pair(self, split: Split, n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
        """(noun-slot, adjective-slot) token ids, each [n]."""
        size = self.vocab.class_size
        if split == "holdout":
            first = self._uniform_ints(self.vocab.n_holdout, n, g)
            # a second, different held-out id: shift a draw over R-1 ids past the first
            second = self._uniform_ints(self.vocab.n_holdout - 1, n, g)
            second = second + (second >= first).long()
            start = self.vocab.holdout_start
            return first + start, second + start
        if split in ("tail", "tail_switch"):
            n_tail = size - self.tail_start
            noun_rank = self.tail_start + self._uniform_ints(n_tail, n, g)
            adj_rank = self.tail_start + self._uniform_ints(n_tail, n, g)
            return noun_rank, adj_rank + size
        u = torch.rand(1, n, SLOTS, generator=g, device=g.device, dtype=torch.float64)
        noun, adj = draw(self.law, u.to(self.device), swap=split in ("train", "val"))
        return noun[0], adj[0]

    def _uniform_ints(self, high: int, n: int, g: torch.Generator) -> Tensor:
        return torch.randint(0, high, (n,), generator=g, device=g.device).to(self.device)


def ambiguous_ranks(class_size: int, p_ambiguous: float, n_bins: int) -> Tensor:
    """Round(ε · class_size) ranks spread evenly over `n_bins` equal frequency bins, evenly inside each."""
    total = round(p_ambiguous * class_size)
    edges = torch.linspace(0, class_size, n_bins + 1).round().long().tolist()
    per_bin = [total // n_bins + (b < total % n_bins) for b in range(n_bins)]
    picks = []
    for (lo, hi), k in zip(zip(edges[:-1], edges[1:], strict=True), per_bin, strict=True):
        k = min(k, hi - lo)
        if k:
            # centres of k equal slices of the bin: deterministic, spread over the bin
            offsets = ((torch.arange(k) + 0.5) * (hi - lo) / k).long()
            picks.append(lo + offsets)
    return torch.cat(picks) if picks else torch.zeros(0, dtype=torch.long)


def paper_ambiguous_ranks(
    class_size: int, p_ambiguous: float, n_bins: int, generator: torch.Generator
) -> Tensor:
    """The released code's choice for one class: the ranks cut into `n_bins` bins of
    class_size // n_bins (the remainder joins the last bin), ⌈ε · bin size⌉ ranks drawn at random
    in each; sorted."""
    width = class_size // n_bins
    picks = []
    for b in range(n_bins):
        lo, hi = b * width, (class_size if b == n_bins - 1 else (b + 1) * width)
        k = math.ceil((hi - lo) * p_ambiguous - 1e-9)
        picks.append(lo + torch.randperm(hi - lo, generator=generator)[:k])
    return torch.cat(picks).sort().values


def assemble(vocab: Vocab, after_copula: Tensor, other: Tensor, template: Tensor) -> Batch:
    """Lay out sequences from their two context tokens and a template index in 0..3."""
    n = after_copula.shape[0]
    cop = torch.full_like(after_copula, vocab.copula)
    mask = torch.full_like(after_copula, vocab.mask)
    noun_first = (template & 1).bool()  # context [N, cop, A] instead of [cop, A, N]
    noun_query = (template & 2).bool()
    ctx = torch.where(
        noun_first[:, None],
        torch.stack([other, cop, after_copula], dim=1),
        torch.stack([cop, after_copula, other], dim=1),
    )
    query = torch.where(noun_query, other, after_copula)
    inputs = torch.cat([ctx, query[:, None], mask[:, None].expand(n, N_TARGETS)], dim=1)
    targets = torch.stack([after_copula, query, query], dim=1)
    swapped = torch.stack([other, query, query], dim=1)
    return Batch(inputs, targets, swapped, after_copula, other, query, template)
