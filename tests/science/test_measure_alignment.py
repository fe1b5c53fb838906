"""`study.science.reference.measure` reads a forgetting run where its summary does: at the last
evaluation aligned with the reset cycle, and its peak over aligned evaluations only
(`study.trial.schedule.is_aligned`). Real tiny training."""

from __future__ import annotations

import pytest

from study.metric_names import structural
from study.presets import build_config
from study.science.reference import measure
from study.trial.schedule import is_aligned

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_final_and_peak_of_a_forgetting_run_are_read_at_aligned_evaluations():
    # 60 steps, evaluation every 20, a reset every 25: evaluations at 0, 25, 50 (aligned) and 60,
    # the run's end 10 steps after the reset at 50
    cfg = build_config("tiny", sets={"forgetting.kind": "active", "forgetting.forget_every": 25})
    m = measure(cfg)
    steps = [step for step, _ in m.curve]
    assert steps == [0, 25, 50, 60] and not is_aligned(60, cfg)
    at = dict(m.curve)
    assert m.final == at[50] and m.final != at[60]
    for protocol, (value, step) in m.icl_peak.items():
        assert is_aligned(step, cfg)
        assert value == max(at[s][structural(protocol)] for s in (0, 25, 50))
