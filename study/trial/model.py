"""BERT-style masked-LM encoder with an MLM head tied to the token embeddings (docs/design.md §4, §7).

nanoGPT order: attention → feed-forward → block → model. Post-LayerNorm like BERT; a causal flag
gives the GPT-style variant. Logits are computed only at the three target positions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from study.config import ModelConfig
from study.trial.tasks import SEQ_LEN, TARGETS


class SelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.causal, self.p_drop = cfg.n_heads, cfg.causal, cfg.attn_dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        # [b, t, 3d] → 3 × [b, heads, t, d/heads]
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.p_drop if self.training else 0.0, is_causal=self.causal
        )
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class FeedForward(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.up = nn.Linear(cfg.d_model, cfg.d_ff)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    """Post-LN block: x = LN(x + drop(attn(x))); x = LN(x + drop(ff(x)))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn = SelfAttention(cfg)
        self.ln_attn = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.ff = FeedForward(cfg)
        self.ln_ff = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.ln_attn(x + self.drop(self.attn(x)))
        return self.ln_ff(x + self.drop(self.ff(x)))


class MaskedLM(nn.Module):
    def __init__(self, cfg: ModelConfig, vocab_size: int, seq_len: int = SEQ_LEN):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(seq_len, cfg.d_model)
        self.ln_emb = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        # MLM head: dense + GELU + LayerNorm, then the decoder tied to tok_emb with its own bias
        self.head = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln_head = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.out_bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, inputs: Tensor) -> Tensor:
        """inputs [b, 7] token ids → logits [b, 3, vocab] at the target positions."""
        pos = torch.arange(inputs.shape[1], device=inputs.device)
        x = self.drop(self.ln_emb(self.tok_emb(inputs) + self.pos_emb(pos)))
        for block in self.blocks:
            x = block(x)
        h = self.ln_head(F.gelu(self.head(x[:, TARGETS])))  # [b, 3, d]
        return F.linear(h, self.tok_emb.weight, self.out_bias)


def init_weights(model: MaskedLM, generator: torch.Generator) -> None:
    """The init law: N(0, init_std) weights, zero biases, unit LayerNorms, N(0, embed_init_std) tokens."""
    std = model.cfg.init_std
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std, generator=generator)
                module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
        model.pos_emb.weight.normal_(0.0, std, generator=generator)
        model.out_bias.zero_()
    draw_token_embeddings(model, model.cfg.embed_init_std, generator)


def draw_token_embeddings(model: MaskedLM, std: float, generator: torch.Generator) -> None:
    """Re-draw the whole token-embedding matrix (and so the tied output rows) from N(0, std)."""
    with torch.no_grad():
        model.tok_emb.weight.normal_(0.0, std, generator=generator)


def build_model(
    cfg: ModelConfig, vocab_size: int, generator: torch.Generator, device: torch.device
) -> MaskedLM:
    # the module constructors draw a default init from the global RNG; init_weights replaces all
    # of it from `generator`, so keep the caller's stream untouched
    with torch.random.fork_rng(devices=[]):
        model = MaskedLM(cfg, vocab_size)
    init_weights(model, generator)
    return model.to(device)
