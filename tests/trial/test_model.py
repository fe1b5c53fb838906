"""The masked-LM encoder (study/trial/model.py): shapes, the tied decoder, the init law, causality."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from study.config import ModelConfig
from study.trial.counter_rng import keys
from study.trial.model import (
    MaskedLM,
    SelfAttention,
    build_model,
    draw_noise,
    draw_token_embeddings,
    init_weights,
)
from study.trial.seeds import generator
from study.trial.tasks import SEQ_LEN, TARGETS, Task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VOCAB = 50  # ids 0…39 serve as inputs; 42…49 never do, like held-out ids


def small_model(rng, **overrides) -> MaskedLM:
    cfg = ModelConfig(**{"n_layers": 2, "d_model": 16, "d_ff": 32, "n_heads": 2, **overrides})
    return build_model(cfg, VOCAB, rng, torch.device("cpu")).eval()


def test_logits_at_the_three_targets(tiny_cfg, rng):
    task = Task(tiny_cfg.task)
    model = build_model(tiny_cfg.model, task.vocab.size, rng, torch.device("cpu"))
    batch = task.sample("train", 5, rng)
    assert model(batch.inputs).shape == (5, 3, task.vocab.size)


def test_decoder_is_tied_to_the_token_embeddings(rng):
    """No separate decoder matrix; writing a token's embedding row changes its output logit
    exactly as `h · row + bias`, and only that logit."""
    model = small_model(rng)
    assert not [
        n
        for n, p in model.named_parameters()
        if p.shape == model.tok_emb.weight.shape and n != "tok_emb.weight"
    ]
    inputs = torch.randint(0, 40, (4, SEQ_LEN), generator=rng)
    token = 45  # a held-out id: not an input, so only the output side sees its row
    before = model(inputs)
    with torch.no_grad():
        model.tok_emb.weight[token] = 0.0
        model.out_bias[token] = 7.0
    zeroed = model(inputs)
    assert torch.equal(zeroed[..., token], torch.full_like(zeroed[..., token], 7.0))
    others = [i for i in range(VOCAB) if i != token]
    assert torch.equal(zeroed[..., others], before[..., others])
    # the logit is linear in the row: h · v, then h · 2v
    row = torch.randn(model.cfg.d_model, generator=rng)
    with torch.no_grad():
        model.tok_emb.weight[token] = row
    once = model(inputs)[..., token] - 7.0
    with torch.no_grad():
        model.tok_emb.weight[token] = 2 * row
    twice = model(inputs)[..., token] - 7.0
    assert once.abs().min() > 1e-3
    torch.testing.assert_close(twice, 2 * once)


def test_held_out_rows_get_gradient_only_as_softmax_negatives(rng):
    model = small_model(rng).train()
    inputs = torch.randint(0, 40, (8, SEQ_LEN), generator=rng)
    loss = F.cross_entropy(model(inputs).flatten(0, 1), torch.randint(0, 40, (24,), generator=rng))
    loss.backward()
    grad = model.tok_emb.weight.grad
    assert grad[42:].abs().sum(dim=1).min() > 0  # every held-out row is a trained negative


def test_init_law(rng):
    """Linear weights and positions N(0, init_std), token embeddings N(0, embed_init_std), zero
    biases, unit LayerNorms. Std tolerance ±10 % on ≥ 8,000 values (standard error < 1 %),
    ±20 % for the 7 × 64 position table."""
    cfg = ModelConfig(n_layers=2, d_model=64, d_ff=128, init_std=0.05, embed_init_std=0.7)
    model = MaskedLM(cfg, 1000).requires_grad_(False)
    init_weights(model, rng)
    linear = torch.cat(
        [m.weight.detach().flatten() for m in model.modules() if isinstance(m, nn.Linear)]
    )
    assert float(linear.std()) == pytest.approx(0.05, rel=0.1)
    assert float(linear.mean()) == pytest.approx(0.0, abs=0.005)
    assert float(model.tok_emb.weight.std()) == pytest.approx(0.7, rel=0.1)
    assert float(model.tok_emb.weight.mean()) == pytest.approx(0.0, abs=0.05)
    assert float(model.pos_emb.weight.std()) == pytest.approx(0.05, rel=0.2)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            assert (module.bias == 0).all()
        elif isinstance(module, nn.LayerNorm):
            assert (module.weight == 1).all() and (module.bias == 0).all()
    assert (model.out_bias == 0).all()


def test_init_is_a_function_of_the_generator():
    cfg = ModelConfig(n_layers=1, d_model=16, d_ff=32)
    a, b, c = (build_model(cfg, VOCAB, generator(s), torch.device("cpu")) for s in (3, 3, 4))
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.tok_emb.weight, c.tok_emb.weight)


def test_draw_token_embeddings_touches_only_the_token_matrix(rng):
    model = small_model(rng)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    draw_token_embeddings(model, 1.0, rng)
    for name, param in model.named_parameters():
        assert torch.equal(param, before[name]) == (name != "tok_emb.weight"), name
    assert float(model.tok_emb.weight.detach().std()) == pytest.approx(1.0, rel=0.15)


@pytest.mark.parametrize("position", [4, 5, 6])
def test_causal_model_never_looks_ahead(position, rng):
    """Changing input `position` leaves the logits at earlier target positions unchanged and
    changes the one at `position`; the bidirectional model changes all of them."""
    causal, bidirectional = small_model(rng, causal=True), small_model(rng, causal=False)
    inputs = torch.randint(0, 40, (6, SEQ_LEN), generator=rng)
    changed = inputs.clone()
    changed[:, position] = (inputs[:, position] + 1) % 40
    target_index = position - TARGETS.start
    out, out_changed = causal(inputs), causal(changed)
    torch.testing.assert_close(
        out[:, :target_index], out_changed[:, :target_index], rtol=0, atol=1e-6
    )
    assert (out[:, target_index] - out_changed[:, target_index]).abs().max() > 1e-4
    full, full_changed = bidirectional(inputs), bidirectional(changed)
    assert (full[:, 0] - full_changed[:, 0]).abs().max() > 1e-4


def test_causal_attention_directly(rng):
    """Attention output at position i depends only on positions ≤ i when causal."""
    attn = SelfAttention(ModelConfig(d_model=16, n_heads=2, causal=True, attn_dropout=0.0)).eval()
    with torch.no_grad():
        for param in attn.parameters():
            param.normal_(0.0, 0.3, generator=rng)
    x = torch.randn(3, SEQ_LEN, 16, generator=rng)
    for t in range(1, SEQ_LEN):
        y = x.clone()
        y[:, t:] = torch.randn(3, SEQ_LEN - t, 16, generator=rng)
        out_x, out_y = attn(x), attn(y)
        torch.testing.assert_close(out_x[:, :t], out_y[:, :t], rtol=0, atol=1e-6)
        assert (out_x[:, t] - out_y[:, t]).abs().max() > 1e-4


@pytest.mark.parametrize("causal", [False, True])
def test_attention_is_scaled_dot_product_attention(causal, rng):
    """The hand-written attention (explicit dropout masks need the probabilities) is SDPA's."""
    attn = SelfAttention(ModelConfig(d_model=16, n_heads=2, causal=causal))
    x = torch.randn(4, SEQ_LEN, 16, generator=rng)
    q, k, v = attn.qkv(x).view(4, SEQ_LEN, 3, 2, 8).permute(2, 0, 3, 1, 4)
    heads = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # [4, 2, SEQ_LEN, 8]
    want = attn.out(heads.transpose(1, 2).reshape(4, SEQ_LEN, 16))
    torch.testing.assert_close(attn(x), want, rtol=1e-5, atol=1e-6)


