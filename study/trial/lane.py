"""One trial's own parts, whether it trains alone (`train`) or in a pack (`train_pack`): its task,
evaluation sets, held-out probe, generators, evaluation schedule and the curve it records.

Everything random about a trial comes from here, from its own seeds (`study.trial.seeds`), so a
trial draws the same batches, dropout masks, resets and evaluation sets in either setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from study.config import TrialConfig
from study.features import Curve
from study.metric_names import LOSS_TRAIN, LOSS_VAL
from study.trial.evaluate import Evaluator
from study.trial.forgetting import should_forget
from study.trial.holdout import HoldoutProbe
from study.trial.model import MaskedLM, Noise, build_model, draw_noise
from study.trial.schedule import eval_steps
from study.trial.seeds import generator, trial_seeds
from study.trial.tasks import Batch, Task

OnEval = Callable[[int, dict[str, float]], None]
OnStep = Callable[[int], None]


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the trial stops instead of logging garbage."""


@dataclass
class Lane:
    cfg: TrialConfig
    device: torch.device
    task: Task
    probe: HoldoutProbe
    evaluate: Evaluator
    init_rng: torch.Generator
    data_rng: torch.Generator
    forget_rng: torch.Generator
    dropout_rng: torch.Generator
    schedule: set[int]
    on_eval: OnEval | None = None
    on_step: OnStep | None = None
    curve: Curve = field(default_factory=list)
    losses: list[torch.Tensor] = field(default_factory=list)  # synced only at evaluations

    @classmethod
    def build(
        cls,
        cfg: TrialConfig,
        device: torch.device,
        on_eval: OnEval | None = None,
        on_step: OnStep | None = None,
    ) -> Lane:
        seeds = trial_seeds(cfg.train.seed)
        task = Task(cfg.task, device, seeds["ambiguity"])
        probe = HoldoutProbe(
            task.vocab, cfg.model.d_model, cfg.model.embed_init_std, generator(seeds["holdout"])
        )
        return cls(
            cfg,
            device,
            task,
            probe,
            Evaluator(task, cfg.eval, probe, seeds["eval"]),
            generator(seeds["init"]),
            generator(seeds["data"], device),
            generator(seeds["forgetting"], device),
            generator(seeds["dropout"], device),
            set(eval_steps(cfg)),
            on_eval,
            on_step,
        )

    def model(self) -> MaskedLM:
        """The trial's freshly initialised model."""
        return build_model(self.cfg.model, self.task.vocab.size, self.init_rng, self.device)

    def next_batch(self) -> tuple[Batch, Noise | None]:
        """The next training batch and this step's dropout masks."""
        batch = self.task.sample("train", self.cfg.train.batch_size, self.data_rng)
        return batch, draw_noise(self.cfg.model, len(batch), self.dropout_rng, self.device)

    def forgets(self, step: int) -> bool:
        return should_forget(step, self.cfg.forgetting)

    def record(self, step: int, model: MaskedLM) -> None:
        """Evaluate `model` at `step`, add the mean training loss since the last evaluation, and
        hand the metrics to `on_eval`; a non-finite loss stops the trial (NonFiniteLoss)."""
        loss = self.train_loss(step)
        self.add(step, loss | self.evaluate(model))

    def train_loss(self, step: int) -> dict[str, float]:
        """{LOSS_TRAIN: mean since the last evaluation} (empty at step 0); raises NonFiniteLoss
        naming the first step whose loss was not finite."""
        if not self.losses:
            return {}
        window = torch.stack(self.losses)
        bad = (~torch.isfinite(window)).nonzero()
        if len(bad):
            first = step - len(self.losses) + 1 + int(bad[0])
            raise NonFiniteLoss(
                f"training loss became {float(window[bad[0]])} at step {first} "
                f"(lr {self.cfg.train.lr}); the trial stops here"
            )
        self.losses.clear()
        return {LOSS_TRAIN: float(window.mean())}

    def add(self, step: int, metrics: dict[str, float]) -> None:
        """Append one evaluation to the curve and hand it to `on_eval`."""
        if not math.isfinite(metrics[LOSS_VAL]):  # the last update diverged: report nothing
            raise NonFiniteLoss(
                f"validation loss became {metrics[LOSS_VAL]} at step {step} "
                f"(lr {self.cfg.train.lr}); the trial stops here"
            )
        self.curve.append((step, metrics))
        if self.on_eval:
            self.on_eval(step, metrics)
