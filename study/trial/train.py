"""The training loop: fresh batches every step, evaluation on a schedule, forgetting after it.

Nothing here prints; progress display belongs to the caller's callbacks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from study.config import TrialConfig
from study.device import tune_allocator
from study.features import Curve
from study.trial.evaluate import Evaluator
from study.trial.forgetting import forget, should_forget
from study.trial.holdout import HoldoutProbe
from study.trial.model import MaskedLM, Noise, build_model, draw_noise
from study.trial.precision import precision
from study.trial.schedule import eval_steps
from study.trial.seeds import generator, trial_seeds
from study.trial.tasks import Batch, Task

OnEval = Callable[[int, dict[str, float]], None]
OnStep = Callable[[int], None]


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the trial stops instead of logging garbage."""


@dataclass
class Trained:
    model: MaskedLM
    curve: Curve


def train_step(
    model: MaskedLM, optimizer: torch.optim.Optimizer, batch: Batch, noise: Noise | None = None
) -> torch.Tensor:
    """One optimiser step on the masked targets (with this step's dropout masks); returns the
    detached loss."""
    logits = model(batch.inputs, noise)  # [b, 3, vocab]
    loss = F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def make_optimizer(model: MaskedLM, cfg: TrialConfig) -> torch.optim.AdamW:
    t = cfg.train
    # fused: one kernel for all parameters (≈8% of a small-model step on the CPU)
    return torch.optim.AdamW(
        model.parameters(),
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
    seeds = trial_seeds(cfg.train.seed)
    task = Task(cfg.task, device, seeds["ambiguity"])
    model = build_model(cfg.model, task.vocab.size, generator(seeds["init"]), device)
    probe = HoldoutProbe(
        task.vocab, cfg.model.d_model, cfg.model.embed_init_std, generator(seeds["holdout"])
    )
    evaluate = Evaluator(task, cfg.eval, probe, seeds["eval"])
    optimizer = make_optimizer(model, cfg)
    data_rng, forget_rng = generator(seeds["data"], device), generator(seeds["forgetting"], device)
    dropout_rng = generator(seeds["dropout"], device)
    schedule = set(eval_steps(cfg))
    curve: Curve = []
    losses: list[torch.Tensor] = []  # since the last evaluation; synced only at evaluations

    def record(step: int) -> None:
        metrics = {}
        if losses:
            window = torch.stack(losses)
            bad = (~torch.isfinite(window)).nonzero()
            if len(bad):
                first = step - len(losses) + 1 + int(bad[0])
                raise NonFiniteLoss(
                    f"training loss became {float(window[bad[0]])} at step {first} "
                    f"(lr {cfg.train.lr}); the trial stops here"
                )
            metrics["loss.train"] = float(window.mean())
            losses.clear()
        metrics |= evaluate(model)
        if not math.isfinite(metrics["loss.val"]):  # the last update diverged: report nothing
            raise NonFiniteLoss(
                f"validation loss became {metrics['loss.val']} at step {step} "
                f"(lr {cfg.train.lr}); the trial stops here"
            )
        curve.append((step, metrics))
        if on_eval:
            on_eval(step, metrics)

    tune_allocator()
    with precision(cfg.train.precision, device):
        if 0 in schedule:
            record(0)
        for step in range(1, cfg.train.steps + 1):
            batch = task.sample("train", cfg.train.batch_size, data_rng)
            noise = draw_noise(cfg.model, len(batch), dropout_rng, device)
            losses.append(train_step(model, optimizer, batch, noise))
            if step in schedule:
                record(step)  # evaluate first, then reset (docs/design.md §4)
            if should_forget(step, cfg.forgetting):
                forget(model, optimizer, cfg.forgetting, cfg.reset_std, forget_rng)
                probe.embeddings_redrawn(cfg.reset_std)
            if on_step:
                on_step(step)
    return Trained(model, curve)
