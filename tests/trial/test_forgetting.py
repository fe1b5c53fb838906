"""Forgetting (study/trial/forgetting.py): the schedule, what a reset changes, the Adam state it clears,
and where it sits in the training loop (after the evaluation of a coinciding step)."""

from __future__ import annotations

import pytest
import torch

from study.config import ForgettingConfig, TrialConfig
from study.presets import build_config
from study.trial.draws import Draws
from study.trial.forgetting import cleared_state, forget, should_forget
from study.trial.lane import Lane
from study.trial.model import build_model
from study.trial.seeds import generator, trial_seeds
from study.trial.tasks import Task
from study.trial.train import make_optimizer, train, train_step

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
K = 3


def config(*sets: str):
    """tiny, forgetting every K = 3 steps, evaluation only at the start and end unless set."""
    return build_config("tiny", sets=[f"forgetting.forget_every={K}", "eval.every=1000", *sets])


def hand_loop(cfg, observe=None):
    """train()'s loop written out (same seeds, same order: step, [evaluate], forget), calling
    `observe(step, before, before_adam, model, optimizer)` with the parameters and Adam state as
    the optimiser step left them (before any reset)."""
    seeds = trial_seeds(cfg.train.seed)
    task = Task(cfg.task)
    model = build_model(cfg.model, task.vocab.size, generator(seeds["init"]), CPU)
    optimizer = make_optimizer(model, cfg)
    draws, forget_rng = Draws([Lane.build(cfg, CPU)]), generator(seeds["forgetting"])
    for step in range(1, cfg.train.steps + 1):
        train_step(model, optimizer, *draws.alone(step))
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        before_adam = adam_state(model, optimizer)
        if should_forget(step, cfg.forgetting):
            forget(model, optimizer, cfg.forgetting, cfg.reset_std, forget_rng)
        if observe:
            observe(step, before, before_adam, model, optimizer)
    return model


def adam_state(model, optimizer) -> dict[str, dict]:
    names = {p: n for n, p in model.named_parameters()}
    return {
        names[p]: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
        for p, s in optimizer.state.items()
    }


def test_should_forget_schedule():
    none = ForgettingConfig(kind="none", forget_every=3)
    active = ForgettingConfig(kind="active", forget_every=3)
    temporary = ForgettingConfig(kind="temporary", forget_every=3, forget_until=9)
    steps = range(1, 16)
    assert [s for s in steps if should_forget(s, none)] == []
    assert [s for s in steps if should_forget(s, active)] == [3, 6, 9, 12, 15]
    # step == N: plain training has begun, no reset
    assert [s for s in steps if should_forget(s, temporary)] == [3, 6]
    until_10 = ForgettingConfig(kind="temporary", forget_every=3, forget_until=10)
    assert [s for s in steps if should_forget(s, until_10)] == [3, 6, 9]
    assert [
        s for s in range(1, 20) if should_forget(s, ForgettingConfig(kind="active", forget_every=1))
    ] == list(range(1, 20))


@pytest.mark.parametrize(
    ("kind", "clear", "expected"),
    [
        ("active", "embeddings", "embeddings"),
        ("active", "all", "all"),
        ("active", "none", "none"),
        ("active", "paper", "none"),
        ("temporary", "paper", "all"),
        ("temporary", "embeddings", "embeddings"),
    ],
)
def test_cleared_state_table(kind, clear, expected):
    cfg = ForgettingConfig(kind=kind, forget_every=3, forget_until=10, clear_optimizer=clear)
    assert cleared_state(cfg) == expected


def test_hand_loop_is_the_training_loop():
    """The hand-written loop reproduces train() bit for bit, so what it observes is the loop's."""
    cfg = config("forgetting.kind=active", "forgetting.clear_optimizer=embeddings", "train.steps=8")
    trained = train(cfg, CPU).model.state_dict()
    by_hand = hand_loop(cfg).state_dict()
    for name, value in trained.items():
        assert torch.equal(value, by_hand[name]), name


@pytest.mark.parametrize(
    ("sets", "resets"),
    [
        (["forgetting.kind=active"], [3, 6, 9, 12]),
        (["forgetting.kind=temporary", "forgetting.forget_until=10"], [3, 6, 9]),
        (["forgetting.kind=temporary", "forgetting.forget_until=9"], [3, 6]),
        (["forgetting.kind=none"], []),
    ],
)
def test_only_the_token_embeddings_change_and_only_at_reset_steps(sets, resets):
    """Beyond the optimiser step, a reset re-draws every row of tok_emb (held-out rows included)
    and nothing else; at other steps nothing changes."""
    cfg = config(*sets, "train.steps=13")
    seen: dict[int, list[str]] = {}

    def observe(step, before, before_adam, model, optimizer):
        changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
        if changed:
            seen[step] = changed
            rows_changed = (model.tok_emb.weight != before["tok_emb.weight"]).any(dim=1)
            assert rows_changed.all(), step

    hand_loop(cfg, observe)
    assert seen == {step: ["tok_emb.weight"] for step in resets}


