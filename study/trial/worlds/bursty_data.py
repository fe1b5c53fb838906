"""Bursty in-context classification's sequences (Reddy 2023; docs/design.md §9), as pure
vectorised functions of uniforms (training from the trial's counter stream, the evaluation sets
from CPU generators).

K classes, each a mean μ_k ~ N(0, I/D) fixed per trial; an item of class k is
(μ_k + ε η)/√(1 + ε²), η ~ N(0, I/D) fresh per item; class k's label is k mod L. A sequence is
N (item, label) pairs, then a query item of one class: 2N + 1 positions, each a vector of D + L
numbers — an item is [x, 0], a label [0, one-hot] — so the model's input projection is one
matrix per role. Only the query's label is the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from study.config import BurstyTaskConfig
from study.trial.worlds.draw_laws import distinct, normals, zipf, zipf_distinct, zipf_except


@dataclass(frozen=True)
class Layout:
    """The uniforms a training sequence takes, slot by slot (its offset last, where positions
    are placed at one: `task.n_positions`)."""

    n_context: int
    n_dims: int
    placed: bool = False

    @property
    def seq_len(self) -> int:
        return 2 * self.n_context + 1

    @property
    def classes(self) -> slice:  # N + 1 class draws (the query's last)
        return slice(2, 3 + self.n_context)

    @property
    def order(self) -> slice:  # a bursty context's arrangement
        start = self.classes.stop
        return slice(start, start + self.n_context)

    @property
    def noise(self) -> slice:  # the items' noise, two uniforms per normal
        start = self.order.stop
        return slice(start, start + 2 * (self.n_context + 1) * self.n_dims)

    @property
    def fresh_means(self) -> slice:  # a fresh sequence's means, one per item slot
        start = self.noise.stop
        return slice(start, start + 2 * (self.n_context + 1) * self.n_dims)

    @property
    def slots(self) -> int:
        return 3 + 2 * self.n_context + 4 * (self.n_context + 1) * self.n_dims + self.placed


BURSTY, FRESH = 0, 1  # the two coins of a training sequence


def placed(inputs: Tensor, n_positions: int, u: Tensor) -> Tensor:
    """inputs [n, T, …] → [n, T, … + P]: each token with its one-hot position among
    P = `n_positions`, the sequence starting at an offset uniform in [0, P − T] (u [n]). Reddy
    (2023) places sequences so; with a fixed start our classifier never learned which label
    follows which item (docs/design.md §9)."""
    n, t = inputs.shape[:2]
    offset = (u * (n_positions - t + 1)).long().clamp_(max=n_positions - t)
    where = offset[:, None] + torch.arange(t, device=inputs.device)
    one_hot = torch.nn.functional.one_hot(where, n_positions).to(inputs.dtype)
    return torch.cat([inputs, one_hot], dim=2)


@dataclass(frozen=True)
class BurstyBatch:
    inputs: Tensor  # [n, 2N+1, D+L]: items [x, 0], labels [0, one-hot], the query item last
    targets: Tensor  # [n, 1] the query's label (its label in this context)
    classes: Tensor  # [n, N+1] each item's class, the query's last (-1 - g: fresh group g)
    fresh: Tensor  # [n] bool: the classes' means were drawn for this sequence alone
    memorised: Tensor  # [n] the query class's canonical label (k mod L; -1 for a fresh class)

    def __len__(self) -> int:
        return self.inputs.shape[0]


def class_means(cfg: BurstyTaskConfig, generator: torch.Generator) -> Tensor:
    """[K, D] μ_k ~ N(0, I/D): the trial's classes."""
    return torch.randn(cfg.n_classes, cfg.n_dims, generator=generator) / math.sqrt(cfg.n_dims)


def items(cfg: BurstyTaskConfig, means: Tensor, noise: Tensor) -> Tensor:
    """(μ + ε η)/√(1 + ε²), means and standard normals [..., D] (η = noise/√D)."""
    eps = cfg.noise
    return (means + eps * noise / math.sqrt(cfg.n_dims)) / math.sqrt(1 + eps * eps)


