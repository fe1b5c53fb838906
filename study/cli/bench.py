"""`dpl bench train`: steps/s, seconds per evaluation and sampling time for a config's shape."""

from __future__ import annotations

import dataclasses

import click

from study.cli.common import echo_json, usage_errors
from study.cli.options import config_options
from study.device import DEVICE_CHOICES

# The paper's released code on the project's 2-core CPU machines (issue 2), paper shape.
PAPER_CODE = {"step_s": 0.163, "eval_s": 28.0, "sample_8m_s": 45 * 60.0}


@click.group()
def bench() -> None:
    """Benchmarks (speed is measured here, never asserted in tests)."""


@bench.command("train")
@config_options("paper")
@click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--evals", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_train(preset, config_file, sets, device, steps, evals, as_json):
    """Time training steps, full evaluations and sampling 8 M sequences (default: paper shape)."""
    from study.cli.options import load_trial_config

    with usage_errors():
        cfg = load_trial_config(preset, config_file, sets)

    from study.device import configure_cpu_threads, resolve_device
    from study.trial.bench import bench as run_bench

    configure_cpu_threads(device)
    result = run_bench(cfg, resolve_device(device), steps=steps, evals=evals)
    ours = dataclasses.asdict(result)
    speedup = {k: PAPER_CODE[k] / ours[k] for k in PAPER_CODE}
    if as_json:
        echo_json({"result": ours, "paper_code_2core_cpu": PAPER_CODE, "speedup_vs_paper_code": speedup})
        return
    click.echo(f"device {result.device}, {result.threads} threads, preset {preset}")
    click.echo(f"train step     {result.step_s * 1000:8.1f} ms  ({result.steps_per_s:.1f} steps/s)   paper code 163 ms   ×{speedup['step_s']:.1f}")
    click.echo(f"evaluation     {result.eval_s:8.2f} s                       paper code 28 s     ×{speedup['eval_s']:.1f}")
    click.echo(f"sample 8M seqs {result.sample_8m_s:8.2f} s                       paper code 40-50 min ×{speedup['sample_8m_s']:.0f}")


COMMANDS = [bench]
