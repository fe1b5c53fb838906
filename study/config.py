"""The trial config: typed, frozen, validated once at the edge.

A trial is `TrialConfig(task, model, train, forgetting, eval)`; each part owns its defaults, which
are the paper's (docs/design.md §4, §7). The task part is one of the worlds (`task.kind`,
`study.task_config`; the masked part-of-speech task by default). Presets (`study/presets/*.yaml`)
are override layers on top of those defaults, then a YAML file, then `--set` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from study.config_part import Part as _Part
from study.dotted import flatten
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.protocols import PROTOCOLS, Protocol
from study.task_config import AnyTaskConfig, ArTaskConfig, BurstyTaskConfig, TaskConfig

__all__ = [
    "PROTOCOLS",
    "AnyTaskConfig",
    "ArTaskConfig",
    "BurstyTaskConfig",
    "EvalConfig",
    "ForgettingConfig",
    "ModelConfig",
    "Protocol",
    "TaskConfig",
    "Thresholds",
    "TrainConfig",
    "TrialConfig",
]


class ModelConfig(_Part):
    """BERT-style masked-LM encoder, MLM head tied to the token embeddings (docs/design.md §7)."""

    n_layers: int = Field(6, ge=1, le=48)
    d_model: int = Field(64, ge=4)
    n_heads: int = Field(1, ge=1)
    d_ff: int = Field(128, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="on hidden states")
    attn_dropout: float = Field(0.1, ge=0.0, lt=1.0, description="on attention probabilities")
    init_std: float = Field(0.02, gt=0.0, description="init std of every weight matrix")
    embed_init_std: float = Field(0.02, gt=0.0, description="init std of the token embeddings")
    layer_norm_eps: float = Field(1e-12, gt=0.0)
    causal: bool = Field(False, description="GPT-style causal attention instead of bidirectional")

    @model_validator(mode="after")
    def _heads_divide(self) -> ModelConfig:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        return self


class TrainConfig(_Part):
    """AdamW, constant learning rate, fresh batches every step (docs/design.md §4)."""

    steps: int = Field(62_500, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(5e-5, gt=0.0, le=1.0)
    weight_decay: float = Field(0.01, ge=0.0)
    beta1: float = Field(0.9, ge=0.0, lt=1.0)
    beta2: float = Field(0.999, ge=0.0, lt=1.0)
    eps: float = Field(1e-8, gt=0.0)
    seed: int = Field(0, ge=0, description="root seed; per-purpose seeds derive from it")
    compile: bool = Field(
        False,
        description="torch.compile the training forward (one trial, not packed): fewer kernel "
        "launches on a GPU, after a compile of tens of seconds",
    )
    precision: Literal["fp32", "tf32", "bf16"] = Field(
        "fp32",
        description="matmul precision: fp32 (matches the CPU), tf32 (CUDA matmuls in TF32; as "
        "fp32 on the CPU) or bf16 (autocast to bfloat16)",
    )
    optimizer: Literal["adamw", "sgd"] = Field(
        "adamw",
        description="adamw, or plain SGD (with `momentum`; weight decay added to the gradient), "
        "as the bursty classification world's paper trains",
    )
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="SGD's momentum")
    freeze_embeddings: bool = Field(
        False,
        description="mechanism control: the token embeddings (and the tied output rows) keep "
        "their draw, no gradient; the output bias still trains (docs/design.md §6)",
    )
    embed_lr_scale: float = Field(
        1.0,
        gt=0.0,
        le=1000.0,
        description="mechanism control: the token embeddings' learning rate is lr × this "
        "(docs/design.md §6)",
    )

    @model_validator(mode="after")
    def _one_embedding_control(self) -> TrainConfig:
        if self.freeze_embeddings and self.embed_lr_scale != 1.0:
            raise ValueError(
                f"embed_lr_scale={self.embed_lr_scale} with freeze_embeddings=true: frozen "
                "embeddings have no learning rate; allowed: one of the two"
            )
        return self


class ForgettingConfig(_Part):
    """Weight-forgetting schedule (docs/design.md §4): whole resets every k steps (`active`,
    `temporary`), or token rows forgotten for one step at a time (`probabilistic`)."""

    kind: Literal["none", "active", "temporary", "probabilistic"] = "none"
    forget_every: int = Field(1000, ge=1, description="k: reset after every k-th optimiser step")
    forget_until: int | None = Field(
        None, ge=0, description="N: temporary forgetting stops here (0: no resets, plain training)"
    )
    reset_std: float | None = Field(
        None,
        gt=0.0,
        description="std of the re-drawn embeddings (a reset's, or a probabilistic step's fresh "
        "rows); default model.embed_init_std",
    )
    clear_optimizer: Literal["embeddings", "all", "none", "paper"] = Field(
        "embeddings",
        description="Adam state cleared at a reset; 'paper' = none under active, all under temporary",
    )
    n_resets: int | None = Field(
        None,
        ge=1,
        description="mechanism control, temporary forgetting only: this many resets (at k, 2k, "
        "…), i.e. N = n_resets × k + 1; 1 is a single reset at step k (docs/design.md §6)",
    )
    p: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="probabilistic forgetting: at each step each distinct token id of the batch "
        "gets a fresh embedding for that step only with this probability (docs/design.md §4)",
    )

    @model_validator(mode="after")
    def _until_for_temporary(self) -> ForgettingConfig:
        if self.n_resets is not None:
            if self.kind != "temporary":
                raise ValueError(
                    f"n_resets={self.n_resets} with kind={self.kind!r}; allowed: kind 'temporary'"
                )
            until = self.n_resets * self.forget_every + 1
            if self.forget_until not in (None, until):
                raise ValueError(
                    f"forget_until={self.forget_until} with n_resets={self.n_resets}, "
                    f"forget_every={self.forget_every}; allowed: {until} or unset"
                )
            object.__setattr__(self, "forget_until", until)
        if self.kind == "temporary" and self.forget_until is None:
            raise ValueError("forgetting.kind='temporary' needs forgetting.forget_until (N)")
        if self.kind == "probabilistic" and self.p is None:
            raise ValueError("forgetting.kind='probabilistic' needs forgetting.p")
        if self.p is not None and self.kind != "probabilistic":
            raise ValueError(f"p={self.p} with kind={self.kind!r}; allowed: kind 'probabilistic'")
        return self

    @property
    def cleared_state(self) -> str:
        """Which optimiser state a reset clears; 'paper' is the released code's choice."""
        if self.clear_optimizer == "paper":
            return "none" if self.kind == "active" else "all"
        return self.clear_optimizer


