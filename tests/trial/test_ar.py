"""The autoregressive toy (study/trial/worlds/ar.py, ar_data.py) and its decoder
(study/trial/decoder.py): the sequences' invariants, the evaluation sets, the causal tied model,
loss at the query's label only, and determinism."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from study.config import ArTaskConfig
from study.metric_names import ACC_VAL, ICL_HEAD, ICL_STRUCTURAL, IWL_HEAD, LOSS_VAL, structural
from study.presets import build_config
from study.trial.decoder import CausalLM
from study.trial.forgetting import forget
from study.trial.lane import Lane
from study.trial.train import make_optimizer, train
from study.trial.worlds.ar_data import (
    BURST,
    PAIRS,
    QUERY,
    SEQ_LEN,
    TRAIN_SLOTS,
    ArVocab,
    training_sequences,
)
from study.trial.worlds.draw_laws import distinct, zipf, zipf_cdf, zipf_except

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
VOCAB = ArVocab(n_items=50, n_holdout=10)


def sequences(rng, n=4000, **changes):
    cfg = ArTaskConfig(n_items=50, n_holdout=10, **changes)
    cdf = zipf_cdf(50, cfg.alpha)
    return training_sequences(
        cfg, VOCAB, cdf, torch.rand(n, TRAIN_SLOTS, generator=rng, dtype=torch.float64)
    )


def context(batch):
    """(items [n, 8], label tokens [n, 8]) of a batch's context."""
    pairs = batch.inputs[:, : 2 * PAIRS].view(-1, PAIRS, 2)
    return pairs[..., 0], pairs[..., 1]


def test_a_bursty_context_holds_the_query_and_one_other_item_four_times_each(rng):
    batch = sequences(rng, bursty_ratio=1.0)
    items, _ = context(batch)
    assert batch.bursty.all() and (batch.inputs[:, QUERY] == batch.query).all()
    assert ((items == batch.query[:, None]).sum(1) == BURST).all()
    other = items.max(1).values.where(items.min(1).values == batch.query, items.min(1).values)
    assert (other != batch.query).all() and ((items == other[:, None]).sum(1) == BURST).all()
    # the arrangement is random: the query's copies sit everywhere
    assert (items == batch.query[:, None]).float().mean(0).sub(0.5).abs().max() < 0.05


def test_without_ambiguity_every_label_is_canonical(rng):
    for bursty_ratio in (0.0, 0.5, 1.0):
        batch = sequences(rng, bursty_ratio=bursty_ratio, amb_ratio=0.0)
        items, labels = context(batch)
        assert (labels == items + VOCAB.label_start).all()
        assert (batch.targets[:, 0] == batch.query + VOCAB.label_start).all()
    plain = sequences(rng, bursty_ratio=0.0)
    assert not plain.bursty.any()
    assert (context(plain)[0] != context(plain)[0][:, :1]).any(1).float().mean() > 0.9  # 8 draws


def test_an_ambiguous_item_keeps_its_random_label_and_the_answer_follows_the_context(rng):
    batch = sequences(rng, bursty_ratio=1.0, amb_ratio=0.3)
    items, labels = context(batch)
    query_labels = labels.where(items == batch.query[:, None], torch.full_like(labels, -1))
    in_context = query_labels.max(1).values
    assert (query_labels.where(query_labels >= 0, in_context[:, None]) == in_context[:, None]).all()
    assert (batch.targets[:, 0] == in_context).all()  # the answer is the context's label
    canonical = (labels == items + VOCAB.label_start).float().mean()
    assert abs((1 - canonical) - 0.3 * (1 - 1 / 50)) < 0.02  # a random label may be its own
    assert (labels >= VOCAB.label_start).all() and (labels < VOCAB.size).all()


def test_held_out_items_never_appear_in_training(rng):
    for bursty_ratio in (0.0, 1.0):
        batch = sequences(rng, bursty_ratio=bursty_ratio, amb_ratio=0.5)
        items, _ = context(batch)
        assert (items < VOCAB.n_items).all() and (batch.query < VOCAB.n_items).all()


def test_the_zipf_law_is_honoured_and_the_released_one_is_an_option(rng):
    u = torch.rand(200_000, generator=rng, dtype=torch.float64)
    for alpha in (0.0, 1.5):
        drawn = torch.bincount(zipf(zipf_cdf(50, alpha), u), minlength=50).double() / len(u)
        law = torch.arange(1, 51, dtype=torch.float64).pow(-alpha)
        assert torch.allclose(drawn, law / law.sum(), atol=0.004), alpha
    assert ArTaskConfig(zipf_exponent=1.5).alpha == 1.5
    assert ArTaskConfig(zipf_exponent=1.5, zipf_law="paper").alpha == 1.0001
    assert ArTaskConfig(zipf_exponent=0.0, zipf_law="paper").alpha == 0.0


