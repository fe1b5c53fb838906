"""The autoregressive toy's sequences (docs/design.md §9), as pure vectorised functions of
uniforms: a trial's training batches come from its counter stream (`study.trial.counter_rng`),
its evaluation sets from CPU generators, through the same functions.

Ids: items `0 … n−1` (id order is frequency rank, id 0 most frequent), held-out items
`n … n+R−1` (never in a training sequence), then one label token per item, `n+R … n+R+n−1`
(item i's canonical label is token n+R+i). The two *evaluation labels* are the label tokens of
items 0 and 1, as in the released code.

A sequence is 8 context pairs (item, label) and a query item: 17 positions, the model reads the
query's label off the last one (the released code's 18th token, the label itself, is never
attended to by a causal model, so it is left out). Only that label enters the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from study.config import ArTaskConfig
from study.trial.worlds.draw_laws import distinct, zipf, zipf_except

PAIRS = 8  # context (item, label) pairs
SEQ_LEN = 2 * PAIRS + 1  # ... then the query item
QUERY = SEQ_LEN - 1  # position of the query: its output is the label's logits
BURST = 4  # a bursty context: this many copies of the query item and of one other item
# uniforms per training sequence: bursty coin, query, other, 2 ambiguity coins, 2 random
# labels, 8 for the context (its arrangement when bursty, its items when not)
TRAIN_SLOTS = 7 + PAIRS
BURSTY, QUERY_U, OTHER_U, AMB_Q, AMB_O, LABEL_Q, LABEL_O = range(7)
CONTEXT_U = slice(7, 7 + PAIRS)
# an in-context evaluation sequence: its 4 items appear 3, 3, 1 and 1 times (the query first)
IN_CONTEXT_COUNTS = (3, 3, 1, 1)
IN_CONTEXT_SLOTS = 2 * len(IN_CONTEXT_COUNTS) + PAIRS  # items, label coins, arrangement
WEIGHTS_SLOTS = 1 + PAIRS  # the query, then 8 context items other than it


@dataclass(frozen=True)
class ArVocab:
    n_items: int
    n_holdout: int

    @classmethod
    def of(cls, cfg: ArTaskConfig) -> ArVocab:
        return cls(cfg.n_items, cfg.n_holdout)

    @property
    def holdout_start(self) -> int:
        return self.n_items

    @property
    def label_start(self) -> int:
        return self.n_items + self.n_holdout

    @property
    def size(self) -> int:
        return 2 * self.n_items + self.n_holdout

    @property
    def eval_labels(self) -> tuple[int, int]:
        """The two label tokens the in-context sets use: those of items 0 and 1."""
        return self.label_start, self.label_start + 1


@dataclass(frozen=True)
class ArBatch:
    inputs: Tensor  # [n, 17] ids: item, label, …, query item
    targets: Tensor  # [n, 1] the query's label token (the context's label for it, if bursty)
    query: Tensor  # [n] the query item
    bursty: Tensor  # [n] bool

    def __len__(self) -> int:
        return self.inputs.shape[0]


@dataclass(frozen=True)
class InContextBatch:
    """An in-context evaluation set: labels are the two evaluation labels, drawn at random per
    item, so only the context tells the query's."""

    inputs: Tensor  # [n, 17]
    targets: Tensor  # [n, 1] the query's label token
    answer: Tensor  # [n] 0 or 1: which evaluation label is the query's
    query: Tensor  # [n]

    def __len__(self) -> int:
        return self.inputs.shape[0]


def interleave(items: Tensor, labels: Tensor, query: Tensor) -> Tensor:
    """items, labels [n, 8] (label tokens), query [n] → inputs [n, 17]."""
    pairs = torch.stack([items, labels], dim=2).flatten(1)  # [n, 16]: item, label, item, …
    return torch.cat([pairs, query[:, None]], dim=1)


