"""Draws by explicit laws from uniforms, vectorised and without rejection, for the worlds'
samplers (docs/design.md §9): a truncated Zipf law by its inverse CDF, the same law
conditioned on avoiding some items (the uniform squeezed past their share), and distinct
uniform ints. Every function is pure in its uniforms, so the counter streams of training and
the generators of the evaluation sets go through the same code."""

from __future__ import annotations

import torch
from torch import Tensor


def zipf_cdf(n: int, alpha: float, device: torch.device | str = "cpu") -> Tensor:
    """[n] float64 CDF of p(r) ∝ r^−α over ranks r = 1 … n (α = 0 uniform)."""
    weights = torch.arange(1, n + 1, dtype=torch.float64, device=device).pow(-alpha)
    return weights.cumsum(0) / weights.sum()


def zipf(cdf: Tensor, u: Tensor) -> Tensor:
    """Items (long, shaped like u) by inverting the CDF at uniforms u."""
    flat = torch.searchsorted(cdf, u.reshape(-1).contiguous(), right=True)
    return flat.clamp_(max=cdf.shape[0] - 1).view(u.shape)  # the last entry may round below 1


def zipf_except(cdf: Tensor, u: Tensor, excluded: Tensor) -> Tensor:
    """Items from the Zipf law conditioned on differing from `excluded` (u and excluded of one
    shape): the uniform is squeezed past the excluded item's share of [0, 1), an exact
    conditional draw without rejection."""
    below = torch.cat([cdf.new_zeros(1), cdf[:-1]])[excluded]  # mass before the excluded item
    gap = cdf[excluded] - below
    v = u * (cdf[-1] - gap)
    v = v + gap * (v >= below)
    items = zipf(cdf, v)
    # float rounding at the gap's edge may land on the excluded item: move it one along
    return torch.where(items == excluded, (excluded + 1) % cdf.shape[0], items)


def distinct(u: Tensor, size: int) -> Tensor:
    """u [n, k] → [n, k] distinct ints in [0, size), uniform over ordered k-tuples: each draw is
    over the ids not yet taken, shifted past the taken ones in increasing order."""
    picks: list[Tensor] = []
    for j in range(u.shape[1]):
        x = (u[:, j] * (size - j)).long().clamp_(max=size - j - 1)
        if picks:
            for taken in torch.stack(picks, dim=1).sort(dim=1).values.unbind(1):
                x = x + (x >= taken).long()
        picks.append(x)
    return torch.stack(picks, dim=1)


def zipf_distinct(cdf: Tensor, u: Tensor) -> Tensor:
    """u [n, m] → [n, m] distinct items drawn one after another from the Zipf law without
    replacement (each draw conditioned on avoiding the ones before it; the first is a plain
    draw)."""
    below = torch.cat([cdf.new_zeros(1), cdf[:-1]])
    picks: list[Tensor] = []
    for j in range(u.shape[1]):
        if not picks:
            picks.append(zipf(cdf, u[:, j]))
            continue
        taken = torch.stack(picks, dim=1).sort(dim=1).values  # by id = by place in the CDF
        gaps = cdf[taken] - below[taken]
        v = u[:, j] * (cdf[-1] - gaps.sum(1))
        for col in range(taken.shape[1]):  # past each taken item's share, in increasing order
            v = v + gaps[:, col] * (v >= below[taken[:, col]])
        x = zipf(cdf, v)
        # float rounding at a share's edge may land on a taken item: move it one along
        picks.append(torch.where((x[:, None] == taken).any(1), (x + 1) % cdf.shape[0], x))
    return torch.stack(picks, dim=1)


def normals(u: Tensor) -> Tensor:
    """N(0, 1) draws from pairs of uniforms (Box–Muller, one draw a pair): u [..., 2m] → [..., m].
    A float32 uniform within 2^-25 of 1 rounds to 1.0, whose draw would be infinite (a bursty
    run's loss turned NaN at step 16,710): u1 is kept below 1, a finite 5.6σ draw instead."""
    u1, u2 = u[..., 0::2], u[..., 1::2]
    u1 = u1.clamp(max=1.0 - torch.finfo(u.dtype).eps)
    return torch.sqrt(-2.0 * torch.log1p(-u1)) * torch.cos(2.0 * torch.pi * u2)
