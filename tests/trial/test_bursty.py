"""Bursty in-context classification (study/trial/worlds/bursty.py, bursty_data.py) and its
classifier (study/trial/classifier.py): the sequences' invariants, the evaluation sets, the
model's embeddings, SGD, and determinism."""

from __future__ import annotations

import math

import pytest
import torch

from study.config import BurstyTaskConfig
from study.metric_names import ACC_VAL, ICL_HEAD, ICL_STRUCTURAL, IWL_HEAD, LOSS_VAL
from study.presets import build_config
from study.trial.classifier import BurstyClassifier
from study.trial.forgetting import forget
from study.trial.lane import Lane
from study.trial.train import make_optimizer, train
from study.trial.worlds.bursty_data import (
    Layout,
    absent_sequences,
    class_means,
    eval_slots,
    fresh_sequences,
    placed,
    swap_sequences,
    training_sequences,
)
from study.trial.worlds.draw_laws import normals, zipf_cdf

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
SMALL = {"n_classes": 64, "n_labels": 8, "n_dims": 16, "n_context": 8, "burst": 2}


def world(rng, **changes):
    cfg = BurstyTaskConfig(**{**SMALL, **changes})
    return cfg, class_means(cfg, rng), zipf_cdf(cfg.n_classes, cfg.zipf_exponent)


def uniforms(rng, n, slots):
    return torch.rand(n, slots, generator=rng, dtype=torch.float64).float()


def parts(cfg, batch):
    """(items [n, N+1, D] with the query last, context labels [n, N]) from a batch's inputs."""
    d, n_context = cfg.n_dims, cfg.n_context
    xs = torch.cat([batch.inputs[:, 0 : 2 * n_context : 2, :d], batch.inputs[:, -1:, :d]], dim=1)
    one_hot = batch.inputs[:, 1 : 2 * n_context : 2, d:]
    assert (one_hot.sum(-1) == 1).all() and (batch.inputs[:, 0::2, d:] == 0).all()
    return xs, one_hot.argmax(-1)


def test_a_bursty_context_holds_n_over_b_classes_b_times_with_the_querys_among_them(rng):
    cfg, means, cdf = world(rng, p_bursty=1.0, noise=0.0)
    batch = training_sequences(cfg, means, cdf, uniforms(rng, 2000, Layout(8, 16).slots))
    context, query = batch.classes[:, :-1], batch.classes[:, -1]
    counts = (context[:, :, None] == context[:, None, :]).sum(2)
    assert (counts == cfg.burst).all()  # every class of the context appears B times
    assert ((context == query[:, None]).sum(1) == cfg.burst).all()
    xs, labels = parts(cfg, batch)
    assert torch.allclose(xs, means[batch.classes], atol=1e-6)  # ε = 0: the means themselves
    assert (labels == context % cfg.n_labels).all()
    assert (batch.targets[:, 0] == query % cfg.n_labels).all() and not batch.fresh.any()


def test_plain_contexts_draw_classes_independently_and_noise_scatters_items(rng):
    cfg, means, cdf = world(rng, p_bursty=0.0, noise=0.5, zipf_exponent=1.0)
    batch = training_sequences(cfg, means, cdf, uniforms(rng, 4000, Layout(8, 16).slots))
    query_present = (batch.classes[:, :-1] == batch.classes[:, -1:]).any(1).float().mean()
    assert 0.05 < query_present < 0.95  # independent draws: the query's class may be absent
    share_of_class_0 = (batch.classes == 0).float().mean()
    law = 1 / torch.arange(1, 65, dtype=torch.float64)
    assert abs(share_of_class_0 - law[0] / law.sum()) < 0.01  # Zipf over classes
    xs, _ = parts(cfg, batch)
    spread = (xs * math.sqrt(1 + 0.25) - means[batch.classes]).norm(dim=-1).mean()
    assert abs(spread - 0.5) < 0.05  # ε η with η ~ N(0, I/D): norm ≈ ε


def test_a_float32_uniform_that_rounds_to_one_gives_finite_items(rng):
    """A bursty run's loss turned NaN at step 16,710: one of its float32 uniforms had rounded
    to 1.0 and Box–Muller made an infinite item of it."""
    cfg, means, cdf = world(rng, p_bursty=1.0, p_fresh=0.5)
    u = uniforms(rng, 64, Layout(8, 16).slots)
    u[:, 2:] = torch.where(torch.rand(u[:, 2:].shape, generator=rng) < 0.05, 1.0, u[:, 2:])
    assert (u == 1.0).any()
    batch = training_sequences(cfg, means, cdf, u)
    assert torch.isfinite(batch.inputs).all()
    assert normals(torch.tensor([0.5, 0.0, 0.25, 0.5])).tolist() == pytest.approx(
        [math.sqrt(-2 * math.log(0.5)), -math.sqrt(-2 * math.log(0.75))]
    )  # below 1 the draws are unchanged


def test_fresh_sequences_give_each_class_a_new_mean_and_keep_its_label(rng):
    cfg, means, cdf = world(rng, p_fresh=0.3, noise=0.0)
    batch = training_sequences(cfg, means, cdf, uniforms(rng, 3000, Layout(8, 16).slots))
    assert abs(batch.fresh.float().mean() - 0.3) < 0.04
    xs, labels = parts(cfg, batch)
    fresh, classes = batch.fresh, batch.classes
    assert not torch.isclose(xs[fresh], means[classes[fresh]]).all(-1).any()  # new means
    same = classes[fresh][:, :, None] == classes[fresh][:, None, :]
    alike = (xs[fresh][:, :, None] - xs[fresh][:, None, :]).abs().amax(-1) < 1e-6
    assert torch.equal(same, alike)  # one mean per class of the sequence
    assert (labels[fresh] == classes[fresh][:, :-1] % cfg.n_labels).all()  # known labels