def test_dropout_masks_come_from_the_trials_stream_in_a_fixed_layout():
    cfg = ModelConfig(n_layers=2, d_model=16, n_heads=2, dropout=0.1, attn_dropout=0.2)
    key = keys([7], torch.device("cpu"))
    noise = draw_noise(cfg, 500, key, 1)
    block = [(1, 500, 2, SEQ_LEN, SEQ_LEN), (1, 500, SEQ_LEN, 16), (1, 500, SEQ_LEN, 16)]
    assert [tuple(m.shape) for m in noise] == [(1, 500, SEQ_LEN, 16)] + block * 2
    emb, attn = noise[0], noise[1]
    assert emb.unique().tolist() == pytest.approx([0.0, 65536 / round(0.9 * 65536)])  # mean 1
    assert (emb == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert (attn == 0).float().mean().item() == pytest.approx(0.2, abs=0.01)
    again = draw_noise(cfg, 500, key, 1)
    assert all(torch.equal(a, b) for a, b in zip(noise, again, strict=True))
    assert not torch.equal(noise[0], draw_noise(cfg, 500, key, 2)[0])  # another step: other masks
    # a trial drawn beside another draws its own masks, the same as alone
    both = draw_noise(cfg, 500, keys([3, 7], torch.device("cpu")), 1)
    assert all(torch.equal(a[0], b[1]) for a, b in zip(noise, both, strict=True))
    no_dropout = cfg.model_copy(update={"dropout": 0.0, "attn_dropout": 0.0})
    assert draw_noise(no_dropout, 5, key, 1) is None


def test_noise_is_the_only_dropout(rng):
    cfg = ModelConfig(n_layers=2, d_model=16, d_ff=32, n_heads=2, dropout=0.1)
    model = build_model(cfg, VOCAB, rng, torch.device("cpu"))
    inputs = torch.randint(0, 40, (6, SEQ_LEN), generator=rng)
    assert torch.equal(model(inputs), model(inputs))  # no masks: deterministic, train mode or not
    noise = draw_noise(cfg, 6, keys([1], torch.device("cpu")), 1)
    noisy = model(inputs, tuple(m[0] for m in noise))
    assert (noisy - model(inputs)).abs().max() > 1e-3
