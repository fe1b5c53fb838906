"""The bursty classification world's model family (Reddy 2023; docs/design.md §9): two
attention-only layers and an MLP read-out.

A sequence's positions are vectors [x, one-hot label] (study.trial.worlds.bursty_data), with a
one-hot position appended where sequences start at random offsets (`task.n_positions`); an
input projection maps the item part and a label embedding the label part into the model's
width, and a learned position embedding is added (by index, or read by the one-hot position).
Then `model.n_layers` residual attention layers (`x = x + drop(attn(x))`, no feed-forward, no
LayerNorm, causal when `model.causal`: without it the label was never bound to its item),
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

    def __init__(self, cfg: ModelConfig, n_dims: int, n_labels: int, n_positions: int):
        super().__init__()
        self.cfg, self.n_dims, self.n_labels = cfg, n_dims, n_labels
        self.item_proj = nn.Linear(n_dims, cfg.d_model, bias=False)  # weight [d, D]
        self.label_emb = nn.Embedding(n_labels, cfg.d_model)
        self.pos_emb = nn.Embedding(n_positions, cfg.d_model)
        self.layers = nn.ModuleList(SelfAttention(cfg) for _ in range(cfg.n_layers))
        self.readout = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff),
            nn.ReLU(),
            nn.Linear(cfg.d_ff, cfg.d_ff),
            nn.ReLU(),
            nn.Linear(cfg.d_ff, n_labels),
        )

    def forward(self, inputs: Tensor, noise: Noise | None = None) -> Tensor:
        """inputs [b, t, D+L(+P)] → logits [b, 1, L] at the query (the last position)."""
        items, labels, placed = inputs.split_with_sizes(self.parts(inputs), dim=-1)
        if placed.shape[-1]:  # one-hot positions at the sequence's offset (task.n_positions)
            positions = placed @ self.pos_emb.weight
        else:
            positions = self.pos_emb(torch.arange(inputs.shape[1], device=inputs.device))
        x = self.item_proj(items) + labels @ self.label_emb.weight + positions
        if noise is not None:
            x = x * noise[0]
        for i, attn in enumerate(self.layers):
            drop, out = (noise[1 + 3 * i], noise[2 + 3 * i]) if noise is not None else (None, None)
            y = attn(x, drop)
            x = x + (y if out is None else y * out)
        logits: Tensor = self.readout(x[:, -1:])
        return logits

    def parts(self, inputs: Tensor) -> list[int]:
        """The widths of an input's item, label and (where placed) position parts."""
        return [self.n_dims, self.n_labels, inputs.shape[-1] - self.n_dims - self.n_labels]

    def batch_rows(self, inputs: Tensor, targets: Tensor) -> list[tuple[nn.Parameter, Tensor]]:
        """The label rows the batch shows or asks for; the input projection has no rows per
        token (items are vectors), so probabilistic forgetting lends it none."""
        labels = inputs.split_with_sizes(self.parts(inputs), dim=-1)[1]
        used = labels.flatten(0, 1).sum(0) > 0  # [L]
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
    n_positions: int,
    generator: torch.Generator,
    device: torch.device,
) -> BurstyClassifier:
    """The classifier, with a position table of `n_positions` rows: the sequence length, or
    `task.n_positions` where sequences are placed at random offsets."""
    make = partial(BurstyClassifier, cfg, n_dims, n_labels, n_positions)
    return build(make, init_classifier, generator, device)
