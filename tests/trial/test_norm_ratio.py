"""`holdout/norm_ratio` and `holdout/spread_ratio` of a forgetting run and of its control are on one
scale: the same embedding matrix reads the same under both configs (docs/design.md §2)."""

from __future__ import annotations

import pytest
import torch

from study.controls import control_overrides
from study.metric_names import NORM_RATIO, SPREAD_RATIO
from study.presets import build_config
from study.trial.lane import Lane

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")


def test_a_run_and_its_control_read_the_same_matrix_alike(rng):
    run = build_config("tiny", sets={"forgetting.kind": "active", "forgetting.forget_every": 10})
    control = build_config("tiny", sets={**run.flat(), **control_overrides(run)})
    assert run.model.embed_init_std != control.model.embed_init_std  # 0.02 vs the reset std 1.0
    lanes = [Lane.build(cfg, CPU) for cfg in (run, control)]
    vocab, d = lanes[0].task.vocab, run.model.d_model
    weight, bias = torch.randn(vocab.size, d, generator=rng), torch.zeros(vocab.size)
    ratios = [lane.probe.diagnostics(weight, bias) for lane in lanes]
    assert ratios[0] == pytest.approx(ratios[1])
    # N(0, 1) rows read as 1 / 0.02 = 50 times the paper's init norm, for both
    assert ratios[0][NORM_RATIO] == pytest.approx(50.0, rel=0.1)


def test_spread_ratio_reads_collapsed_held_out_rows(rng):
    cfg = build_config("tiny")
    probe = Lane.build(cfg, CPU).probe
    vocab, d = probe.vocab, cfg.model.d_model
    weight, bias = torch.randn(vocab.size, d, generator=rng), torch.zeros(vocab.size)
    # rows of one law: spread alike (6 held-out rows against 40 content rows: within 40 %)
    assert probe.diagnostics(weight, bias)[SPREAD_RATIO] == pytest.approx(1.0, abs=0.4)
    weight[vocab.holdout_start :] = weight[vocab.holdout_start]  # every held-out row the same
    assert probe.diagnostics(weight, bias)[SPREAD_RATIO] == pytest.approx(0.0, abs=1e-6)