def training_sequences(cfg: ArTaskConfig, vocab: ArVocab, cdf: Tensor, u: Tensor) -> ArBatch:
    """u [n, TRAIN_SLOTS] uniforms → n training (or `val`) sequences.

    Bursty (probability `bursty_ratio`): the query item q and one other item o ≠ q, both
    Zipf, 4 copies each in a random order; each of the two keeps its canonical label, or with
    probability `amb_ratio` gets a label drawn uniformly from all n, for the whole sequence;
    the answer is q's label in that context. Otherwise: 8 independent Zipf items and a Zipf
    query, all with canonical labels (the query may or may not be among them)."""
    n_items, n = vocab.n_items, u.shape[0]
    bursty = u[:, BURSTY] < cfg.bursty_ratio
    q = zipf(cdf, u[:, QUERY_U])
    o = zipf_except(cdf, u[:, OTHER_U], q)
    random_label = (u[:, [LABEL_Q, LABEL_O]] * n_items).long().clamp_(max=n_items - 1)
    ambiguous = u[:, [AMB_Q, AMB_O]] < cfg.amb_ratio
    pair_labels = torch.where(ambiguous, random_label, torch.stack([q, o], dim=1))  # [n, 2]
    # bursty context: [q]*4 + [o]*4 in the order of a random permutation of the 8 slots
    order = u[:, CONTEXT_U].argsort(dim=1)
    which = (torch.arange(PAIRS, device=u.device) >= BURST).long().expand(n, PAIRS)
    which = which.gather(1, order)  # 0: the query item, 1: the other
    burst_items = torch.stack([q, o], dim=1).gather(1, which)
    burst_labels = pair_labels.gather(1, which)
    plain_items = zipf(cdf, u[:, CONTEXT_U])
    items = torch.where(bursty[:, None], burst_items, plain_items)
    labels = torch.where(bursty[:, None], burst_labels, plain_items)
    answer = torch.where(bursty, pair_labels[:, 0], q)
    start = vocab.label_start
    inputs = interleave(items, labels + start, q)
    return ArBatch(inputs, (answer + start)[:, None], q, bursty)


def in_context_sequences(vocab: ArVocab, first: int, size: int, u: Tensor) -> InContextBatch:
    """u [n, IN_CONTEXT_SLOTS] → n sequences over the `size` items from id `first`: four
    distinct items, appearing 3 (the query), 3, 1 and 1 times in a random order, each labelled
    with one of the two evaluation labels at random; the answer is the query's."""
    n, k = u.shape[0], len(IN_CONTEXT_COUNTS)
    chosen = distinct(u[:, :k], size) + first  # [n, 4], the query first
    coins = (u[:, k : 2 * k] < 0.5).long()  # [n, 4] which evaluation label each item has
    slots = torch.repeat_interleave(
        torch.arange(k, device=u.device), torch.tensor(IN_CONTEXT_COUNTS, device=u.device)
    )  # [8]: 0, 0, 0, 1, 1, 1, 2, 3
    which = slots.expand(n, PAIRS).gather(1, u[:, 2 * k :].argsort(dim=1))
    eval_labels = torch.tensor(vocab.eval_labels, device=u.device)
    items, labels = chosen.gather(1, which), eval_labels[coins.gather(1, which)]
    answer = coins[:, 0]
    query = chosen[:, 0]
    return InContextBatch(
        interleave(items, labels, query), eval_labels[answer][:, None], answer, query
    )


def weights_sequences(vocab: ArVocab, cdf: Tensor, u: Tensor) -> ArBatch:
    """u [n, WEIGHTS_SLOTS] → n sequences whose query item (Zipf) is absent from the context (8
    Zipf items other than it, canonical labels): only the weights know its label."""
    q = zipf(cdf, u[:, 0])
    items = zipf_except(cdf, u[:, 1:], q[:, None].expand(-1, PAIRS))
    start = vocab.label_start
    inputs = interleave(items, items + start, q)
    bursty = torch.zeros_like(q, dtype=torch.bool)
    return ArBatch(inputs, (q + start)[:, None], q, bursty)
