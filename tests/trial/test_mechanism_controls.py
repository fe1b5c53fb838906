"""The mechanism controls (study/controls.py MECHANISMS, docs/design.md §6): frozen token
embeddings, an embedding learning-rate scale, a single reset at step k. Real tiny training;
a bad value exits 2 naming the field, the value and what is allowed."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from study.cli.main import cli
from study.controls import matched_embed_lr_scale, mechanism_overrides
from study.metric_names import EMBED_DRIFT
from study.presets import build_config
from study.trial.forgetting import reset_steps
from study.trial.model import build_model
from study.trial.seeds import generator, trial_seeds
from study.trial.tasks import Task
from study.trial.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
ACTIVE = {"forgetting.kind": "active", "forgetting.forget_every": 20}


def initial_embeddings(cfg) -> torch.Tensor:
    """The token embeddings a trial of `cfg` starts from (the init seed's draw)."""
    vocab = Task(cfg.task).vocab
    model = build_model(cfg.model, vocab.size, generator(trial_seeds(cfg.train.seed)["init"]), CPU)
    return model.tok_emb.weight.detach().clone()


def drift(cfg, rows: int | None = None) -> float:
    """Mean absolute change per coordinate of the token embeddings (the first `rows`, else all)
    over training."""
    trained = train(cfg, CPU).model.tok_emb.weight.detach()
    return float((trained - initial_embeddings(cfg))[:rows].abs().mean())


def test_frozen_embeddings_keep_their_draw_at_the_reset_std():
    run = build_config("tiny", sets=ACTIVE)
    cfg = build_config("tiny", sets={**ACTIVE, **mechanism_overrides(run, "frozen")})
    assert cfg.forgetting.kind == "none" and cfg.model.embed_init_std == run.reset_std == 1.0
    trained = train(cfg, CPU).model
    assert torch.equal(trained.tok_emb.weight.detach(), initial_embeddings(cfg))
    assert not trained.tok_emb.weight.requires_grad and trained.out_bias.abs().sum() > 0


def test_the_embedding_learning_rate_scale_speeds_the_drift():
    run = build_config("tiny", sets=ACTIVE)
    plain = build_config("tiny", sets={**ACTIVE, **mechanism_overrides(run, "embed_lr", 1.0)})
    fast = build_config("tiny", sets={**ACTIVE, **mechanism_overrides(run, "embed_lr", 4.0)})
    # Adam moves each coordinate by about lr a step: 4× the lr, well over twice the drift
    assert drift(fast) > 2 * drift(plain) > 0


def test_the_logged_drift_is_the_embeddings_distance_from_their_first_draw():
    run = build_config("tiny", sets=ACTIVE)
    fast = build_config("tiny", sets={**ACTIVE, **mechanism_overrides(run, "embed_lr", 4.0)})
    frozen = build_config("tiny", sets={**ACTIVE, **mechanism_overrides(run, "frozen")})
    logged = {
        name: train(cfg, CPU).curve[-1][1][EMBED_DRIFT]
        for name, cfg in {"fast": fast, "frozen": frozen, "run": run}.items()
    }
    content = Task(fast.task).vocab.n_content  # the rows that are inputs in training
    assert logged["fast"] == pytest.approx(drift(fast, rows=content), rel=1e-5)
    assert logged["frozen"] == 0.0
    # the active run's rows were re-drawn from N(0, 1) at step 40, far from their N(0, 0.02²)
    # start: E|x − y| = √(2/π) · √(1 + 0.02²) ≈ 0.80, before 20 steps of training move them
    assert 0.7 < logged["run"] < 0.9
    assert logged["run"] > 5 * logged["fast"]


def test_the_matched_scale_follows_the_drifts_measured():
    assert matched_embed_lr_scale(0.2, {1.0: 0.05}) == pytest.approx(4.0)  # one point: linear
    law = {s: 0.02 * s**0.8 for s in (1.0, 8.0)}  # drift as a power of the scale
    assert matched_embed_lr_scale(0.02 * 20**0.8, law) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="drifts"):
        matched_embed_lr_scale(0.2, {1.0: 0.0})


def test_a_single_reset_at_step_k():
    run = build_config("tiny", sets=ACTIVE)
    once = build_config("tiny", sets={**ACTIVE, **mechanism_overrides(run, "single_reset")})
    assert reset_steps(once.forgetting, once.train.steps) == [20]
    assert reset_steps(run.forgetting, run.train.steps) == [20, 40, 60]
    assert once.forgetting.clear_optimizer == "none"  # the active run's (paper: none)
    assert train(once, CPU).curve[-1][0] == once.train.steps


@pytest.mark.parametrize(
    ("sets", "named"),
    [
        (["train.embed_lr_scale=0"], "train.embed_lr_scale"),
        (["train.freeze_embeddings=maybe"], "train.freeze_embeddings"),
        (["train.freeze_embeddings=true", "train.embed_lr_scale=2"], "embed_lr_scale=2"),
        (["train.freeze_embeddings=true", "forgetting.kind=active"], "freeze_embeddings"),
        (["forgetting.n_resets=1", "forgetting.kind=active"], "n_resets=1"),
        (["forgetting.n_resets=0", "forgetting.kind=temporary"], "forgetting.n_resets"),
        (
            ["forgetting.n_resets=1", "forgetting.kind=temporary", "forgetting.forget_until=5"],
            "allowed: 1001",
        ),
    ],
)
def test_bad_values_exit_2_naming_the_field(sets, named):
    args = ["train", "--preset", "tiny", *[a for s in sets for a in ("--set", s)]]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    text = result.output.lower()
    assert named in result.output and ("allowed" in text or "should be" in text)
