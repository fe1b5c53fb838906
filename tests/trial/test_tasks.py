"""The POS task sampler (study/trial/tasks.py): Zipf law, ambiguity, held-out ids, templates, splits."""

from __future__ import annotations

import pytest
import torch

from study.config import TaskConfig
from study.trial.seeds import generator
from study.trial.tasks import (
    ADJ,
    EVAL_SPLITS,
    NOUN,
    QUERY,
    SEQ_LEN,
    SPLITS,
    TARGETS,
    Task,
    Vocab,
    ambiguous_ranks,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_LARGE = 150_000  # sequences → 300,000 content draws for the frequency checks


def task_of(**overrides) -> Task:
    return Task(TaskConfig(**{"n_vocab": 40, "n_holdout": 6, **overrides}))


def content_tokens(task: Task, inputs: torch.Tensor) -> torch.Tensor:
    """The two context tokens and the query of each sequence, [n, 3], copula left out."""
    ctx = inputs[:, :QUERY]
    keep = ctx != task.vocab.copula
    return torch.cat([ctx[keep].view(-1, 2), inputs[:, QUERY : QUERY + 1]], dim=1)


def copula_position(task: Task, inputs: torch.Tensor) -> torch.Tensor:
    return (inputs == task.vocab.copula).int().argmax(dim=1)


def test_vocab_layout():
    vocab = Vocab.of(TaskConfig(n_vocab=40, n_holdout=6))
    assert (vocab.class_size, vocab.copula, vocab.mask, vocab.size) == (20, 40, 41, 48)
    assert list(vocab.holdout_ids) == list(range(42, 48))
    ids = torch.tensor([0, 19, 20, 39, 40, 41, 42, 47])
    assert vocab.token_class(ids).tolist() == [NOUN, NOUN, ADJ, ADJ, -1, -1, -1, -1]
    assert vocab.token_rank(ids).tolist() == [0, 19, 0, 19, -1, -1, -1, -1]


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 1.0001, 1.5])
def test_zipf_frequencies_follow_the_law(alpha, rng):
    """Empirical rank frequencies (both classes, ambiguity off) match rank^-α / Σ, rank 1 included.

    Tolerance: max |empirical − expected| < 0.004 over the 20 ranks. With 300,000 draws the
    standard error of one frequency is ≤ 0.5/√300000 ≈ 0.0009, so this is > 4 σ; a sampler that
    skips rank 1 (the paper code's off-by-one) is off by ≥ 0.05 at every α here."""
    task = task_of(zipf_exponent=alpha, p_ambiguous=0.0)
    batch = task.sample("train", N_LARGE, rng)
    size = task.vocab.class_size
    ranks = torch.cat([batch.other, batch.after_copula - size])  # nouns, then adjectives
    assert ranks.min() >= 0 and ranks.max() < size
    observed = torch.bincount(ranks, minlength=size).double() / ranks.numel()
    weights = torch.arange(1, size + 1, dtype=torch.float64).pow(-alpha)
    expected = weights / weights.sum()
    assert (observed - expected).abs().max() < 0.004
    # the most frequent token, id 0 of each class, is drawn (and for α > 0 is the commonest)
    assert (batch.other == 0).any() and (batch.after_copula == size).any()
    if alpha > 0:
        assert int(observed.argmax()) == 0


def test_zipf_chi_square(rng):
    """Pearson χ² of 300,000 draws at α = 1.0001 against the law: below the 0.999 quantile of
    χ²(19) = 43.8."""
    task = task_of(zipf_exponent=1.0001, p_ambiguous=0.0)
    batch = task.sample("train", N_LARGE, rng)
    size = task.vocab.class_size
    ranks = torch.cat([batch.other, batch.after_copula - size])
    counts = torch.bincount(ranks, minlength=size).double()
    weights = torch.arange(1, size + 1, dtype=torch.float64).pow(-1.0001)
    expected = ranks.numel() * weights / weights.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 43.8


