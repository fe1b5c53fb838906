"""study/trial/precision.py and study/trial/device.py's allocator tuning: what they change and what
they must not."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from study.presets import build_config
from study.trial.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CPU = torch.device("cpu")


def curve_of(precision: str):
    cfg = build_config(
        "tiny", sets={"train.steps": 20, "eval.every": 10, "train.precision": precision}
    )
    return train(cfg, CPU).curve


def test_tf32_is_fp32_on_the_cpu_and_bf16_trains_to_finite_different_metrics():
    fp32, tf32, bf16 = curve_of("fp32"), curve_of("tf32"), curve_of("bf16")
    assert tf32 == fp32  # the CPU has no TF32 units: the same numbers, bit for bit
    assert [s for s, _ in bf16] == [s for s, _ in fp32]
    assert all(math.isfinite(v) for _, m in bf16 for v in m.values())
    assert bf16[-1][1]["loss/val"] != fp32[-1][1]["loss/val"]  # bfloat16 matmuls did run
    assert torch.get_float32_matmul_precision() == "highest"  # restored after each trial


def test_the_allocator_is_tuned_on_linux_and_not_with_dpl_malloc_tune_0():
    probe = "from study.trial.device import tune_allocator; print(tune_allocator())"
    run = lambda env: subprocess.run(  # noqa: E731
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    import os

    tuned = run(dict(os.environ))
    assert tuned == ("True" if sys.platform.startswith("linux") else "False")
    assert run({**os.environ, "DPL_MALLOC_TUNE": "0"}) == "False"


@pytest.mark.slow  # a CPU compile of the tiny model takes 30–60 s
def test_a_compiled_trial_has_the_curve_of_the_uncompiled_one():
    sets = {"train.steps": 20, "eval.every": 10}
    plain = train(build_config("tiny", sets=sets), CPU).curve
    compiled = train(build_config("tiny", sets={**sets, "train.compile": True}), CPU).curve
    assert [s for s, _ in compiled] == [s for s, _ in plain]
    for (_, a), (_, b) in zip(plain, compiled, strict=True):
        assert max(abs(a[k] - b[k]) for k in a) <= 1e-4
