"""Why bursty classification learns no ICL on a CPU (docs/design.md §9): the label is never
bound to its item.

    python scripts/bursty_binding.py --steps 5000

Trains the world's own classifier (`study.trial.classifier`) on its pure in-context task (every
training sequence of fresh classes, `task.p_fresh: 1`, so the weights can answer nothing) in
two layouts of the same sequences:
- `separate`, the world's: an item, then its label as the next token (Reddy 2023);
- `fused`, the control: each label added into its item's token, N + 1 tokens.
Both read the same batches, seeds and optimiser (AdamW); only the layout differs. A model that
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
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Config overrides.")
def main(steps: int, every: int, lr: float, batch: int, sets: tuple[str, ...]) -> None:
    torch.set_num_threads(1)
    cfg = build_config("bursty_small", sets=["task.n_classes=1024", "task.p_fresh=1.0", *sets])
    world = BurstyWorld(cfg, torch.device("cpu"), {"data": 1, "eval": 2, "model": 3})
    t = cfg.task
    layouts = {"separate": lambda x: x, "fused": lambda x: fused(x, t.n_dims)}
    lengths = {"separate": 2 * t.n_context + 1, "fused": t.n_context + 1}
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
