"""Weight forgetting (docs/design.md §4): a pure schedule plus one explicit action.

`should_forget(step, cfg)` says whether the reset follows optimiser step `step` (1-based);
`forget(...)` re-draws the token embeddings from the init law and clears the optimiser state the
config names, in one visible place. When a reset and an evaluation fall on the same step, the loop
evaluates first, then resets. Which parameters are the token embeddings is the model's to say
(`TaskModel.EMBEDDINGS`: each world's model family names its own, docs/design.md §9).

Probabilistic forgetting has no resets: `forgotten_for_step` wraps each optimiser step, lending
some of the batch's token rows a fresh draw for that step and putting them back after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from study.config import ForgettingConfig
from study.trial.task_model import TaskModel, embedding_draw, redraw_embeddings


def should_forget(step: int, cfg: ForgettingConfig) -> bool:
    """True after steps k, 2k, … (active), and only while step < N (temporary); never for
    none or probabilistic forgetting."""
    if cfg.kind in ("none", "probabilistic") or step % cfg.forget_every:
        return False
    if cfg.kind == "active":
        return True
    assert cfg.forget_until is not None  # temporary forgetting: the config requires N
    return step < cfg.forget_until


def reset_steps(cfg: ForgettingConfig, steps: int) -> list[int]:
    """Every step a reset follows, for figures."""
    if cfg.kind in ("none", "probabilistic"):
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


@contextlib.contextmanager
def forgotten_for_step(
    model: TaskModel,
    optimizer: torch.optim.Optimizer,
    cfg: ForgettingConfig,
    reset_std: float,
    generator: torch.Generator,
    inputs: Tensor,
    targets: Tensor,
) -> Iterator[None]:
    """Probabilistic temporary forgetting around one optimiser step (a no-op for other kinds):
    each token row the batch uses (`TaskModel.batch_rows`) is, with probability `cfg.p`,
    given a fresh N(0, reset_std) draw for the step; after it the row is put back as it was,
    and so are its optimiser moments, so the row takes no part in that step's update while the
    rest of the model learns to do without it. Whether the embeddings otherwise train is
    `train.freeze_embeddings`. The draws come from the trial's forgetting generator on the CPU,
    a fixed count every step (a uniform and a row per token id), so a trial forgets the same
    rows on every device."""
    if cfg.kind != "probabilistic":
        yield
        return
    assert cfg.p is not None  # the config requires it under this kind
    lent = []
    with torch.no_grad():
        for param, used in model.batch_rows(inputs, targets):
            coins = torch.rand(param.shape[0], generator=generator)
            fresh = embedding_draw(param.shape, reset_std, generator).to(param.device)
            rows = (used & (coins < cfg.p).to(param.device)).unsqueeze(1)  # [rows, 1]
            state = optimizer.state.get(param, {})
            moments = {k: t.clone() for k, t in state.items() if _row_state(t, param)}
            lent.append((param, rows, param.detach().clone(), moments))
            param.copy_(torch.where(rows, fresh, param))
    yield
    with torch.no_grad():
        for param, rows, before, moments in lent:
            param.copy_(torch.where(rows, before, param))
            for name, now in optimizer.state.get(param, {}).items():
                if _row_state(now, param):  # a moment made by this step started at zero
                    was = moments.get(name, torch.zeros_like(now))
                    now.copy_(torch.where(rows, was, now))


def _row_state(t: object, param: Tensor) -> bool:
    """An optimiser state tensor with a row per embedding row (Adam's moments, a momentum)."""
    return isinstance(t, Tensor) and t.shape == param.shape