def lay_out(cfg: BurstyTaskConfig, xs: Tensor, labels: Tensor) -> Tensor:
    """xs [n, N+1, D] (the query's last), labels [n, N] → inputs [n, 2N+1, D+L]."""
    n, d, n_labels = xs.shape[0], cfg.n_dims, cfg.n_labels
    one_hot = torch.nn.functional.one_hot(labels, n_labels).to(xs.dtype)  # [n, N, L]
    item_rows = torch.cat([xs, xs.new_zeros(n, cfg.n_context + 1, n_labels)], dim=2)
    label_rows = torch.cat([xs.new_zeros(n, cfg.n_context, d), one_hot], dim=2)
    pairs = torch.stack([item_rows[:, :-1], label_rows], dim=2).flatten(1, 2)  # [n, 2N, D+L]
    return torch.cat([pairs, item_rows[:, -1:]], dim=1)


def arranged(groups: Tensor, burst: int, u: Tensor) -> Tensor:
    """groups [n, G] (N/B of them) → [n, N]: each B times, in the order of a random
    permutation (u [n, N])."""
    copies = groups.repeat_interleave(burst, dim=1)
    return copies.gather(1, u.argsort(dim=1))


def first_of_class(classes: Tensor) -> Tensor:
    """[n, m] → [n, m] the slot where each slot's class first appears: one fresh mean per class
    of a sequence, whatever its slots."""
    same = classes[:, :, None] == classes[:, None, :]  # [n, m, m]
    return same.int().argmax(dim=2)  # the first match


def training_sequences(cfg: BurstyTaskConfig, means: Tensor, cdf: Tensor, u: Tensor) -> BurstyBatch:
    """u [n, Layout.slots] → n training (or `val`) sequences.

    Bursty (p_B): N/B distinct classes drawn one after another from the Zipf law (the first is
    the query's), B items of each in a random order. Otherwise N classes and the query's, each
    an independent Zipf draw. Fresh (p_C): the sequence's classes get new means, one per class,
    for this sequence alone (their labels stay k mod L)."""
    layout, n, big_n = Layout(cfg.n_context, cfg.n_dims), u.shape[0], cfg.n_context
    bursty = u[:, BURSTY] < cfg.p_bursty
    fresh = u[:, FRESH] < cfg.p_fresh
    class_u = u[:, layout.classes]
    groups = zipf_distinct(cdf, class_u[:, : cfg.classes_per_context])
    burst_context = arranged(groups, cfg.burst, u[:, layout.order])
    plain = zipf(cdf, class_u)
    context = torch.where(bursty[:, None], burst_context, plain[:, :big_n])
    query = torch.where(bursty, groups[:, 0], plain[:, big_n])
    classes = torch.cat([context, query[:, None]], dim=1)  # [n, N+1]
    noise = normals(u[:, layout.noise]).view(n, big_n + 1, cfg.n_dims)
    own = normals(u[:, layout.fresh_means]).view(n, big_n + 1, cfg.n_dims) / math.sqrt(cfg.n_dims)
    fresh_means = own.gather(1, first_of_class(classes)[..., None].expand_as(own))
    slot_means = torch.where(fresh[:, None, None], fresh_means, means[classes])
    labels = classes % cfg.n_labels
    inputs = lay_out(cfg, items(cfg, slot_means, noise), labels[:, :big_n])
    memorised = torch.where(fresh, -1, labels[:, big_n])
    return BurstyBatch(inputs, labels[:, big_n:], classes, fresh, memorised)


# ---- the evaluation sets ----------------------------------------------------------------------
# uniforms per sequence: the groups' labels (or classes), a shift, the arrangement, the noise and
# (fresh) the groups' means


def eval_slots(cfg: BurstyTaskConfig) -> int:
    g, n, d = cfg.classes_per_context, cfg.n_context, cfg.n_dims
    return 2 * g + 1 + n + 2 * (n + 1) * d + 2 * g * d


