"""A counter-based random stream: the draw number i of trial k at step s is a hash of (k's key,
s, i), computed with a few batched integer ops for every trial of a pack at once.

`torch.Generator` is one sequential stream per object, so K trials with K generators cost K
calls per draw, and a pack could not draw their batches together without changing what each
trial sees. A hash of the counter gives every trial its own stream that does not depend on who
else is drawing: a trial in a pack draws exactly what it draws alone. The arithmetic is 32-bit
integer (wrapping multiply, xor, shift), so the CPU and a GPU give the same bits.

The mixer is `lowbias32` (C. Wellons, hash-prospector), applied twice per draw: once to the
counter offset by the step's 32-bit base, once with the step's second 32-bit word, so two
steps' draws never repeat each other shifted (a 32-bit counter alone would, over 10^10 draws).
"""

from __future__ import annotations

import torch
from torch import Tensor

_GOLDEN = -0x61C88647  # 0x9E3779B9 as a signed int32: spreads consecutive counters
_STEP = 0x2545F491  # odd: spreads consecutive steps


def _i32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def mix(x: Tensor) -> Tensor:
    """lowbias32 on int32 (the shifts are logical: masked after the arithmetic shift); a new
    tensor, written in place after its first op (half the time of fresh tensors on the CPU)."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x *= _i32(0x7FEB352D)
    x ^= (x >> 15) & 0x1FFFF
    x *= _i32(0x846CA68B)
    x ^= (x >> 16) & 0xFFFF
    return x


def keys(seeds: list[int], device: torch.device) -> Tensor:
    """[K, 2] int32 keys of K streams from their (up to 64-bit) seeds."""
    words = [[_i32(s), _i32(s >> 32)] for s in seeds]
    w = torch.tensor(words, dtype=torch.int32, device=device)
    return torch.stack([mix(w[:, 0] ^ mix(w[:, 1])), mix(w[:, 1] + _i32(_GOLDEN))], dim=1)


def bits(key: Tensor, step: int, n: int) -> Tensor:
    """[K, n] uniformly random int32 words: draws 0 … n-1 of each stream at `step`."""
    base = mix(key + _i32(step * _STEP))  # [K, 2]: the step's two words, per stream
    counter = torch.arange(n, dtype=torch.int32, device=key.device) * _GOLDEN
    return mix(mix(counter + base[:, :1]) ^ base[:, 1:])


def uniform(key: Tensor, step: int, n: int) -> Tensor:
    """[K, n] float64 uniforms in [0, 1), 32 random bits each."""
    return (bits(key, step, n).double() + 2.0**31) * 2.0**-32


def half_words(key: Tensor, step: int, n: int) -> Tensor:
    """[K, n] random 16-bit values (0 … 65535) at `step`: both halves of n/2 words, for draws
    that need no finer resolution (dropout masks: half the hashing of full words)."""
    w = bits(key, step, (n + 1) // 2)
    return torch.stack([w & 0xFFFF, (w >> 16) & 0xFFFF], dim=-1).flatten(1)[:, :n]


def keep_mask(halves: Tensor, keep: float) -> Tensor:
    """Dropout's kept-and-rescaled mask from 16-bit values: kept with probability t/65536,
    t = round(keep · 65536) (within 2^-17 of `keep`), scaled by its inverse so the mask's mean is
    exactly 1."""
    t = round(keep * 65536)
    return (halves < t).float().mul_(65536 / t)


def below(words: Tensor, p: float) -> Tensor:
    """Bernoulli(p) from random int32 words: true with probability p (to 2^-32)."""
    if p >= 1:
        return torch.ones_like(words, dtype=torch.bool)
    return words < min(round(p * 2.0**32) - 2**31, 2**31 - 1)