@pytest.mark.parametrize("reset_std", [0.02, 1.0])
def test_reset_rows_are_a_fresh_init_draw(reset_std):
    """After a reset tok_emb has mean ≈ 0 and std = reset_std ± 15 % (768 values; standard error
    ≈ 3 %), and no correlation with the rows it replaced (|r| < 0.15)."""
    cfg = config("forgetting.kind=active", f"forgetting.reset_std={reset_std}", "train.steps=3")
    captured = {}

    def observe(step, before, before_adam, model, optimizer):
        if step == K:
            captured["before"], captured["after"] = (
                before["tok_emb.weight"],
                model.tok_emb.weight.detach().clone(),
            )

    hand_loop(cfg, observe)
    after = captured["after"]
    assert float(after.std()) == pytest.approx(reset_std, rel=0.15)
    assert abs(float(after.mean())) < 0.15 * reset_std
    r = torch.corrcoef(torch.stack([after.flatten(), captured["before"].flatten()]))[0, 1]
    assert abs(float(r)) < 0.15


def test_reset_std_defaults_to_the_embedding_init_std():
    cfg = TrialConfig(model={"embed_init_std": 0.3})
    assert cfg.forgetting.reset_std is None and cfg.reset_std == 0.3
    assert build_config("tiny").reset_std == 1.0  # the paper's N(0, 1)


@pytest.mark.parametrize(
    ("kind", "clear", "scope"),
    [
        ("active", "embeddings", "embeddings"),
        ("active", "all", "all"),
        ("active", "none", "none"),
        ("active", "paper", "none"),
        ("temporary", "paper", "all"),
    ],
)
def test_reset_clears_the_named_adam_state(kind, clear, scope):
    """At the reset after step 3: `embeddings` drops tok_emb's moments and step (its next update
    is bias-corrected as step 1), `all` drops everyone's, `none` keeps all state as it was."""
    cfg = config(
        f"forgetting.kind={kind}",
        "forgetting.forget_until=100",
        f"forgetting.clear_optimizer={clear}",
        "train.steps=4",
    )
    states: dict[int, tuple[dict, dict]] = {}  # step → (Adam state before the reset, after it)

    def observe(step, before, before_adam, model, optimizer):
        states[step] = before_adam, adam_state(model, optimizer)

    model = hand_loop(cfg, observe)
    (pre_reset, after_reset), next_step = states[K], states[K + 1][1]
    names = {n for n, _ in model.named_parameters()}
    assert set(pre_reset) == names
    kept = {"embeddings": names - {"tok_emb.weight"}, "all": set(), "none": names}[scope]
    assert set(after_reset) == kept
    for name in kept:
        assert int(after_reset[name]["step"]) == K
        assert torch.equal(after_reset[name]["exp_avg"], pre_reset[name]["exp_avg"]), name
        assert torch.equal(after_reset[name]["exp_avg_sq"], pre_reset[name]["exp_avg_sq"]), name
    # the next optimiser step restarts the cleared state at step 1
    for name in names:
        assert int(next_step[name]["step"]) == (K + 1 if name in kept else 1), name


def test_reset_leaves_the_body_and_output_bias_alone_in_the_real_loop():
    """Twin trials on identical batches, with and without forgetting: after 2 steps they agree
    exactly; after 3 steps (reset at step 3, after the optimiser step) only tok_emb differs."""
    for steps, differ in ((2, set()), (3, {"tok_emb.weight"})):
        forgetting = train(config("forgetting.kind=active", f"train.steps={steps}"), CPU).model
        plain = train(config("forgetting.kind=none", f"train.steps={steps}"), CPU).model
        params = dict(plain.named_parameters())
        changed = {n for n, p in forgetting.named_parameters() if not torch.equal(p, params[n])}
        assert changed == differ, steps


def norm_ratios(*sets: str) -> dict[int, float]:
    """holdout/norm_ratio (trained content-row norm / init norm) at every step of the real loop
    (mid-cycle steps included: the schedule's alignment with resets is off here)."""
    seen: dict[int, float] = {}
    train(
        config("eval.every=1", "eval.align_to_forgetting=false", *sets),
        CPU,
        on_eval=lambda s, m: seen.__setitem__(s, m["holdout/norm_ratio"]),
    )
    return seen


def test_evaluation_sees_the_embedding_before_the_reset():
    """With init std 0.02 and the paper's N(0, 1) reset, the content norm ratio is ≈ 1 before the
    first reset and ≈ 50 after it. The evaluation at step 3 — a reset step — still sees ≈ 1."""
    ratios = norm_ratios("forgetting.kind=active", "train.steps=6")
    assert sorted(ratios) == list(range(7))
    assert all(ratios[s] < 3 for s in range(K + 1)), ratios
    assert all(ratios[s] > 20 for s in range(K + 1, 7)), ratios


@pytest.mark.parametrize(("until", "reset"), [(3, False), (4, True)])
def test_temporary_forgetting_stops_at_n_in_the_real_loop(until, reset):
    """N = 3: the step-3 reset is not done (step == N); N = 4: it is."""
    ratios = norm_ratios(
        "forgetting.kind=temporary", f"forgetting.forget_until={until}", "train.steps=5"
    )
    assert (ratios[5] > 20) is reset, ratios
    assert ratios[K] < 3
