"""The model of `study.trial.model` written for stacked parameters: every tensor [K, …], trial k
in row k, every matmul a batched one (`torch.bmm` / `baddbmm`) over the K trials.

The other way to train a pack besides mapping the one-trial module over the rows with
`torch.func.vmap` (`study.trial.pack`); both compute the same function, and `dpl bench train
--pack-impl` times them. Written by hand because no library runs K differently-weighted copies
of a module as batched kernels except through vmap.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from study.config import ModelConfig
from study.trial.model import Noise
from study.trial.tasks import TARGETS


def _linear(x: Tensor, p: dict[str, Tensor], name: str) -> Tensor:
    """x [K, …, in] → [K, …, out] with row k's weight [out, in] and bias [out]."""
    k, shape = x.shape[0], x.shape[1:-1]
    flat = x.reshape(k, -1, x.shape[-1])
    out = torch.baddbmm(p[f"{name}.bias"].unsqueeze(1), flat, p[f"{name}.weight"].transpose(1, 2))
    return out.view(k, *shape, -1)


def _norm(x: Tensor, p: dict[str, Tensor], name: str, eps: float) -> Tensor:
    view = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    y = F.layer_norm(x, x.shape[-1:], eps=eps)
    return y * p[f"{name}.weight"].view(view) + p[f"{name}.bias"].view(view)


def stacked_forward(
    cfg: ModelConfig, p: dict[str, Tensor], inputs: Tensor, noise: Noise | None
) -> Tensor:
    """inputs [K, b, 7] (and masks [K, …]) → logits [K, b, 3, vocab], as `MaskedLM.forward` row by
    row."""
    k, b, t = inputs.shape
    d, h, eps = cfg.d_model, cfg.n_heads, cfg.layer_norm_eps
    rows = torch.arange(k, device=inputs.device).view(k, 1, 1)
    x = p["tok_emb.weight"][rows, inputs] + p["pos_emb.weight"][:, :t].unsqueeze(1)
    x = _norm(x, p, "ln_emb", eps)
    if noise is not None:
        x = x * noise[0]
    for i in range(cfg.n_layers):
        at = f"blocks.{i}"
        block_noise = noise[1 + 3 * i : 4 + 3 * i] if noise is not None else (None,) * 3
        attn_drop, attn_out, ff_out = block_noise
        qkv = _linear(x, p, f"{at}.attn.qkv").view(k, b, t, 3, h, d // h)
        q, kk, v = qkv.permute(3, 0, 1, 4, 2, 5)  # each [K, b, heads, t, d / heads]
        scores = q @ kk.transpose(-2, -1) / math.sqrt(d // h)  # [K, b, heads, t, t]
        if cfg.causal:
            future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, -math.inf)
        weights = scores.softmax(-1)
        if attn_drop is not None:
            weights = weights * attn_drop
        y = _linear((weights @ v).transpose(2, 3).reshape(k, b, t, d), p, f"{at}.attn.out")
        x = _norm(x + (y if attn_out is None else y * attn_out), p, f"{at}.ln_attn", eps)
        y = _linear(F.gelu(_linear(x, p, f"{at}.ff.up")), p, f"{at}.ff.down")
        x = _norm(x + (y if ff_out is None else y * ff_out), p, f"{at}.ln_ff", eps)
    hidden = _norm(F.gelu(_linear(x[:, :, TARGETS], p, "head")), p, "ln_head", eps)  # [K, b, 3, d]
    logits = torch.baddbmm(
        p["out_bias"].unsqueeze(1), hidden.reshape(k, -1, d), p["tok_emb.weight"].transpose(1, 2)
    )
    return logits.view(k, b, 3, -1)