def test_the_evaluation_sets_test_what_they_name(rng):
    cfg, means, cdf = world(rng, noise=0.0)
    slots = eval_slots(cfg)
    fresh = fresh_sequences(cfg, uniforms(rng, 1000, slots))
    xs, labels = parts(cfg, fresh)
    assert not torch.isclose(xs[:, :, None], means).all(-1).any()  # no trained class
    groups = fresh.classes[:, :-1]
    group_labels = torch.full((1000, 4), -1).scatter(1, -1 - groups, labels)
    assert (group_labels.sort(1).values.diff(dim=1) > 0).all()  # distinct labels: chance B/N
    assert ((groups == fresh.classes[:, -1:]).sum(1) == cfg.burst).all()
    swap = swap_sequences(cfg, means, uniforms(rng, 1000, slots))
    xs, labels = parts(cfg, swap)
    assert torch.allclose(xs, means[swap.classes], atol=1e-6)  # trained classes
    assert (labels != swap.classes[:, :-1] % cfg.n_labels).all()  # each shows another label
    assert (swap.memorised == swap.classes[:, -1] % cfg.n_labels).all()
    assert (swap.targets[:, 0] != swap.memorised).all()
    absent = absent_sequences(cfg, means, cdf, uniforms(rng, 1000, slots))
    _, labels = parts(cfg, absent)
    assert not (absent.classes[:, :-1] == absent.classes[:, -1:]).any()  # the query is absent
    assert not (labels == absent.targets).any()  # and so is its label: only weights can answer
    assert (absent.targets[:, 0] == absent.classes[:, -1] % cfg.n_labels).all()


def test_the_classifier_its_embeddings_and_sgd():
    sets = {"train.steps": 20, "eval.every": 10, "train.optimizer": "sgd", "train.batch_size": 32}
    cfg = build_config("bursty_small", sets=sets)
    lane = Lane.build(cfg, CPU)
    model = lane.model()
    assert isinstance(model, BurstyClassifier)
    assert model.EMBEDDINGS == ("item_proj.weight", "label_emb.weight")
    inputs, targets, _ = lane.world.draws([lane]).alone(1)
    assert inputs.shape == (32, 17, 16 + 8) and model(inputs).shape == (32, 1, 8)
    optimizer = make_optimizer(model, cfg)
    assert isinstance(optimizer, torch.optim.SGD)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    forget(model, optimizer, cfg.forgetting, 1.0, torch.Generator().manual_seed(0))
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]) != (name in model.EMBEDDINGS), name
    ((rows, used),) = model.batch_rows(inputs, targets)
    assert rows is model.label_emb.weight and used.shape == (8,) and used.any()


def test_a_trial_is_deterministic_and_feeds_the_platform_metrics():
    cfg = build_config("bursty_small", sets={"train.steps": 20, "eval.every": 10})
    first, again = train(cfg, CPU), train(cfg, CPU)
    assert first.curve == again.curve
    final = first.curve[-1][1]
    assert {ACC_VAL, LOSS_VAL, ICL_HEAD, ICL_STRUCTURAL, IWL_HEAD} <= set(final)
    assert cfg.eval.thresholds.icl == 1 / 4 and cfg.eval.thresholds.iwl == 1 / 8  # B/N, 1/L


def test_placed_sequences_carry_consecutive_one_hot_positions_from_a_random_offset(rng):
    inputs = torch.zeros(4000, 17, 3)
    out = placed(inputs, 65, torch.rand(4000, generator=rng))
    assert out.shape == (4000, 17, 3 + 65) and torch.equal(out[..., :3], inputs)
    where = out[..., 3:].argmax(-1)  # [n, 17]
    assert (out[..., 3:].sum(-1) == 1).all()
    assert (where.diff(dim=1) == 1).all()  # consecutive: only relative positions are shared
    starts = where[:, 0]
    assert starts.min() == 0 and starts.max() == 65 - 17  # every offset, none past the end
    assert placed(inputs[:1], 17, torch.tensor([0.999]))[0, :, 3:].argmax(-1).tolist() == list(
        range(17)
    )


def test_a_world_with_positions_places_its_training_and_evaluation_sets_and_its_model_reads_them():
    sets = {"train.steps": 20, "eval.every": 10, "train.batch_size": 32, "task.n_positions": 40}
    cfg = build_config("bursty_small", sets=sets)
    lane = Lane.build(cfg, CPU)
    inputs, _, _ = lane.world.draws([lane]).alone(1)
    assert inputs.shape == (32, 17, 16 + 8 + 40)
    assert (inputs[..., 24:].argmax(-1).diff(dim=1) == 1).all()
    evaluation = lane.world.evaluation
    for batch in (evaluation.val, evaluation.fresh, evaluation.swap, evaluation.absent):
        assert batch.inputs.shape[1:] == (17, 16 + 8 + 40)
    assert len(set(evaluation.fresh.inputs[:, 0, 24:].argmax(-1).tolist())) > 1
    model = lane.model()
    assert model.pos_emb.weight.shape == (40, 64) and model(inputs).shape == (32, 1, 8)
    # the same tokens at another offset are read with other position vectors
    shifted = torch.cat([inputs[..., :24], inputs[..., 24:].roll(1, dims=-1)], dim=-1)
    assert not torch.allclose(model(inputs), model(shifted))
    first, again = train(cfg, CPU), train(cfg, CPU)
    assert first.curve == again.curve


def test_too_few_positions_for_a_sequence_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="n_positions=16.*allowed: 0 or ≥ 17"):
        BurstyTaskConfig(**SMALL, n_positions=16)
