"""The paper's released model (`BertForMaskedLM` of HuggingFace `transformers`, as the released
code's `toy_model.py` builds it) and our `MaskedLM`'s weights copied both ways, for
`scripts/compare_paper_model.py` and its test. `transformers` is the optional `[paper-check]`
dependency: it is imported only when a model is built."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from study.trial.model import Block, MaskedLM
from study.trial.tasks import SEQ_LEN, TARGETS

if TYPE_CHECKING:  # (`transformers` is optional: without it, mypy takes these as `Any`)
    from transformers import BertForMaskedLM
    from transformers.models.bert.modeling_bert import BertLayer

    from study.config import TrialConfig


def released_model(cfg: TrialConfig, vocab_size: int) -> BertForMaskedLM:
    """`BertForMaskedLM` as `toy_model.py` builds it, dropout and epsilons as our config's (the
    same values as HuggingFace's defaults: 0.1, 1e-12, init std 0.02)."""
    from transformers import BertConfig, BertForMaskedLM

    m = cfg.model
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=m.d_model,
        num_hidden_layers=m.n_layers,
        num_attention_heads=m.n_heads,
        intermediate_size=m.d_ff,
        hidden_dropout_prob=m.dropout,
        attention_probs_dropout_prob=m.attn_dropout,
        layer_norm_eps=m.layer_norm_eps,
        initializer_range=m.init_std,
        attn_implementation="eager",
    )
    return BertForMaskedLM(config)


def _blocks(model: MaskedLM) -> list[Block]:
    """Our model's blocks, as `Block`s (a ModuleList yields them as plain `Module`s)."""
    return [block for block in model.blocks if isinstance(block, Block)]


def _pairs(ours: MaskedLM, hf: BertForMaskedLM) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(our tensor, its HF counterpart) for every weight but the fused qkv and positions."""
    bert, head = hf.bert, hf.cls.predictions
    out = [
        (ours.tok_emb.weight, bert.embeddings.word_embeddings.weight),
        (ours.ln_emb.weight, bert.embeddings.LayerNorm.weight),
        (ours.ln_emb.bias, bert.embeddings.LayerNorm.bias),
        (ours.head.weight, head.transform.dense.weight),
        (ours.head.bias, head.transform.dense.bias),
        (ours.ln_head.weight, head.transform.LayerNorm.weight),
        (ours.ln_head.bias, head.transform.LayerNorm.bias),
        (ours.out_bias, head.bias),
    ]
    for block, layer in zip(_blocks(ours), bert.encoder.layer, strict=True):
        att = layer.attention
        out += [
            (block.attn.out.weight, att.output.dense.weight),
            (block.attn.out.bias, att.output.dense.bias),
            (block.ln_attn.weight, att.output.LayerNorm.weight),
            (block.ln_attn.bias, att.output.LayerNorm.bias),
            (block.ff.up.weight, layer.intermediate.dense.weight),
            (block.ff.up.bias, layer.intermediate.dense.bias),
            (block.ff.down.weight, layer.output.dense.weight),
            (block.ff.down.bias, layer.output.dense.bias),
            (block.ln_ff.weight, layer.output.LayerNorm.weight),
            (block.ln_ff.bias, layer.output.LayerNorm.bias),
        ]
    return out


def _qkv(layer: BertLayer) -> list[torch.nn.Linear]:
    s = layer.attention.self
    return [s.query, s.key, s.value]


@torch.no_grad()
def ours_into_released(
    ours: MaskedLM, hf: BertForMaskedLM, token_type: bool, padding: bool
) -> None:
    """Our weights into `hf`. Without `token_type` the token-type rows are zero and frozen;
    without `padding` token 0 is an ordinary row (HF's padding_idx off); with it, the row is
    zeroed as HF's init does."""
    for mine, theirs in _pairs(ours, hf):
        theirs.copy_(mine)
    emb = hf.bert.embeddings
    emb.position_embeddings.weight[:SEQ_LEN] = ours.pos_emb.weight
    for block, layer in zip(_blocks(ours), hf.bert.encoder.layer, strict=True):
        d = block.attn.qkv.weight.shape[1]
        for i, lin in enumerate(_qkv(layer)):
            lin.weight.copy_(block.attn.qkv.weight[i * d : (i + 1) * d])
            lin.bias.copy_(block.attn.qkv.bias[i * d : (i + 1) * d])
    if not token_type:
        emb.token_type_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.requires_grad_(False)
    if padding:
        emb.word_embeddings.weight[0] = 0.0
    else:
        emb.word_embeddings.padding_idx = None


@torch.no_grad()
def released_into_ours(hf: BertForMaskedLM, ours: MaskedLM) -> None:
    """`hf`'s weights into our model; the token-type row of type 0, added at every position,
    folds into the position rows exactly."""
    for mine, theirs in _pairs(ours, hf):
        mine.copy_(theirs)
    emb = hf.bert.embeddings
    ours.pos_emb.weight.copy_(
        emb.position_embeddings.weight[:SEQ_LEN] + emb.token_type_embeddings.weight[0]
    )
    for block, layer in zip(_blocks(ours), hf.bert.encoder.layer, strict=True):
        block.attn.qkv.weight.copy_(torch.cat([lin.weight for lin in _qkv(layer)]))
        block.attn.qkv.bias.copy_(torch.cat([lin.bias for lin in _qkv(layer)]))


def released_logits(hf: BertForMaskedLM, inputs: torch.Tensor) -> torch.Tensor:
    logits: torch.Tensor = hf(input_ids=inputs).logits
    return logits[:, TARGETS]


def released_optimizer(hf: BertForMaskedLM, cfg: TrialConfig) -> torch.optim.AdamW:
    t = cfg.train
    return torch.optim.AdamW(
        [p for p in hf.parameters() if p.requires_grad],
        lr=t.lr,
        betas=(t.beta1, t.beta2),
        eps=t.eps,
        weight_decay=t.weight_decay,
        fused=True,
    )
