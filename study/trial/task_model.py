"""What every world's model family is to the training loop (docs/design.md §9): a module whose
`forward(inputs, noise)` gives logits [b, targets, classes] at the positions the loss reads, and
which names its token-embedding parameters — what forgetting re-draws, what
`train.freeze_embeddings` freezes and `train.embed_lr_scale` speeds up. The loop, the optimiser
and forgetting ask the model for them; nothing there knows a world.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

Noise = tuple[Tensor, ...]  # dropout masks, already scaled by 1/(1 − p), in `draw_noise` order


class TaskModel(nn.Module):
    EMBEDDINGS: ClassVar[tuple[str, ...]]  # parameter names: the token embeddings, in draw order

    def forward(self, inputs: Tensor, noise: Noise | None = None) -> Tensor:
        raise NotImplementedError

    def token_embeddings(self) -> list[nn.Parameter]:
        return [self.get_parameter(name) for name in self.EMBEDDINGS]


def embedding_draw(shape: torch.Size, std: float, generator: torch.Generator) -> Tensor:
    """N(0, std) of `shape` on the generator's device: a CPU generator draws the same
    embeddings for a trial on every device (the copy to a GPU is one host sync per reset)."""
    return torch.empty(shape, device=generator.device).normal_(0.0, std, generator=generator)


def redraw_embeddings(model: TaskModel, std: float, generator: torch.Generator) -> None:
    """Re-draw every token-embedding parameter of `model` from N(0, std), in `EMBEDDINGS`
    order (tied output rows follow their embedding)."""
    with torch.no_grad():
        for p in model.token_embeddings():
            p.copy_(embedding_draw(p.shape, std, generator))