class Thresholds(_Part):
    """Regime thresholds (docs/design.md §5). In a `TrialConfig`, `icl` and `iwl` left unset are
    the chance levels of the metrics they judge in its task (0.5 in the POS task, the defaults)."""

    icl: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="structural ICL present at ≥ this; default: its chance level in the task",
    )
    iwl: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="head IWL present at ≥ this; default: its chance level in the task",
    )
    confidence: float = Field(
        0.95,
        gt=0.0,
        lt=1.0,
        description="presence needs the Wilson interval clear of the threshold",
    )
    transience_rise: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="transient: structural ICL rose at least this from its start",
    )
    transience_drop: float = Field(
        0.5, gt=0.0, le=1.0, description="transient: then fell by at least this share of the rise"
    )


class EvalConfig(_Part):
    """Evaluation sets and schedule (docs/design.md §2, §3)."""

    n_examples: int = Field(10_000, ge=10, description="sequences per evaluation set")
    batch_size: int = Field(1024, ge=1, description="sequences per forward pass")
    schedule: Literal["every", "log"] = "every"
    every: int = Field(100, ge=1, description="'every' schedule: evaluate every n steps")
    n_points: int = Field(60, ge=2, description="'log' schedule: number of evaluations")
    protocol: Protocol = Field("paper", description="held-out protocol behind icl.structural")
    align_to_forgetting: bool = Field(
        True, description="forgetting runs: evaluate just before resets; summaries use only those"
    )
    thresholds: Thresholds = Thresholds()


