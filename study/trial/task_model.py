"""What every world's model family is to the training loop (docs/design.md §9): a module whose
`forward(inputs, noise)` gives logits [b, targets, classes] at the positions the loss reads, and
which names its token-embedding parameters — what forgetting re-draws, what
`train.freeze_embeddings` freezes and `train.embed_lr_scale` speeds up. The loop, the optimiser
and forgetting ask the model for them; nothing there knows a world.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

import torch
from torch import Tensor, nn

Noise = tuple[Tensor, ...]  # dropout masks, already scaled by 1/(1 − p), in `draw_noise` order
M = TypeVar("M", bound="TaskModel")


class TaskModel(nn.Module):
    EMBEDDINGS: ClassVar[tuple[str, ...]]  # parameter names: the token embeddings, in draw order

    def forward(self, inputs: Tensor, noise: Noise | None = None) -> Tensor:
        raise NotImplementedError

    def token_embeddings(self) -> list[nn.Parameter]:
        return [self.get_parameter(name) for name in self.EMBEDDINGS]

    def batch_rows(self, inputs: Tensor, targets: Tensor) -> list[tuple[nn.Parameter, Tensor]]:
        """Each token-embedding parameter with the rows a batch uses ([rows] bool, on its
        device): what probabilistic forgetting may lend a fresh draw. By default a token id of
        the inputs or the targets is a row of every embedding (a tied output row is the
        target's own)."""
        out = []
        for p in self.token_embeddings():
            used = torch.zeros(p.shape[0], dtype=torch.bool, device=p.device)
            used[inputs.flatten()] = True
            used[targets.flatten()] = True
            out.append((p, used))
        return out


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


def init_layers(
    model: nn.Module, generator: torch.Generator, std_of: Callable[[str], float | None]
) -> None:
    """The part of every family's init law they share, in module order: each linear layer's
    weights from N(0, std_of(its name)) (None: the family draws it itself) and zero biases, unit
    LayerNorms. Position and token embeddings are the family's own."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear):
                std = std_of(name)
                if std is not None:
                    module.weight.normal_(0.0, std, generator=generator)
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()


def build(
    make: Callable[[], M],
    init: Callable[[M, torch.Generator], None],
    generator: torch.Generator,
    device: torch.device,
) -> M:
    """`make()` initialised by `init` from `generator`, on `device`. The module constructors
    draw a default init from the global RNG; `init` replaces all of it, so the caller's stream
    is kept untouched."""
    with torch.random.fork_rng(devices=[]):
        model = make()
    init(model, generator)
    return model.to(device)
