"""Probabilistic temporary forgetting (study/trial/forgetting.py: `forgotten_for_step`): a row the
batch uses is lent a fresh draw for one step and put back after it, moments included; p = 0 is
plain training bit for bit; it runs on every world, on trained or frozen embeddings."""

from __future__ import annotations

import pytest
import torch

from study.errors import ConfigError
from study.presets import build_config
from study.trial.forgetting import forgotten_for_step, reset_steps, should_forget
from study.trial.lane import Lane
from study.trial.pack import trains_alone
from study.trial.schedule import eval_steps
from study.trial.train import make_optimizer, train, train_step

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
SHORT = {"train.steps": 20, "eval.every": 10}


def probabilistic(preset, p, **sets):
    return build_config(
        preset, sets={**SHORT, "forgetting.kind": "probabilistic", "forgetting.p": p, **sets}
    )


@pytest.mark.parametrize("preset", ["tiny", "ar_small", "bursty_small"])
def test_p_zero_is_plain_training_bit_for_bit(preset):
    plain = train(build_config(preset, sets=SHORT), CPU)
    never = train(probabilistic(preset, 0.0), CPU)
    assert never.curve == plain.curve
    for name, value in plain.model.state_dict().items():
        assert torch.equal(value, never.model.state_dict()[name]), name


def one_step(cfg, steps_before=3):
    """A lane's model and optimiser after a few plain steps, and the next step's batch."""
    lane = Lane.build(cfg, CPU)
    model, draws = lane.model(), lane.world.draws([lane])
    optimizer = make_optimizer(model, cfg)
    for step in range(1, steps_before + 1):
        train_step(model, optimizer, *draws.alone(step))
    return lane, model, optimizer, draws.alone(steps_before + 1)


@pytest.mark.parametrize("preset", ["tiny", "ar_small"])
def test_a_forgotten_row_is_fresh_during_its_step_and_restored_after_it(preset):
    cfg = probabilistic(preset, 0.5, **{"forgetting.reset_std": 3.0})
    lane, model, optimizer, (inputs, targets, noise) = one_step(cfg)
    (emb,) = model.token_embeddings()
    before = emb.detach().clone()
    moments = {k: v.clone() for k, v in optimizer.state[emb].items()}
    used = torch.zeros(emb.shape[0], dtype=torch.bool)
    used[inputs.flatten()] = used[targets.flatten()] = True
    lent = (model, optimizer, cfg.forgetting, cfg.reset_std, lane.forget_rng)
    with forgotten_for_step(*lent, inputs, targets):
        fresh = (emb != before).any(1)
        assert fresh.any() and not fresh[~used].any()  # only rows the batch uses
        assert 0.3 < fresh[used].float().mean() < 0.7  # about p of them
        assert 2.0 < emb[fresh].std() < 4.0  # drawn at the stated std, 3.0
        train_step(model, optimizer, inputs, targets, noise)
    assert torch.equal(emb[fresh], before[fresh])  # put back as it was before the step
    for name in ("exp_avg", "exp_avg_sq"):
        assert torch.equal(optimizer.state[emb][name][fresh], moments[name][fresh]), name
    kept = used & ~fresh
    assert (emb[kept] != before[kept]).any(1).all()  # the other used rows trained
    assert (optimizer.state[emb]["exp_avg"][kept] != moments["exp_avg"][kept]).any(1).all()


def test_on_frozen_embeddings_only_the_rest_of_the_model_trains():
    cfg = probabilistic("tiny", 0.3, **{"train.freeze_embeddings": True})
    lane, model, optimizer, _ = one_step(cfg, steps_before=0)
    (emb,) = model.token_embeddings()
    drawn = emb.detach().clone()
    trained = train(cfg, CPU).model
    assert torch.equal(trained.token_embeddings()[0], drawn)  # the draw of step 0, for good
    assert not torch.equal(trained.head.weight, model.head.weight)


def test_the_config_states_p_and_nothing_else_resets():
    with pytest.raises(ConfigError, match="forgetting.p"):
        build_config("tiny", sets={"forgetting.kind": "probabilistic"})
    with pytest.raises(ConfigError, match="probabilistic"):
        build_config("tiny", sets={"forgetting.kind": "active", "forgetting.p": 0.1})
    with pytest.raises(ConfigError, match="freeze_embeddings"):
        build_config("tiny", sets={"forgetting.kind": "active", "train.freeze_embeddings": True})
    cfg = probabilistic("tiny", 0.1, **{"train.steps": 60})
    assert cfg.effective()["forgetting.p"] == 0.1 and build_config("tiny").forgetting.p is None
    assert "forgetting.reset_std" in cfg.effective()
    assert not {"forgetting.forget_every", "forgetting.clear_optimizer"} & set(cfg.effective())
    assert not any(should_forget(s, cfg.forgetting) for s in range(1, 61))
    assert reset_steps(cfg.forgetting, 60) == []
    assert eval_steps(cfg) == list(range(0, 61, 10))  # no reset cycle to align with
    assert trains_alone(cfg)  # a pack does not lend rows within a step


def test_in_the_classifier_the_label_rows_are_lent_and_put_back():
    cfg = probabilistic("bursty_small", 0.5, **{"train.momentum": 0.9})
    lane, model, optimizer, (inputs, targets, noise) = one_step(cfg)
    labels, projection = model.label_emb.weight, model.item_proj.weight
    before, kept = labels.detach().clone(), projection.detach().clone()
    lent = (model, optimizer, cfg.forgetting, cfg.reset_std, lane.forget_rng)
    with forgotten_for_step(*lent, inputs, targets):
        fresh = (labels != before).any(1)
        assert fresh.any() and torch.equal(projection, kept)  # items are vectors: no rows
        train_step(model, optimizer, inputs, targets, noise)
    assert torch.equal(labels[fresh], before[fresh])
    assert (labels[~fresh] != before[~fresh]).any()
