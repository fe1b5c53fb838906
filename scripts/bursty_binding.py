"""Why bursty classification learned no ICL here for so long (docs/design.md §9): the label was
never bound to its item.

    python scripts/bursty_binding.py --steps 5000
    python scripts/bursty_binding.py --steps 5000 --set model.causal=false \
        --set model.d_model=32 --set model.d_ff=32   # the classifier before: only `fused` learns

Trains the world's own classifier (`study.trial.classifier`, `bursty_small`) on its pure
in-context task (every training sequence of fresh classes, `task.p_fresh: 1`, so the weights can
answer nothing) in three layouts of the same sequences:
- `separate`: an item, then its label as the next token, positions 0 … 2N (the world's default);
- `placed`: the same tokens, each sequence starting at a random offset among `--positions`
  positions (`task.n_positions`);
- `fused`, the control: each label added into its item's token, N + 1 tokens.
All read the same batches, seeds and optimiser (AdamW); only the layout differs. A model that
solves `fused` but not `separate` can match the query to its items but has not learned which
label follows which item: the previous-token half of an induction head. Prints accuracy and loss
on the training law every `--every` steps, and a nearest-item rule's accuracy as the ceiling.
"""

from __future__ import annotations

import click
import torch
import torch.nn.functional as F

from study.presets import build_config
from study.trial.classifier import build_classifier
from study.trial.worlds.bursty import BurstyWorld
from study.trial.worlds.bursty_data import placed


def fused(inputs: torch.Tensor, n_dims: int) -> torch.Tensor:
    """[b, 2N+1, D+L] → [b, N+1, D+L]: each context label added into its item's token."""
    items, labels = inputs[:, 0:-1:2], inputs[:, 1::2]
    pairs = torch.cat([items[..., :n_dims], labels[..., n_dims:]], dim=-1)
    return torch.cat([pairs, inputs[:, -1:]], dim=1)


def nearest_item(inputs: torch.Tensor, n_dims: int) -> torch.Tensor:
    """The label of the context item most like the query: what ICL can reach."""
    items, labels = inputs[:, 0:-1:2, :n_dims], inputs[:, 1::2, n_dims:].argmax(-1)
    similarity = (items * inputs[:, -1:, :n_dims]).sum(-1)
    return labels.gather(1, similarity.argmax(1, keepdim=True))[:, 0]


@click.command()
@click.option("--steps", type=int, default=5000, show_default=True)
@click.option("--every", type=int, default=500, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--batch", type=int, default=128, show_default=True)
@click.option("--positions", type=int, default=65, show_default=True, help="P of `placed`.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Config overrides.")
def main(
    steps: int, every: int, lr: float, batch: int, positions: int, sets: tuple[str, ...]
) -> None:
    torch.set_num_threads(1)
    cfg = build_config("bursty_small", sets=["task.n_classes=1024", "task.p_fresh=1.0", *sets])
    world = BurstyWorld(cfg, torch.device("cpu"), {"data": 1, "eval": 2, "model": 3})
    t = cfg.task
    offsets = torch.Generator().manual_seed(2)

    def at_random_offsets(x: torch.Tensor) -> torch.Tensor:
        return placed(x, positions, torch.rand(x.shape[0], generator=offsets))

    layouts = {
        "separate": lambda x: x,
        "placed": at_random_offsets,
        "fused": lambda x: fused(x, t.n_dims),
    }
    lengths = {"separate": 2 * t.n_context + 1, "placed": positions, "fused": t.n_context + 1}
    models, optimisers = {}, {}
    for name in layouts:
        models[name] = build_classifier(
            cfg.model,
            t.n_dims,
            t.n_labels,
            lengths[name],
            torch.Generator().manual_seed(0),
            torch.device("cpu"),
        )
        optimisers[name] = torch.optim.AdamW(models[name].parameters(), lr=lr, weight_decay=0.0)
    data = torch.Generator().manual_seed(1)
    click.echo("step | layout | accuracy | loss | nearest-item rule")
    for step in range(1, steps + 1):
        batch_ = world.training(torch.rand(batch, world.layout.slots, generator=data))
        target = batch_.targets[:, 0]
        shown = step % every == 0
        if shown:
            ceiling = (nearest_item(batch_.inputs, t.n_dims) == target).float().mean().item()
        for name, layout in layouts.items():
            logits = models[name](layout(batch_.inputs))[:, 0]
            loss = F.cross_entropy(logits, target)
            optimisers[name].zero_grad()
            loss.backward()
            optimisers[name].step()
            if shown:
                accuracy = (logits.argmax(-1) == target).float().mean().item()
                click.echo(f"{step} | {name} | {accuracy:.3f} | {loss.item():.3f} | {ceiling:.3f}")


if __name__ == "__main__":
    main()
