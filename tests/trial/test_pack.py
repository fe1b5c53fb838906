"""Packed trials (study/trial/pack.py, packed_adamw.py): a trial in a pack is the trial alone;
a reset, a divergence or a stop touches only its own trial."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import torch

from study.presets import build_config
from study.trial.lane import NonFiniteLoss
from study.trial.pack import PACK_IMPLS, TOKENS, Member, _forget, pack_key, train_pack
from study.trial.packed_adamw import PackedAdamW
from study.trial.train import Trained, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# benchmarks/gpu_check.sh runs these on CUDA: DPL_TEST_DEVICE=cuda
CPU = torch.device(os.environ.get("DPL_TEST_DEVICE", "cpu"))
SHORT = {"train.steps": 30, "eval.every": 10}
THREE = [  # different data laws, learning rates, seeds, forgetting schedules and eval set sizes
    {"task.zipf_exponent": 0.0, "train.lr": 1e-3},
    {
        "task.zipf_exponent": 1.5,
        "train.lr": 3e-3,
        "forgetting.kind": "active",
        "forgetting.forget_every": 7,
    },
    {
        "task.zipf_exponent": 1.0,
        "train.lr": 2e-3,
        "train.weight_decay": 0.1,
        "train.seed": 3,
        "forgetting.kind": "temporary",
        "forgetting.forget_every": 5,
        "forgetting.forget_until": 20,
        "forgetting.clear_optimizer": "all",
    },
]
TOLERANCE = 1e-4  # float32 rounding of batched against single matmuls, over 30 steps


def tiny(**sets):
    return build_config("tiny", sets={**SHORT, **sets})


def assert_same_curve(alone, packed):
    assert [s for s, _ in alone] == [s for s, _ in packed]
    for (step, a), (_, p) in zip(alone, packed, strict=True):
        assert a.keys() == p.keys()
        worst = max(abs(a[k] - p[k]) for k in a)
        assert worst <= TOLERANCE, f"step {step}: {worst}"


@pytest.mark.parametrize("impl", PACK_IMPLS)
def test_three_trials_in_a_pack_have_the_curves_they_have_alone(impl):
    cfgs = [tiny(**s) for s in THREE]
    packed = train_pack([Member(c) for c in cfgs], CPU, impl)
    for cfg, result in zip(cfgs, packed, strict=True):
        assert isinstance(result, Trained)
        assert_same_curve(train(cfg, CPU).curve, result.curve)
    assert packed[0].curve != packed[1].curve  # the trials did differ


def test_a_reset_touches_only_its_trial_rows_and_adam_state():
    every_3 = {
        "forgetting.kind": "active",
        "forgetting.forget_every": 3,
        "forgetting.clear_optimizer": "embeddings",
    }
    cfgs = [tiny(**every_3), tiny()]
    from study.trial.lane import Lane

    lanes = [Lane.build(c, CPU) for c in cfgs]
    params = {n: torch.randn(2, 4, 3, device=CPU) for n in (TOKENS, "head.weight")}
    optimizer = PackedAdamW(params, cfgs)
    for table in (optimizer.m, optimizer.v):
        for name in table:
            table[name].fill_(1.0)
    for name in optimizer.steps:
        optimizer.steps[name].fill_(5)
    before = {n: p.clone() for n, p in params.items()}
    _forget(3, lanes, [0, 1], SimpleNamespace(params=params, optimizer=optimizer))
    assert not torch.equal(params[TOKENS][0], before[TOKENS][0])  # re-drawn …
    assert params[TOKENS][0].std() > 0.5  # … at the reset std (1.0), not the init std
    assert torch.equal(params[TOKENS][1], before[TOKENS][1])
    assert torch.equal(params["head.weight"], before["head.weight"])
    assert optimizer.m[TOKENS][0].abs().sum() == 0 and optimizer.steps[TOKENS][0] == 0
    assert (optimizer.m[TOKENS][1] == 1).all() and optimizer.steps[TOKENS][1] == 5
    assert (optimizer.m["head.weight"] == 1).all()  # scope `embeddings`: other state kept
    assert (optimizer.v["head.weight"] == 1).all() and (optimizer.steps["head.weight"] == 5).all()


def test_a_diverging_trial_leaves_alone_and_the_others_finish_as_they_would():
    diverges = tiny(**{"train.lr": 1.0, "train.weight_decay": 1e6})
    cfgs = [tiny(**THREE[0]), diverges, tiny(**THREE[1])]
    packed = train_pack([Member(c) for c in cfgs], CPU)
    assert isinstance(packed[1], NonFiniteLoss)
    for i in (0, 2):
        assert_same_curve(train(cfgs[i], CPU).curve, packed[i].curve)


def test_a_callback_that_raises_stops_only_its_trial():
    class Stop(Exception):
        pass

    seen = []

    def stop_at_10(step, metrics):
        seen.append(step)
        if step == 10:
            raise Stop("pruned at step 10")

    cfgs = [tiny(**s) for s in THREE[:2]]
    packed = train_pack([Member(cfgs[0], on_eval=stop_at_10), Member(cfgs[1])], CPU)
    assert isinstance(packed[0], Stop) and seen == [0, 10]
    assert_same_curve(train(cfgs[1], CPU).curve, packed[1].curve)  # its own aligned schedule


def _stopping(hook: str, at: int, error: type[Exception]):
    """Three members evaluated on one schedule whose `hook` raises `error` at step `at`, each
    naming its trial."""

    def raiser(i):
        def call(step, *metrics):
            if step == at:
                raise error(f"trial {i} stopped at step {at}")

        return call

    sets = [THREE[0], THREE[2], {"train.seed": 5}]
    return [Member(tiny(**s), **{hook: raiser(i)}) for i, s in enumerate(sets)]


def test_a_pack_whose_trials_all_time_out_at_one_step_ends_each_with_its_own_error():
    class Timeout(Exception):
        pass

    packed = train_pack(_stopping("on_step", 12, Timeout), CPU)
    assert [type(e) for e in packed] == [Timeout] * 3
    assert [str(e) for e in packed] == [f"trial {i} stopped at step 12" for i in range(3)]


def test_a_pack_whose_trials_are_all_pruned_at_one_evaluation_ends_each_pruned():
    import optuna

    packed = train_pack(_stopping("on_eval", 10, optuna.TrialPruned), CPU)
    assert [type(e) for e in packed] == [optuna.TrialPruned] * 3
    assert [str(e) for e in packed] == [f"trial {i} stopped at step 10" for i in range(3)]


def test_a_pack_shares_shapes_and_length():
    assert pack_key(tiny()) == pack_key(tiny(**THREE[2]))
    assert pack_key(tiny()) != pack_key(tiny(**{"train.steps": 40}))
    assert pack_key(tiny()) != pack_key(tiny(**{"model.d_model": 32}))
    with pytest.raises(ValueError, match="share vocabulary, model"):
        train_pack([Member(tiny()), Member(tiny(**{"task.n_vocab": 60}))], CPU)
