"""A pack's draws (study/trial/draws.py, task_law.py): every trial's batch and dropout masks at a
step, drawn together, are bit for bit what the trial draws alone — under either ambiguity law,
mixed in one pack — and follow the trial's own law."""

from __future__ import annotations

import pytest
import torch

from study.presets import build_config
from study.trial.draws import Draws
from study.trial.lane import Lane
from study.trial.pack import Member, train_pack
from study.trial.train import train
from tests.trial.test_pack import assert_same_curve

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
MIXED = [  # both laws, different ε, α and seeds, in one pack
    {"task.ambiguity": "paper", "task.zipf_exponent": 1.5, "task.p_ambiguous": 0.3},
    {"task.ambiguity": "twin", "task.zipf_exponent": 0.5, "train.seed": 2},
    {"task.ambiguity": "paper", "task.zipf_exponent": 0.0, "train.seed": 7},
]


def tiny(**sets):
    return build_config("tiny", sets={"train.steps": 20, "eval.every": 10, **sets})


def test_a_trial_draws_the_same_batch_and_masks_in_a_pack_as_alone():
    lanes = [Lane.build(tiny(**s), CPU) for s in MIXED]
    packed = Draws(lanes)
    for step in (1, 2, 1000):
        together = packed(step)
        for row, lane in enumerate(lanes):
            alone = Draws([lane])(step)
            assert torch.equal(together[0][row], alone[0][0])  # inputs
            assert torch.equal(together[1][row], alone[1][0])  # targets
            assert all(
                torch.equal(a[row], b[0]) for a, b in zip(together[2], alone[2], strict=True)
            )
    assert not torch.equal(packed(1)[0], packed(2)[0])  # a fresh batch every step


def test_a_pack_draws_each_trials_own_law():
    lanes = [Lane.build(tiny(**s), CPU) for s in MIXED]
    draws = Draws(lanes)
    targets = torch.cat([draws(step)[1] for step in range(1, 11)], dim=1)  # 320 sequences each
    size = lanes[0].task.vocab.class_size
    for row, lane in enumerate(lanes):
        task = lane.task
        # target 1 is the adjective slot (after the copula); a noun there is a swapped adjective,
        # drawn as its law has it
        after_copula = targets[row, :, 0]
        swapped = after_copula[after_copula < size]
        assert len(swapped) and (after_copula < task.vocab.n_content).all()
        if task.cfg.ambiguity == "paper":
            assert torch.isin(swapped, task.paper_ambiguous[0]).all()
        else:
            assert task.is_ambiguous_rank[swapped].all()


def test_trials_of_both_laws_in_one_pack_have_the_curves_they_have_alone():
    cfgs = [tiny(**s) for s in MIXED]
    packed = train_pack([Member(c) for c in cfgs], CPU)
    for cfg, result in zip(cfgs, packed, strict=True):
        assert_same_curve(train(cfg, CPU).curve, result.curve)
