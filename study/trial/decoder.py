"""A GPT-style causal decoder with a head tied to the token embeddings: the model family of the
autoregressive worlds (docs/design.md §9), as GPT-2 builds it (Radford et al., 2019) at toy
sizes.

nanoGPT order: block → model → init. Token plus learned position embeddings, dropout; L pre-LN
blocks `x = x + drop(attn(LN(x)))`, `x = x + drop(FF(LN(x)))` with causal multi-head attention
(dropout on its probabilities) and a GELU feed-forward layer; a final LayerNorm; logits at the
last `n_targets` positions only, through the transposed token embeddings (tied, no bias). The
attention and feed-forward layers are the encoder's (`study.trial.model`), made causal, and
take the same explicit dropout masks (`draw_noise(..., seq_len=T)`), so a trial's masks are its
own here too.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from study.config import ModelConfig
from study.trial.model import FeedForward, SelfAttention
from study.trial.task_model import Noise, TaskModel, build, init_layers, redraw_embeddings


class PreLNBlock(nn.Module):
    """x = x + drop(attn(LN(x))); x = x + drop(ff(LN(x))) — GPT-2's order."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln_attn = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.attn = SelfAttention(cfg)
        self.ln_ff = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.ff = FeedForward(cfg)

    def forward(self, x: Tensor, noise: Noise | None = None) -> Tensor:
        attn_drop, attn_out, ff_out = noise if noise is not None else (None, None, None)
        x = x + _apply(self.attn(self.ln_attn(x), attn_drop), attn_out)
        return x + _apply(self.ff(self.ln_ff(x)), ff_out)


def _apply(x: Tensor, mask: Tensor | None) -> Tensor:
    return x if mask is None else x * mask


class CausalLM(TaskModel):
    EMBEDDINGS = ("tok_emb.weight",)  # tied to the output layer: a reset re-draws both

    def __init__(self, cfg: ModelConfig, vocab_size: int, seq_len: int, n_targets: int = 1):
        super().__init__()
        self.cfg, self.n_targets = cfg, n_targets
        causal = cfg.model_copy(update={"causal": True})  # a decoder attends backwards only
        self.tok_emb = nn.Embedding(vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(PreLNBlock(causal) for _ in range(cfg.n_layers))
        self.ln_final = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)

    def forward(self, inputs: Tensor, noise: Noise | None = None) -> Tensor:
        """inputs [b, t] token ids (and one step's dropout masks) → logits [b, n_targets,
        vocab] at the last n_targets positions."""
        pos = torch.arange(inputs.shape[1], device=inputs.device)
        x = self.tok_emb(inputs) + self.pos_emb(pos)  # [b, t, d]
        if noise is not None:
            x = x * noise[0]
        for i, block in enumerate(self.blocks):
            x = block(x, noise[1 + 3 * i : 4 + 3 * i] if noise is not None else None)
        h = self.ln_final(x[:, -self.n_targets :])  # [b, n_targets, d]
        return F.linear(h, self.tok_emb.weight)


def init_decoder(model: CausalLM, generator: torch.Generator) -> None:
    """GPT-2's init law: N(0, init_std) weights and position embeddings, the residual
    projections (attention out, feed-forward down) at init_std / √(2L), zero biases, unit
    LayerNorms, N(0, embed_init_std) token embeddings."""
    std = model.cfg.init_std
    residual = std / math.sqrt(2 * model.cfg.n_layers)
    init_layers(
        model, generator, lambda name: residual if name.endswith(("attn.out", "ff.down")) else std
    )
    with torch.no_grad():
        model.pos_emb.weight.normal_(0.0, std, generator=generator)
    redraw_embeddings(model, model.cfg.embed_init_std, generator)


def build_decoder(
    cfg: ModelConfig,
    vocab_size: int,
    seq_len: int,
    generator: torch.Generator,
    device: torch.device,
    n_targets: int = 1,
) -> CausalLM:
    make = partial(CausalLM, cfg, vocab_size, seq_len, n_targets)
    return build(make, init_decoder, generator, device)
