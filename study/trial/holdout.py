"""The three ways to represent held-out tokens at evaluation time (docs/design.md §2).

Training is identical under all three; only what sits in the held-out rows during a holdout
evaluation differs, and the trained values are put back afterwards.
- `paper`: the rows as training left them (never inputs; trained only as softmax negatives and
  under weight decay; reset with the rest of the matrix by forgetting);
- `init`: a fixed draw from the law the token embeddings were last drawn from — the init std
  before the first reset, the reset std after one — output bias 0;
- `matched`: the same fixed directions rescaled to the mean norm of the trained content rows, the
  output bias set to the mean content bias.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import Tensor

from study.config import ModelConfig, Protocol
from study.metric_names import BIAS_GAP, EMBED_DRIFT, NORM_RATIO, SPREAD_RATIO
from study.trial.model import MaskedLM
from study.trial.tasks import Vocab

# `holdout/norm_ratio`'s unit: the paper's init std, the same for a run and its control
NORM_REFERENCE_STD = ModelConfig.model_fields["embed_init_std"].default


class HoldoutProbe:
    """The fixed random directions written into the held-out rows under `init` and `matched`."""

    def __init__(
        self,
        vocab: Vocab,
        d_model: int,
        init_std: float,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
    ):
        self.vocab, self.init_std = vocab, init_std
        self.rows = torch.arange(vocab.holdout_start, vocab.size, device=device)
        draw = torch.randn(vocab.n_holdout, d_model, generator=generator) * init_std  # [R, d]
        self.draw = draw.to(device)  # drawn on the CPU: the same probe on every device
        self.drawn_at = init_std  # the std the token embeddings were last drawn at
        self.start: Tensor | None = None  # the content rows as initialised (`embed/drift`)

    def starts_from(self, weight: Tensor) -> None:
        """The model's token embeddings as initialised: `embed/drift` is measured from them."""
        self.start = weight[: self.vocab.n_content].detach().clone()

    def embeddings_redrawn(self, std: float) -> None:
        """Forgetting re-drew the token embeddings at `std`: `init` rows follow that law, so that
        a forgetting run and its control (drawn once at the same std) are probed alike."""
        self.drawn_at = std

    def content_norm(self, weight: Tensor) -> Tensor:
        """Mean L2 norm of the trained content-token rows of the embedding matrix `weight`."""
        norms: Tensor = weight[: self.vocab.n_content].norm(dim=1)  # (torch: `norm` unannotated)
        return norms.mean()

    def values(
        self, weight: Tensor, bias: Tensor, protocol: Protocol
    ) -> tuple[Tensor, Tensor] | None:
        """(embedding rows [R, d], output bias [R]) to write in, given the model's token
        embeddings `weight` and output `bias`; None for `paper`."""
        if protocol == "paper":
            return None
        draw = self.draw.to(weight.device)
        if protocol == "init":
            if self.drawn_at != self.init_std:
                draw = draw * (self.drawn_at / self.init_std)
            return draw, torch.zeros(self.vocab.n_holdout, device=bias.device)
        scale = self.content_norm(weight) / draw.norm(dim=1, keepdim=True)
        mean_bias = bias[: self.vocab.n_content].mean()
        return draw * scale, mean_bias.expand(self.vocab.n_holdout)

    def substituted(
        self, weight: Tensor, bias: Tensor, protocol: Protocol
    ) -> tuple[Tensor, Tensor]:
        """Copies of (`weight`, `bias`) with the held-out rows as `protocol` has them."""
        new = self.values(weight, bias, protocol)
        if new is None:
            return weight, bias
        rows = self.rows.to(bias.device)
        weight, bias = weight.clone(), bias.clone()
        weight[rows], bias[rows] = new
        return weight, bias

    def diagnostics(self, weight: Tensor, bias: Tensor) -> dict[str, Tensor]:
        """Trained content-row norm over the norm of the paper's init law N(0, 0.02) — one scale
        for every run, so that a forgetting run (init 0.02) and its control (drawn at the reset
        std) compare; held-out minus content output bias; the held-out rows' spread over the
        content rows' (`spread`: below 1, the rows never trained as inputs have collapsed); the
        content rows' mean distance per coordinate from their initial draw (`drift`: a forgetting
        run's includes its resets' jumps, so a control's embedding learning rate can be scaled
        to match it, `study.controls.matched_embed_lr_scale`)."""
        reference_norm = NORM_REFERENCE_STD * math.sqrt(weight.shape[1])
        rows = self.rows.to(bias.device)
        gap = bias[rows].mean() - bias[: self.vocab.n_content].mean()
        content = weight[: self.vocab.n_content]
        out = {
            NORM_RATIO: self.content_norm(weight) / reference_norm,
            BIAS_GAP: gap,
            SPREAD_RATIO: spread(weight[rows]) / spread(content),
        }
        if self.start is not None:
            out[EMBED_DRIFT] = (content - self.start.to(content.device)).abs().mean()
        return out


def spread(rows: Tensor) -> Tensor:
    """Mean L2 distance of the rows [n, d] from their centroid."""
    distances: Tensor = (rows - rows.mean(dim=0)).norm(dim=1)  # (torch: `norm` unannotated)
    return distances.mean()


@contextlib.contextmanager
def holdout_rows(model: MaskedLM, probe: HoldoutProbe, protocol: Protocol) -> Iterator[None]:
    """Evaluate with the held-out rows as `protocol` has them; restore the trained rows after."""
    new = probe.values(model.tok_emb.weight, model.out_bias, protocol)
    if new is None:
        yield
        return
    rows = probe.rows.to(model.out_bias.device)
    weight, bias = model.tok_emb.weight, model.out_bias
    saved = weight[rows].clone(), bias[rows].clone()
    with torch.no_grad():
        weight[rows], bias[rows] = new
    try:
        yield
    finally:
        with torch.no_grad():
            weight[rows], bias[rows] = saved
