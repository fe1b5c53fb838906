"""One trial's own parts, whether it trains alone (`train`) or in a pack (`train_pack`): its world
(task, evaluation sets, model family: `study.trial.worlds`), generators, evaluation schedule
and the curve it records.

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
from study.trial.counter_rng import keys
from study.trial.evaluate import read
from study.trial.forgetting import should_forget
from study.trial.holdout import HoldoutProbe
from study.trial.loss_window import LossWindow
from study.trial.schedule import eval_steps
from study.trial.seeds import generator, trial_seeds
from study.trial.task_model import TaskModel
from study.trial.tasks import Task
from study.trial.worlds import Evaluation, World, world_of
from study.trial.worlds.pos import PosWorld, pos_world

ONLY_ROW = torch.zeros(1, dtype=torch.long)  # a lone trial's row of its LossWindow
OnEval = Callable[[int, dict[str, float]], None]
OnStep = Callable[[int], None]


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the trial stops instead of logging garbage."""


@dataclass
class Lane:
    cfg: TrialConfig
    device: torch.device
    world: World
    evaluate: Evaluation
    init_rng: torch.Generator
    data_key: torch.Tensor  # [1, 2]: the training batches' counter stream (study.trial.draws)
    forget_rng: torch.Generator  # on the CPU: the same resets on every device
    dropout_key: torch.Tensor  # [1, 2]: the dropout masks' counter stream
    schedule: set[int]
    on_eval: OnEval | None = None
    on_step: OnStep | None = None
    curve: Curve = field(default_factory=list)

    @classmethod
    def build(
        cls,
        cfg: TrialConfig,
        device: torch.device,
        on_eval: OnEval | None = None,
        on_step: OnStep | None = None,
    ) -> Lane:
        seeds = trial_seeds(cfg.train.seed)
        world = world_of(cfg, device, seeds)
        return cls(
            cfg,
            device,
            world,
            world.evaluation,
            generator(seeds["init"]),
            keys([seeds["data"]], device),
            generator(seeds["forgetting"]),
            keys([seeds["dropout"]], device),
            set(eval_steps(cfg)),
            on_eval,
            on_step,
        )

    def model(self) -> TaskModel:
        """The trial's freshly initialised model, of its world's family."""
        return self.world.model(self.init_rng)

    @property
    def pos(self) -> PosWorld:
        """The POS world's parts, which packed training and the bench read (a TypeError for
        another world: those trials train alone)."""
        return pos_world(self.world)

    @property
    def task(self) -> Task:
        """The POS task's sampler."""
        return self.pos.task

    @property
    def probe(self) -> HoldoutProbe:
        """The POS task's held-out probe."""
        return self.pos.probe

    def forgets(self, step: int) -> bool:
        return should_forget(step, self.cfg.forgetting)

    def record(self, step: int, model: TaskModel, window: LossWindow) -> None:
        """Evaluate `model` at `step` with the mean training loss since the last evaluation (its
        `window`, of one row), in one host read, and hand the metrics to `on_eval`."""
        values = self.evaluate.measure(model)
        loss, (metrics,) = read([values], window.read(ONLY_ROW.to(self.device)))
        self.add(step, self.train_loss(loss) | metrics)

    def train_loss(self, window: list[float]) -> dict[str, float]:
        """{LOSS_TRAIN: mean} from a `LossWindow` row (empty before any step); raises
        NonFiniteLoss naming the first step whose loss was not finite."""
        mean, first_bad, bad_loss = window
        if math.isfinite(first_bad):
            raise NonFiniteLoss(
                f"training loss became {bad_loss} at step {int(first_bad)} "
                f"(lr {self.cfg.train.lr}); the trial stops here"
            )
        return {} if math.isnan(mean) else {LOSS_TRAIN: mean}

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