def test_draws_that_exclude_an_item_follow_the_conditional_law(rng):
    cdf = zipf_cdf(50, 1.0)
    excluded = torch.randint(0, 3, (100_000,), generator=rng)
    drawn = zipf_except(cdf, torch.rand(100_000, generator=rng, dtype=torch.float64), excluded)
    assert (drawn != excluded).all()
    law = 1 / torch.arange(1, 51, dtype=torch.float64)
    rows = excluded == 0
    expected = law.clone()
    expected[0] = 0
    freq = torch.bincount(drawn[rows], minlength=50).double() / rows.sum()
    assert torch.allclose(freq, expected / expected.sum(), atol=0.01)
    picks = distinct(torch.rand(1000, 4, generator=rng, dtype=torch.float64), 5)
    assert (picks.sort(1).values.diff(dim=1) > 0).all() and picks.max() < 5


def lane(**sets):
    cfg = build_config("ar_small", sets={"task.n_items": 50, "task.n_holdout": 10, **sets})
    return Lane.build(cfg, CPU)


def test_the_evaluation_sets_test_what_they_name():
    ev = lane().evaluate
    start, (zero, one) = VOCAB.label_start, VOCAB.eval_labels
    for batch, first, size in ((ev.holdout, 50, 10), (ev.context, 0, 50)):
        items, labels = context(batch)
        assert ((items >= first) & (items < first + size)).all()
        assert torch.isin(labels, torch.tensor([zero, one])).all()  # the two evaluation labels
        assert ((items == batch.query[:, None]).sum(1) == 3).all()
        query_labels = labels.where(items == batch.query[:, None], torch.zeros_like(labels))
        assert (query_labels.max(1).values == batch.targets[:, 0]).all()
        assert (batch.targets[:, 0] == torch.tensor([zero, one])[batch.answer]).all()
        assert batch.answer.float().mean().sub(0.5).abs() < 0.1  # chance is 0.5
    items, labels = context(ev.weights)
    assert not (items == ev.weights.query[:, None]).any()  # the query is absent
    assert (labels == items + start).all() and (
        ev.weights.targets[:, 0] == ev.weights.query + start
    ).all()


def test_the_decoder_is_causal_tied_and_scores_the_query_position_only():
    trial = lane()
    model = trial.model()
    assert isinstance(model, CausalLM) and model.EMBEDDINGS == ("tok_emb.weight",)
    x, y, _ = trial.world.draws([trial]).alone(1)
    assert x.shape == (32, SEQ_LEN) and y.shape == (32, 1)
    model.eval()
    logits = model(x)
    assert logits.shape == (32, 1, VOCAB.size)
    # the query's logits read nothing after it; with the label appended they are unchanged
    longer = CausalLM(model.cfg, VOCAB.size, SEQ_LEN + 1)
    longer.load_state_dict(
        {
            **model.state_dict(),
            "pos_emb.weight": torch.cat([model.pos_emb.weight, torch.zeros(1, 32)]),
        }
    )
    longer.n_targets = 2
    with_label = longer.eval()(torch.cat([x, y], dim=1))[:, 0]
    assert torch.allclose(with_label, logits[:, 0], atol=1e-5)
    # tied: the output rows are the token embeddings
    h = model.ln_final(torch.randn(3, 32))
    assert torch.allclose(F.linear(h, model.tok_emb.weight), h @ model.tok_emb.weight.T)


def test_loss_is_the_cross_entropy_of_the_query_label_and_forgetting_redraws_the_embeddings():
    trial = lane()
    model = trial.model()
    x, y, _ = trial.world.draws([trial]).alone(1)
    model.eval()
    by_hand = F.cross_entropy(model(x)[:, 0], y[:, 0])
    assert torch.isclose(by_hand, F.cross_entropy(model(x).flatten(0, 1), y.flatten()))
    optimizer = make_optimizer(model, trial.cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    forget(model, optimizer, trial.cfg.forgetting, 1.0, torch.Generator().manual_seed(0))
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]) != (name == "tok_emb.weight"), name


def test_a_trial_is_deterministic_and_feeds_the_platform_metrics():
    cfg = build_config("ar_small", sets={"train.steps": 20, "eval.every": 10})
    first, again = train(cfg, CPU), train(cfg, CPU)
    assert first.curve == again.curve and [s for s, _ in first.curve] == [0, 10, 20]
    final = first.curve[-1][1]
    assert {ACC_VAL, LOSS_VAL, ICL_HEAD, ICL_STRUCTURAL, structural("paper"), IWL_HEAD} <= set(
        final
    )
    assert final[ICL_STRUCTURAL] == final[structural("paper")]
    other = build_config("ar_small", sets={"train.steps": 20, "eval.every": 10, "train.seed": 1})
    assert train(other, CPU).curve != first.curve