def _bursty_set(
    cfg: BurstyTaskConfig, group_means: Tensor, group_labels: Tensor, u: Tensor
) -> tuple[Tensor, Tensor]:
    """A bursty sequence from its groups' means [n, G, D] and labels [n, G] (group 0 the
    query's): (inputs, each item's group [n, N+1], the query's last)."""
    g, big_n, n = cfg.classes_per_context, cfg.n_context, u.shape[0]
    start = 2 * g + 1
    slots = arranged(
        torch.arange(g, device=u.device).expand(n, g), cfg.burst, u[:, start : start + big_n]
    )
    slots = torch.cat([slots, slots.new_zeros(n, 1)], dim=1)  # the query: group 0
    noise_u = u[:, start + big_n : start + big_n + 2 * (big_n + 1) * cfg.n_dims]
    noise = normals(noise_u).view(n, big_n + 1, cfg.n_dims)
    means = group_means.gather(1, slots[..., None].expand(n, big_n + 1, cfg.n_dims))
    labels = group_labels.gather(1, slots[:, :big_n])
    return lay_out(cfg, items(cfg, means, noise), labels), slots


def fresh_sequences(cfg: BurstyTaskConfig, u: Tensor) -> BurstyBatch:
    """Structural ICL: N/B classes never trained (fresh means), labelled with distinct labels
    drawn from the L; only the context can tell the query's label (chance B/N for a model that
    copies a context label at random)."""
    g, n, d = cfg.classes_per_context, u.shape[0], cfg.n_dims
    group_labels = distinct(u[:, :g], cfg.n_labels)
    means_u = u[:, eval_slots(cfg) - 2 * g * d :]
    group_means = normals(means_u).view(n, g, d) / math.sqrt(d)
    inputs, groups = _bursty_set(cfg, group_means, group_labels, u)
    fresh = torch.ones(n, dtype=torch.bool, device=u.device)
    none = torch.full((n,), -1, device=u.device)
    return BurstyBatch(inputs, group_labels[:, :1], -1 - groups, fresh, none)


def swap_sequences(cfg: BurstyTaskConfig, means: Tensor, u: Tensor) -> BurstyBatch:
    """Context against weights: N/B trained classes with distinct canonical labels (uniform
    among the classes of each label), every label moved by one shift s ∈ [1, L) for the whole
    sequence, so each class shows a label not its own; the context's answer is the query's
    shown label, the memorised one its own."""
    g, n_labels = cfg.classes_per_context, cfg.n_labels
    own = distinct(u[:, :g], n_labels)  # [n, G] canonical labels, distinct
    per_label = cfg.n_classes // n_labels
    which = (u[:, g : 2 * g] * per_label).long().clamp_(max=per_label - 1)
    classes = own + n_labels * which  # a class of each label (k mod L = the label)
    shift = 1 + (u[:, 2 * g] * (n_labels - 1)).long().clamp_(max=n_labels - 2)
    shown = (own + shift[:, None]) % n_labels
    inputs, groups = _bursty_set(cfg, means[classes], shown, u)
    known = torch.zeros_like(own[:, 0], dtype=torch.bool)
    return BurstyBatch(inputs, shown[:, :1], classes.gather(1, groups), known, own[:, 0])


def absent_sequences(cfg: BurstyTaskConfig, means: Tensor, cdf: Tensor, u: Tensor) -> BurstyBatch:
    """In-weights: a Zipf query class absent from a context of N Zipf classes, none of which
    shares its label (a class that would is moved to the next one); canonical labels."""
    big_n, n, d, n_labels = cfg.n_context, u.shape[0], cfg.n_dims, cfg.n_labels
    query = zipf(cdf, u[:, 0])
    context = zipf_except(cdf, u[:, 1 : 1 + big_n], query[:, None].expand(n, big_n))
    same_label = context % n_labels == (query % n_labels)[:, None]
    context = torch.where(same_label, (context + 1) % cfg.n_classes, context)
    classes = torch.cat([context, query[:, None]], dim=1)
    noise = normals(u[:, 1 + big_n : 1 + big_n + 2 * (big_n + 1) * d]).view(n, big_n + 1, d)
    labels = classes % n_labels
    inputs = lay_out(cfg, items(cfg, means[classes], noise), labels[:, :big_n])
    known = torch.zeros_like(query, dtype=torch.bool)
    return BurstyBatch(inputs, labels[:, big_n:], classes, known, labels[:, big_n])
