"""The bursty classification world's model family (Reddy 2023; docs/design.md §9): two
attention-only layers and an MLP read-out.

A sequence's positions are vectors [x, one-hot label] (study.trial.worlds.bursty_data); an
input projection maps the item part and a label embedding the label part into the model's
width, and learned position embeddings are added. Then `model.n_layers` residual attention
layers (`x = x + drop(attn(x))`, no feed-forward, no LayerNorm, causal when `model.causal`),
and a three-layer ReLU MLP of width `model.d_ff` on the query's position gives the logits over
the L labels. The token embeddings — what forgetting re-draws — are the input projection and
the label embeddings. Dropout takes the explicit masks of `draw_noise` (embeddings, and per
layer the attention probabilities and its output; the feed-forward mask it draws goes unused).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from study.config import ModelConfig
from study.trial.model import SelfAttention
from study.trial.task_model import Noise, TaskModel, build, init_layers, redraw_embeddings


class BurstyClassifier(TaskModel):
    EMBEDDINGS = ("item_proj.weight", "label_emb.weight")

    def __init__(self, cfg: ModelConfig, n_dims: int, n_labels: int, seq_len: int):
        super().__init__()
        self.cfg, self.n_dims = cfg, n_dims
        self.item_proj = nn.Linear(n_dims, cfg.d_model, bias=False)  # weight [d, D]
        self.label_emb = nn.Embedding(n_labels, cfg.d_model)
        self.pos_emb = nn.Embedding(seq_len, cfg.d_model)
        self.layers = nn.ModuleList(SelfAttention(cfg) for _ in range(cfg.n_layers))
        self.readout = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff),
            nn.ReLU(),
            nn.Linear(cfg.d_ff, cfg.d_ff),
            nn.ReLU(),
            nn.Linear(cfg.d_ff, n_labels),
        )

    def forward(self, inputs: Tensor, noise: Noise | None = None) -> Tensor:
        """inputs [b, t, D+L] → logits [b, 1, L] at the query (the last position)."""
        items, labels = inputs[..., : self.n_dims], inputs[..., self.n_dims :]
        pos = torch.arange(inputs.shape[1], device=inputs.device)
        x = self.item_proj(items) + labels @ self.label_emb.weight + self.pos_emb(pos)
        if noise is not None:
            x = x * noise[0]
        for i, attn in enumerate(self.layers):
            drop, out = (noise[1 + 3 * i], noise[2 + 3 * i]) if noise is not None else (None, None)
            y = attn(x, drop)
            x = x + (y if out is None else y * out)
        logits: Tensor = self.readout(x[:, -1:])
        return logits

    def batch_rows(self, inputs: Tensor, targets: Tensor) -> list[tuple[nn.Parameter, Tensor]]:
        """The label rows the batch shows or asks for; the input projection has no rows per
        token (items are vectors), so probabilistic forgetting lends it none."""
        used = inputs[..., self.n_dims :].flatten(0, 1).sum(0) > 0  # [L]
        used[targets.flatten()] = True
        return [(self.get_parameter("label_emb.weight"), used)]


def init_classifier(model: BurstyClassifier, generator: torch.Generator) -> None:
    """N(0, init_std) linear weights and positions, zero biases; N(0, embed_init_std) input
    projection and label embeddings."""
    std = model.cfg.init_std
    init_layers(model, generator, lambda name: None if name == "item_proj" else std)
    with torch.no_grad():
        model.pos_emb.weight.normal_(0.0, std, generator=generator)
    redraw_embeddings(model, model.cfg.embed_init_std, generator)


def build_classifier(
    cfg: ModelConfig,
    n_dims: int,
    n_labels: int,
    seq_len: int,
    generator: torch.Generator,
    device: torch.device,
) -> BurstyClassifier:
    make = partial(BurstyClassifier, cfg, n_dims, n_labels, seq_len)
    return build(make, init_classifier, generator, device)
