"""Held-out protocols (study/trial/holdout.py): what sits in the held-out rows during a holdout
evaluation, that the trained rows come back exactly, and the diagnostics."""

from __future__ import annotations

import pytest
import torch

from study.config import PROTOCOLS, ModelConfig, TaskConfig
from study.trial.holdout import HoldoutProbe, holdout_rows
from study.trial.model import build_model
from study.trial.seeds import generator
from study.trial.tasks import Vocab

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VOCAB = Vocab.of(TaskConfig(n_vocab=40, n_holdout=6))
D = 16


@pytest.fixture
def model(rng):
    """A model whose rows and output bias look trained: content rows at ~5× the init norm,
    a non-zero bias everywhere."""
    m = build_model(
        ModelConfig(n_layers=1, d_model=D, d_ff=32), VOCAB.size, rng, torch.device("cpu")
    )
    with torch.no_grad():
        m.tok_emb.weight[: VOCAB.n_content] *= 5.0
        m.out_bias.normal_(0.0, 1.0, generator=rng)
    return m


@pytest.fixture
def probe() -> HoldoutProbe:
    return HoldoutProbe(VOCAB, D, 0.02, generator(99))


def snapshot(model):
    return model.tok_emb.weight.detach().clone(), model.out_bias.detach().clone()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_trained_rows_are_restored_exactly(model, probe, protocol):
    weight, bias = snapshot(model)
    with holdout_rows(model, probe, protocol):
        inside_weight, inside_bias = snapshot(model)
        # only the held-out rows may differ, never the content, copula or mask rows
        assert torch.equal(inside_weight[: VOCAB.holdout_start], weight[: VOCAB.holdout_start])
        assert torch.equal(inside_bias[: VOCAB.holdout_start], bias[: VOCAB.holdout_start])
        assert torch.equal(inside_weight, weight) == (protocol == "paper")
    after_weight, after_bias = snapshot(model)
    assert torch.equal(after_weight, weight) and torch.equal(after_bias, bias)


@pytest.mark.parametrize("protocol", ["init", "matched"])
def test_trained_rows_are_restored_when_evaluation_fails(model, probe, protocol):
    weight, bias = snapshot(model)
    with pytest.raises(RuntimeError, match="boom"), holdout_rows(model, probe, protocol):
        raise RuntimeError("boom")
    assert torch.equal(model.tok_emb.weight, weight) and torch.equal(model.out_bias, bias)


def test_init_writes_the_fixed_draw_and_zero_bias(model, probe):
    rows = list(VOCAB.holdout_ids)
    for _ in range(2):  # the same draw at every evaluation
        with holdout_rows(model, probe, "init"):
            assert torch.equal(model.tok_emb.weight[rows], probe.draw)
            assert torch.equal(model.out_bias[rows], torch.zeros(len(rows)))


def test_init_rows_follow_the_law_of_the_last_embedding_draw(model, probe):
    """After a reset at N(0, 1), `init` writes the same directions at std 1, not at the init
    std 0.02: a forgetting run and its control (drawn once at 1.0) are probed alike."""
    rows = list(VOCAB.holdout_ids)
    probe.embeddings_redrawn(1.0)
    with holdout_rows(model, probe, "init"):
        assert torch.allclose(model.tok_emb.weight[rows], probe.draw * 50.0)
    control = HoldoutProbe(VOCAB, D, 1.0, generator(99))  # the control's probe: init std 1.0
    with holdout_rows(model, control, "init"):
        assert torch.allclose(model.tok_emb.weight[rows], probe.draw * 50.0)
    probe.embeddings_redrawn(0.02)
    with holdout_rows(model, probe, "init"):
        assert torch.equal(model.tok_emb.weight[rows], probe.draw)


def test_probe_draw_is_fixed_by_its_generator_and_follows_the_init_law():
    """Same seed, same draw; std = init_std ± 10 % on a 1,000 × 64 draw."""
    vocab = Vocab.of(TaskConfig(n_vocab=10_000))
    a, b = (HoldoutProbe(vocab, 64, 0.02, generator(3)) for _ in range(2))
    assert a.draw.shape == (1000, 64)
    assert torch.equal(a.draw, b.draw)
    assert float(a.draw.std()) == pytest.approx(0.02, rel=0.1)
    assert not torch.equal(a.draw, HoldoutProbe(vocab, 64, 0.02, generator(4)).draw)


def test_matched_rows_have_the_content_norm_and_bias(model, probe):
    rows = list(VOCAB.holdout_ids)
    content_norm = model.tok_emb.weight[: VOCAB.n_content].norm(dim=1).mean()
    content_bias = model.out_bias[: VOCAB.n_content].mean()
    assert content_norm > 3 * 0.02 * D**0.5  # far from the init norm, so rescaling shows
    with holdout_rows(model, probe, "matched"):
        written = model.tok_emb.weight[rows]
        torch.testing.assert_close(written.norm(dim=1), content_norm.expand(len(rows)))
        # the same fixed directions as `init`
        cosine = torch.nn.functional.cosine_similarity(written, probe.draw, dim=1)
        torch.testing.assert_close(cosine, torch.ones(len(rows)))
        torch.testing.assert_close(model.out_bias[rows], content_bias.expand(len(rows)))


def test_diagnostics_on_a_hand_set_model(model, probe):
    """Content rows of norm 0.4 against the init norm 0.02·√16 = 0.08 → ratio 5; held-out bias
    −1.5 against content bias 0.5 → gap −2. Copula and mask rows do not count."""
    with torch.no_grad():
        model.tok_emb.weight[: VOCAB.n_content] = 0.1  # norm √16 · 0.1 = 0.4
        model.tok_emb.weight[VOCAB.copula] = 100.0
        model.out_bias[: VOCAB.n_content] = 0.5
        model.out_bias[VOCAB.copula] = 50.0
        model.out_bias[VOCAB.mask] = -50.0
        model.out_bias[VOCAB.holdout_start :] = -1.5
    with torch.no_grad():  # as the Evaluator calls it
        diag = probe.diagnostics(model.tok_emb.weight, model.out_bias)
    assert diag["holdout/norm_ratio"] == pytest.approx(5.0, rel=1e-5)
    assert diag["holdout/bias_gap"] == pytest.approx(-2.0, rel=1e-6)
