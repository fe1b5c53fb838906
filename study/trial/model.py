"""BERT-style masked-LM encoder with an MLM head tied to the token embeddings (docs/design.md §4, §7).

nanoGPT order: attention → feed-forward → block → model. Post-LayerNorm like BERT; a causal flag
gives the GPT-style variant. Logits are computed only at the three target positions.

Dropout is explicit: `draw_noise` draws every mask of one step from the trial's own counter
stream (`study.trial.counter_rng`) and `forward(inputs, noise)` applies them (no noise: no
dropout, as in evaluation). The masks then belong to the trial, not to torch's global stream, so
a trial trained inside a pack (`study.trial.pack`) sees exactly the masks it sees alone.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from study.config import ModelConfig
from study.trial.counter_rng import half_words, keep_mask
from study.trial.task_model import (
    Noise,
    TaskModel,
    build,
    embedding_draw,
    init_layers,
    redraw_embeddings,
)
from study.trial.tasks import SEQ_LEN, TARGETS

__all__ = [
    "Block",
    "FeedForward",
    "MaskedLM",
    "Noise",
    "SelfAttention",
    "build_model",
    "draw_noise",
    "draw_token_embeddings",
    "embedding_draw",
    "init_weights",
]


class SelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.causal = cfg.n_heads, cfg.causal
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: Tensor, drop: Tensor | None = None) -> Tensor:
        b, t, d = x.shape
        # [b, t, 3d] → 3 × [b, heads, t, d/heads]
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.n_heads)  # [b, heads, t, t]
        if self.causal:
            future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, -math.inf)
        weights = scores.softmax(-1)
        if drop is not None:  # dropout on the attention probabilities, as BERT's
            weights = weights * drop
        out: Tensor = self.out((weights @ v).transpose(1, 2).reshape(b, t, d))
        return out


class FeedForward(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.up = nn.Linear(cfg.d_model, cfg.d_ff)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model)

    def forward(self, x: Tensor) -> Tensor:
        down: Tensor = self.down(F.gelu(self.up(x)))
        return down


class Block(nn.Module):
    """Post-LN block: x = LN(x + drop(attn(x))); x = LN(x + drop(ff(x)))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn = SelfAttention(cfg)
        self.ln_attn = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.ff = FeedForward(cfg)
        self.ln_ff = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)

    def forward(self, x: Tensor, noise: Noise | None = None) -> Tensor:
        attn_drop, attn_out, ff_out = noise if noise is not None else (None, None, None)
        x = self.ln_attn(x + _apply(self.attn(x, attn_drop), attn_out))
        out: Tensor = self.ln_ff(x + _apply(self.ff(x), ff_out))
        return out


def _apply(x: Tensor, mask: Tensor | None) -> Tensor:
    return x if mask is None else x * mask


class MaskedLM(TaskModel):
    EMBEDDINGS = ("tok_emb.weight",)  # tied to the MLM decoder: a reset re-draws both

    def __init__(self, cfg: ModelConfig, vocab_size: int, seq_len: int = SEQ_LEN):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(seq_len, cfg.d_model)
        self.ln_emb = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        # MLM head: dense + GELU + LayerNorm, then the decoder tied to tok_emb with its own bias
        self.head = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln_head = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.out_bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, inputs: Tensor, noise: Noise | None = None) -> Tensor:
        """inputs [b, 7] token ids (and one step's dropout masks) → logits [b, 3, vocab] at the
        target positions."""
        pos = torch.arange(inputs.shape[1], device=inputs.device)
        x = self.ln_emb(self.tok_emb(inputs) + self.pos_emb(pos))
        if noise is not None:
            x = x * noise[0]
        for i, block in enumerate(self.blocks):
            x = block(x, noise[1 + 3 * i : 4 + 3 * i] if noise is not None else None)
        h = self.ln_head(F.gelu(self.head(x[:, TARGETS])))  # [b, 3, d]
        return F.linear(h, self.tok_emb.weight, self.out_bias)


def draw_noise(
    cfg: ModelConfig, batch: int, keys: Tensor, step: int, seq_len: int = SEQ_LEN
) -> Noise | None:
    """Step `step`'s dropout masks of K trials (their dropout streams' `keys` [K, 2],
    study.trial.counter_rng), scaled to mean 1 (`keep_mask`: p to 2^-17): the embeddings'
    [K, b, t, d], then per layer
    the attention probabilities' [K, b, heads, t, t] and the two residual branches' [K, b, t, d]
    (t = `seq_len`; the GPT-style decoder of study.trial.decoder takes the same masks).
    None when every dropout rate is 0."""
    p, p_attn = cfg.dropout, cfg.attn_dropout
    if p == 0 and p_attn == 0:
        return None
    hidden, attn = (batch, seq_len, cfg.d_model), (batch, cfg.n_heads, seq_len, seq_len)
    parts = [(hidden, p)] + [(attn, p_attn), (hidden, p), (hidden, p)] * cfg.n_layers
    sizes = [math.prod(shape) for shape, _ in parts]
    drawn = torch.split(half_words(keys, step, sum(sizes)), sizes, dim=1)  # one draw for every mask
    k = keys.shape[0]
    return tuple(
        keep_mask(h, 1 - rate).view(k, *shape)
        for h, (shape, rate) in zip(drawn, parts, strict=True)
    )


def init_weights(model: MaskedLM, generator: torch.Generator) -> None:
    """The init law: N(0, init_std) weights, zero biases, unit LayerNorms, N(0, embed_init_std) tokens."""
    std = model.cfg.init_std
    init_layers(model, generator, lambda name: std)
    with torch.no_grad():
        model.pos_emb.weight.normal_(0.0, std, generator=generator)
        model.out_bias.zero_()
    draw_token_embeddings(model, model.cfg.embed_init_std, generator)


def draw_token_embeddings(model: MaskedLM, std: float, generator: torch.Generator) -> None:
    """Re-draw the whole token-embedding matrix (and so the tied output rows) from N(0, std)."""
    redraw_embeddings(model, std, generator)


def build_model(
    cfg: ModelConfig, vocab_size: int, generator: torch.Generator, device: torch.device
) -> MaskedLM:
    return build(partial(MaskedLM, cfg, vocab_size), init_weights, generator, device)