@pytest.mark.parametrize(
    ("class_size", "eps", "n_bins"), [(5000, 0.1, 5), (100, 0.2, 5), (20, 0.1, 5), (53, 0.3, 4)]
)
def test_ambiguous_ranks_spread_evenly_over_bins(class_size, eps, n_bins):
    ranks = ambiguous_ranks(class_size, eps, n_bins)
    assert len(ranks) == round(eps * class_size)
    assert len(set(ranks.tolist())) == len(ranks)
    assert ranks.min() >= 0 and ranks.max() < class_size
    edges = torch.linspace(0, class_size, n_bins + 1).round().long()
    per_bin = torch.bucketize(ranks, edges[1:-1], right=True).bincount(minlength=n_bins)
    assert per_bin.sum() == len(ranks)
    assert per_bin.max() - per_bin.min() <= 1


def test_ambiguous_ranks_exact_counts_at_paper_scale():
    """V = 10,000, ε = 0.1: 500 ambiguous tokens per class, 100 in each of the 5 bins."""
    ranks = ambiguous_ranks(5000, 0.1, 5)
    per_bin = (ranks // 1000).bincount(minlength=5)
    assert per_bin.tolist() == [100] * 5


@pytest.mark.parametrize("split", ["train", "val"])
def test_ambiguous_tokens_take_the_other_role_half_the_time(split, rng):
    """In training draws an ambiguous token appears in the other class's slot with p ≈ 0.5
    (tolerance 0.02; ≈ 20,000 ambiguous draws per slot, standard error 0.0035); a non-ambiguous
    token never does."""
    task = task_of(n_vocab=200, n_holdout=20, zipf_exponent=0.0, p_ambiguous=0.2)
    batch = task.sample(split, 100_000, rng)
    vocab = task.vocab
    for ids, home in ((batch.after_copula, ADJ), (batch.other, NOUN)):  # adjective slot, noun slot
        ambiguous = task.is_ambiguous_rank[vocab.token_rank(ids)]
        moved = vocab.token_class(ids) != home
        assert ambiguous.float().mean() == pytest.approx(0.2, abs=0.01)
        assert not moved[~ambiguous].any()
        assert float(moved[ambiguous].float().mean()) == pytest.approx(0.5, abs=0.02)
        # every ambiguous rank is seen in both roles
        assert set(vocab.token_rank(ids[moved]).tolist()) == set(task.ambiguous_ranks.tolist())


@pytest.mark.parametrize("split", [s for s in SPLITS if s != "holdout"])
def test_held_out_ids_never_in_other_inputs(split, rng):
    task = task_of(p_ambiguous=0.1)
    batch = task.sample(split, 20_000, rng)
    assert (batch.inputs < task.vocab.holdout_start).all()
    assert (batch.targets < task.vocab.n_content).all()


def test_holdout_uses_only_held_out_ids_as_content(rng):
    task = task_of()
    batch = task.sample("holdout", 20_000, rng)
    content = content_tokens(task, batch.inputs)
    assert (content >= task.vocab.holdout_start).all() and (content < task.vocab.size).all()
    assert (batch.targets >= task.vocab.holdout_start).all()
    # all R held-out ids are used, in both roles
    for ids in (batch.after_copula, batch.other):
        assert set(ids.tolist()) == set(task.vocab.holdout_ids)


@pytest.mark.parametrize("split", SPLITS)
def test_template_invariants(split, rng):
    """Target 1 is the token right after the copula, targets 2–3 copy the query, the query is
    one of the two context tokens, targets are masked in the input; the four templates each
    occur with share 0.25 ± 0.015 (40,000 draws; standard error 0.0022)."""
    task = task_of(p_ambiguous=0.1)
    batch = task.sample(split, 40_000, rng)
    inputs, rows = batch.inputs, torch.arange(len(batch))
    assert inputs.shape == (len(batch), SEQ_LEN)
    assert (inputs[:, TARGETS] == task.vocab.mask).all()
    cop = copula_position(task, inputs)
    assert set(cop.unique().tolist()) == {0, 1}  # [cop, A, N] or [N, cop, A]
    assert ((inputs[:, :QUERY] == task.vocab.copula).sum(dim=1) == 1).all()
    after = inputs[rows, cop + 1]
    other = torch.where(cop == 0, inputs[:, 2], inputs[:, 0])
    query = inputs[:, QUERY]
    assert torch.equal(batch.targets[:, 0], after)
    assert torch.equal(batch.targets[:, 1], query) and torch.equal(batch.targets[:, 2], query)
    assert torch.equal(batch.swapped[:, 0], other)
    assert torch.equal(batch.swapped[:, 1:], batch.targets[:, 1:])
    # template bit 0: context [N, cop, A]; bit 1: the query is the other (noun-slot) token
    assert torch.equal(cop, batch.template & 1)
    assert torch.equal(query, torch.where((batch.template & 2).bool(), other, after))
    shares = batch.template.bincount(minlength=4).double() / len(batch)
    assert (shares - 0.25).abs().max() < 0.015


@pytest.mark.parametrize("split", ["train", "val", "tail"])
def test_normal_roles_have_an_adjective_after_the_copula(split, rng):
    task = task_of(p_ambiguous=0.0)
    batch = task.sample(split, 10_000, rng)
    vocab = task.vocab
    cop = copula_position(task, batch.inputs)
    after = batch.inputs[torch.arange(len(batch)), cop + 1]
    assert (vocab.token_class(after) == ADJ).all()
    assert (vocab.token_class(batch.other) == NOUN).all()
    # A A A after an adjective query, A N N after a noun query
    noun_query = vocab.token_class(batch.query) == NOUN
    classes = vocab.token_class(batch.targets)
    assert (classes[~noun_query] == ADJ).all()
    assert (classes[noun_query] == torch.tensor([ADJ, NOUN, NOUN])).all()


@pytest.mark.parametrize("split", ["switch", "tail_switch"])
def test_switch_sets_have_a_noun_after_the_copula(split, rng):
    task = task_of(p_ambiguous=0.1)
    batch = task.sample(split, 10_000, rng)
    vocab = task.vocab
    cop = copula_position(task, batch.inputs)
    after = batch.inputs[torch.arange(len(batch)), cop + 1]
    assert (vocab.token_class(after) == NOUN).all()
    assert (vocab.token_class(batch.other) == ADJ).all()
    assert (batch.targets[:, 0] != batch.swapped[:, 0]).all()


def test_switch_draws_seen_tokens_by_the_training_law(rng):
    """switch uses the Zipf law (head tokens dominate): at α = 1.5 rank 0 has share ≈ 0.38."""
    task = task_of(zipf_exponent=1.5, p_ambiguous=0.0)
    batch = task.sample("switch", 50_000, rng)
    ranks = task.vocab.token_rank(torch.cat([batch.after_copula, batch.other]))
    weights = torch.arange(1, 21, dtype=torch.float64).pow(-1.5)
    assert float((ranks == 0).double().mean()) == pytest.approx(
        float(weights[0] / weights.sum()), abs=0.01
    )


@pytest.mark.parametrize("split", ["tail", "tail_switch"])
def test_tail_tokens_are_the_rarest_tenth(split, rng):
    """Class size 100: tail ranks are exactly 90…99, all drawn, uniformly (each share 0.1 ± 0.01)."""
    task = task_of(n_vocab=200, n_holdout=20, zipf_exponent=1.5, p_ambiguous=0.1)
    assert task.tail_start == 90
    batch = task.sample(split, 20_000, rng)
    for ids in (batch.after_copula, batch.other):
        ranks = task.vocab.token_rank(ids)
        assert set(ranks.tolist()) == set(range(90, 100))
        shares = (ranks - 90).bincount(minlength=10).double() / len(ranks)
        assert (shares - 0.1).abs().max() < 0.01


@pytest.mark.parametrize("split", SPLITS)
def test_same_seed_same_batch_other_seed_other_batch(split):
    task = task_of(p_ambiguous=0.1)
    first, again = task.sample(split, 500, generator(7)), task.sample(split, 500, generator(7))
    for name, value in first.__dict__.items():
        assert torch.equal(value, getattr(again, name)), name
    other = task.sample(split, 500, generator(8))
    assert not torch.equal(first.inputs, other.inputs)


def test_eval_splits_are_the_five_named_sets():
    assert EVAL_SPLITS == ("val", "holdout", "switch", "tail", "tail_switch")
