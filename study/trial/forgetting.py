"""Weight forgetting (docs/design.md §4): a pure schedule plus one explicit action.

`should_forget(step, cfg)` says whether the reset follows optimiser step `step` (1-based);
`forget(...)` re-draws the token embeddings from the init law and clears the optimiser state the
config names, in one visible place. When a reset and an evaluation fall on the same step, the loop
evaluates first, then resets. Which parameters are the token embeddings is the model's to say
(`TaskModel.EMBEDDINGS`: each world's model family names its own, docs/design.md §9).
"""

from __future__ import annotations

import torch

from study.config import ForgettingConfig
from study.trial.task_model import TaskModel, redraw_embeddings


def should_forget(step: int, cfg: ForgettingConfig) -> bool:
    """True after steps k, 2k, … (active), and only while step < N (temporary)."""
    if cfg.kind == "none" or step % cfg.forget_every:
        return False
    if cfg.kind == "active":
        return True
    assert cfg.forget_until is not None  # temporary forgetting: the config requires N
    return step < cfg.forget_until


def reset_steps(cfg: ForgettingConfig, steps: int) -> list[int]:
    """Every step a reset follows, for figures."""
    if cfg.kind == "none":
        return []
    return [
        s for s in range(cfg.forget_every, steps + 1, cfg.forget_every) if should_forget(s, cfg)
    ]


def cleared_state(cfg: ForgettingConfig) -> str:
    """Which optimiser state a reset clears (`ForgettingConfig.cleared_state`)."""
    return cfg.cleared_state


def forget(
    model: TaskModel,
    optimizer: torch.optim.Optimizer,
    cfg: ForgettingConfig,
    reset_std: float,
    generator: torch.Generator,
) -> None:
    """Re-draw the token embeddings (the POS model's whole matrix, held-out rows included; tied
    output rows follow, an output bias stays) and clear the named optimiser state: moments and
    bias-correction step."""
    redraw_embeddings(model, reset_std, generator)
    scope = cleared_state(cfg)
    if scope == "embeddings":
        for p in model.token_embeddings():
            optimizer.state.pop(p, None)
    elif scope == "all":
        optimizer.state.clear()