class TrialConfig(_Part):
    task: AnyTaskConfig = TaskConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    forgetting: ForgettingConfig = ForgettingConfig()
    eval: EvalConfig = EvalConfig()

    @model_validator(mode="after")
    def _protocol_of_task(self) -> TrialConfig:
        allowed = self.task.protocols
        if self.eval.protocol not in allowed:
            raise ValueError(
                f"eval.protocol={self.eval.protocol!r} with task.kind={self.task.kind!r}: its "
                f"held-out set is scored one way; allowed: {', '.join(allowed)}"
            )
        return self

    @model_validator(mode="after")
    def _thresholds_at_chance(self) -> TrialConfig:
        """A regime threshold the config leaves unset is the chance level of the metric it
        judges in this task (docs/design.md §5): 'present' then means clear of chance at the
        evaluation's noise, for a two-way answer (0.5) as for an L-way one (1/L). The resolved
        value is what the run logs, so analysis reads the threshold the trial used."""
        t, chance = self.eval.thresholds, self.task.chance()
        given = t.model_fields_set
        unset = {
            key: chance[metric]
            for key, metric in (("icl", ICL_STRUCTURAL), ("iwl", IWL_HEAD))
            if key not in given and getattr(t, key) != chance[metric]
        }
        if unset:
            thresholds = t.model_copy(update=unset)
            object.__setattr__(
                self, "eval", self.eval.model_copy(update={"thresholds": thresholds})
            )
        return self

    @model_validator(mode="after")
    def _frozen_never_redrawn(self) -> TrialConfig:
        """Frozen embeddings are never re-drawn for good; probabilistic forgetting only lends a
        row a fresh draw for one step, so it may run on frozen embeddings (the paper's use on a
        pretrained model)."""
        if self.train.freeze_embeddings and self.forgetting.kind not in ("none", "probabilistic"):
            raise ValueError(
                f"train.freeze_embeddings=true with forgetting.kind={self.forgetting.kind!r}: "
                "frozen embeddings are drawn once; allowed: forgetting.kind 'none' or "
                "'probabilistic'"
            )
        return self

    @property
    def reset_std(self) -> float:
        return self.forgetting.reset_std or self.model.embed_init_std

    def flat(self) -> dict[str, Any]:
        """Dotted keys → values, the form MLflow params and `--set` use."""
        return flatten(self.model_dump())

    def inert_keys(self) -> set[str]:
        """Keys that do nothing in this config: the forgetting schedule's under `kind: none`, N
        under `active`, the reset schedule under `probabilistic`, the encoder's `model.causal`
        in the AR world (its decoder is causal), Adam's betas and eps under SGD. They are not logged, so that a phase fit over k or
        N never pools runs in which the value had no effect."""
        kind = self.forgetting.kind
        schedule = ("forget_every", "forget_until", "reset_std", "clear_optimizer")
        inert = {  # p is None unless probabilistic, as n_resets unless temporary: no pooling
            "none": schedule,
            "active": ("forget_until",),
            "temporary": (),
            "probabilistic": ("forget_every", "forget_until", "clear_optimizer"),
        }[kind]
        keys = {f"forgetting.{key}" for key in inert}
        if self.task.kind == "ar":  # the encoder's flag: the decoder is causal whatever it says
            keys.add("model.causal")
        if self.train.optimizer == "sgd":
            keys |= {"train.beta1", "train.beta2", "train.eps"}
        return keys

    def effective(self) -> dict[str, Any]:
        """`flat()` without the inert keys: what a trial's run logs as its params."""
        inert = self.inert_keys()
        return {k: v for k, v in self.flat().items() if k not in inert}
