"""The training loop of one trial: fresh batches every step, evaluation on a schedule, forgetting
after it. What belongs to the trial (data, masks, evaluation, curve) is its `Lane`.

Nothing here prints; progress display belongs to the caller's callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from study.config import TrialConfig
from study.features import Curve
from study.trial.device import tune_allocator
from study.trial.forgetting import forget, forgotten_for_step
from study.trial.lane import Lane, OnEval, OnStep
from study.trial.loss_window import LossWindow
from study.trial.precision import precision
from study.trial.task_model import Noise, TaskModel

Forward = Callable[[torch.Tensor, Noise | None], torch.Tensor]  # a model, or it compiled


@dataclass
class Trained:
    model: TaskModel
    curve: Curve


def train_step(
    model: Forward,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    noise: Noise | None = None,
) -> torch.Tensor:
    """One optimiser step on the targets (with this step's dropout masks); returns the detached
    loss. Every world's model gives logits at its target positions only, so the loss is the
    mean cross-entropy over them."""
    logits = model(inputs, noise)  # [b, targets, classes]: the POS task's [b, 3, vocab]
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]  # torch leaves `backward` unannotated
    optimizer.step()
    # a clone: a detached loss kept for the running mean otherwise holds on to the step's
    # buffers (measured: +16 MB a step at the paper shape, torch 2.13 on the CPU)
    return loss.detach().clone()


def make_optimizer(model: TaskModel, cfg: TrialConfig) -> torch.optim.Optimizer:
    """AdamW (or SGD, `train.optimizer`) over what trains: every parameter, the token
    embeddings (the model's `EMBEDDINGS`; the POS model's tied to its output rows) at lr ×
    `train.embed_lr_scale`, or left out and without gradient under `train.freeze_embeddings`
    (the mechanism controls, docs/design.md §6)."""
    t = cfg.train
    embeddings = model.token_embeddings()
    tokens = {id(p) for p in embeddings}
    groups: list[dict[str, list[torch.Tensor] | float]] = [
        {"params": [p for p in model.parameters() if id(p) not in tokens]}
    ]
    if t.freeze_embeddings:
        for p in embeddings:
            p.requires_grad_(False)
    else:
        groups.append({"params": list(embeddings), "lr": t.lr * t.embed_lr_scale})
    if t.optimizer == "sgd":  # weight decay is added to the gradient, as SGD does
        return torch.optim.SGD(
            groups, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay, foreach=True
        )
    # fused: one kernel for all parameters (≈8% of a small-model step on the CPU)
    return torch.optim.AdamW(
        groups,
        lr=t.lr,
        betas=(t.beta1, t.beta2),
        eps=t.eps,
        weight_decay=t.weight_decay,
        fused=True,
    )


def train(
    cfg: TrialConfig,
    device: torch.device,
    on_eval: OnEval | None = None,
    on_step: OnStep | None = None,
) -> Trained:
    lane = Lane.build(cfg, device, on_eval, on_step)
    model = lane.model()
    optimizer = make_optimizer(model, cfg)
    # the compiled module shares the model's parameters; evaluation runs the model itself, whose
    # set sizes would each need a compile of their own
    forward: Forward = torch.compile(model) if cfg.train.compile else model
    draws, window = lane.world.draws([lane]), LossWindow(1, device)  # a pack of one's draws
    tune_allocator()
    with precision(cfg.train.precision, device):
        if 0 in lane.schedule:
            lane.record(0, model, window)
        for step in range(1, cfg.train.steps + 1):
            inputs, targets, noise = draws.alone(step)
            forgetting = (model, optimizer, cfg.forgetting, cfg.reset_std, lane.forget_rng)
            with forgotten_for_step(*forgetting, inputs, targets):  # probabilistic only
                loss = train_step(forward, optimizer, inputs, targets, noise)
            window.add(step, loss.view(1))
            if step in lane.schedule:
                lane.record(step, model, window)  # evaluate first, then reset (docs/design.md §4)
            if lane.forgets(step):
                forget(model, optimizer, cfg.forgetting, cfg.reset_std, lane.forget_rng)
                lane.evaluate.embeddings_redrawn(cfg.reset_std)
            if on_step:
                on_step(step)
    return Trained(model, lane.curve)
