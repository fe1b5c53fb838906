"""`dpl bench train`: steps/s, seconds per evaluation and sampling time for a config's shape."""

from __future__ import annotations

import dataclasses

import click

from study.cli.common import echo_json, usage_errors
from study.cli.options import config_options
from study.device import DEVICE_CHOICES


@click.group()
def bench() -> None:
    """Benchmarks (speed is measured here, never asserted in tests)."""


@bench.command("train")
@config_options("paper", precision=True)
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
    if as_json:
        echo_json({"result": dataclasses.asdict(result), "preset": preset})
        return
    tuned = "tuned" if result.allocator_tuned else "not tuned"
    click.echo(
        f"device {result.device}, {result.threads} threads, preset {preset}, "
        f"precision {result.precision}, allocator {tuned}"
    )
    click.echo(f"train step     {result.step_s * 1000:8.1f} ms  ({result.steps_per_s:.1f} steps/s)")
    click.echo(f"evaluation     {result.eval_s:8.2f} s")
    click.echo(f"sample 8M seqs {result.sample_8m_s:8.2f} s")


COMMANDS = [bench]
