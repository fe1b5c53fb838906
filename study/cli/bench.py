"""`dpl bench train`: one trial's steps/s, evaluation and sampling time; trial-steps/s by pack
size; and the paper sweeps' wall time projected from those measurements.

A study's wall time is projected from the measured pieces — the step time of a pack at each
size and the time of one evaluation — for one worker on one device, sampling inside the step:

    seconds = ⌈trials / K⌉ · steps · step_s(K) + trials · evaluations · eval_s

at the pack size K with the most trial-steps per second that the study can fill. Evaluation is
per trial inside a pack, so it does not shrink with K.
"""

from __future__ import annotations

import dataclasses
import glob
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from study.cli.common import echo_json, usage_errors
from study.cli.options import config_options
from study.errors import ConfigError
from study.trial.device import DEVICE_CHOICES

if TYPE_CHECKING:
    from study.config import TrialConfig
    from study.sweep.spec import SweepSpec
    from study.trial.bench import BenchResult, PackPoint

PAPER_SPECS = "sweeps/paper/*.yaml"


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(v) for v in text.split(",")})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        raise click.BadParameter(f"{text!r}: expected positive pack sizes such as 1,4,16")
    return sizes


@click.group()
def bench() -> None:
    """Benchmarks (speed is measured here, never asserted in tests)."""


@bench.command("train")
@config_options("paper", precision=True)
@click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--evals", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--packs",
    default="1,4,16,64",
    show_default=True,
    help="Pack sizes to time and count; 1 alone skips the pack table.",
)
@click.option("--pack-steps", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--pack-impl",
    type=click.Choice(["vmap", "bmm", "both"]),
    default="bmm",
    show_default=True,
    help="How a pack computes its models: the hand-stacked bmm model (what sweeps train with), "
    "vmap over the module, or both.",
)
@click.option(
    "--project",
    "specs",
    multiple=True,
    metavar="SPEC",
    help=f"Sweep specs to project [default: {PAPER_SPECS}, where present].",
)
@click.option("--json", "as_json", is_flag=True)
def bench_train(
    preset: str,
    config_file: str | None,
    sets: tuple[str, ...],
    device: str,
    steps: int,
    evals: int,
    packs: str,
    pack_steps: int,
    pack_impl: str,
    specs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Time training steps, full evaluations and sampling 8 M sequences (default: paper shape),
    then packs of several trials, and project the paper sweeps' wall time on this device."""
    from study.cli.options import load_trial_config

    with usage_errors():
        cfg = load_trial_config(preset, config_file, sets)
        if cfg.task.kind != "pos":  # its step, evaluation and packs are the POS task's
            raise ConfigError("task.kind", cfg.task.kind, "pos: dpl bench measures the POS task")
        sizes = _sizes(packs)
        from study.sweep.spec import load_spec

        loaded = [load_spec(p) for p in (specs or sorted(glob.glob(PAPER_SPECS)))]

    from study.trial.bench import bench as run_bench
    from study.trial.bench import bench_packs
    from study.trial.device import configure_cpu_threads, resolve_device

    configure_cpu_threads(device)
    dev = resolve_device(device)
    result = run_bench(cfg, dev, steps=steps, evals=evals)
    impls = ("vmap", "bmm") if pack_impl == "both" else (pack_impl,)
    if not as_json:
        _echo_result(result, preset)
    points: list[PackPoint] = []
    base: float | None = None
    for p in bench_packs(cfg, dev, sizes, pack_steps, impls) if len(sizes) > 1 else ():
        base = base or (p.trial_steps_per_s if p.pack == 1 else None)  # the first impl's
        points.append(p)
        if not as_json:  # each row as it is measured: a timeout keeps the rows before it
            if len(points) == 1:
                click.echo(PACK_HEADER)
            click.echo(_pack_row(p, base, result.steps_per_s))
    fastest: dict[int, float] = {}  # pack size → the faster implementation's step time
    for p in points:
        fastest[p.pack] = min(fastest.get(p.pack, p.step_s), p.step_s)
    step_s = fastest or {1: result.step_s}
    projections = [project(s, step_s, result.eval_s, cfg) for s in loaded]
    if as_json:
        echo_json(
            {
                "preset": preset,
                "result": dataclasses.asdict(result) | {"sequences_per_s": result.sequences_per_s},
                "packs": [
                    dataclasses.asdict(p)
                    | {
                        "vs_pack_1": p.trial_steps_per_s / base if base else None,
                        "vs_alone": p.trial_steps_per_s / result.steps_per_s,
                    }
                    for p in points
                ],
                "projections": [dataclasses.asdict(p) for p in projections],
            }
        )
        return
    for proj in projections:
        if proj.seconds is None:
            click.echo(f"{proj.study}: {proj.trials} trials — {proj.note}, not projected")
        else:
            click.echo(
                f"{proj.study}: {proj.trials} trials × {proj.steps:,} steps, {proj.evaluations} "
                f"evaluations each, in packs of {proj.pack}: {proj.seconds / 3600:.2f} h projected "
                "on this device"
            )


PACK_HEADER = (
    "pack  impl  step (ms)  trial-steps/s  vs pack 1  vs alone  eval/trial (s)  peak memory (MB)"
    "  ops/step  syncs/step  ops/eval  syncs/eval/trial"
)


def _echo_result(result: BenchResult, preset: str) -> None:
    tuned = "tuned" if result.allocator_tuned else "not tuned"
    click.echo(
        f"device {result.device}, {result.threads} threads, preset {preset}, "
        f"precision {result.precision}, allocator {tuned}"
    )
    click.echo(f"train step     {result.step_s * 1000:8.1f} ms  ({result.steps_per_s:.1f} steps/s)")
    click.echo(f"evaluation     {result.eval_s:8.2f} s")
    click.echo(
        f"sample 8M seqs {result.sample_8m_s:8.2f} s  ({result.sequences_per_s / 1e6:.1f} M sequences/s)"
    )


def _pack_row(p: PackPoint, base: float | None, alone_steps_per_s: float) -> str:
    ratio = p.trial_steps_per_s / base if base else float("nan")
    return (
        f"{p.pack:>4}  {p.impl:>4}  {p.step_s * 1000:9.1f}  {p.trial_steps_per_s:13.1f}  "
        f"{ratio:8.2f}×  {p.trial_steps_per_s / alone_steps_per_s:7.2f}×  "
        f"{p.eval_s_per_trial:14.2f}  {p.peak_memory_mb:16.0f}  {p.step_ops:8d}  "
        f"{p.step_syncs:10d}  {p.eval_ops:8d}  {p.eval_syncs / p.pack:16.1f}"
    )


COMMANDS = [bench]


@dataclass(frozen=True)
class Projection:
    study: str
    trials: int
    steps: int
    evaluations: int  # per trial
    pack: int
    seconds: float | None  # None when the study's trials are not the benched shape
    note: str = ""


def project(
    spec: SweepSpec,
    step_s: Mapping[int, float],
    eval_s: float,
    benched: TrialConfig,
) -> Projection:
    """Project `spec` from pack step times {K: seconds} and the evaluation time measured on the
    config `benched`, at its precision; a study of another shape is not projected."""
    from study.sweep.points import first_config
    from study.trial.pack import pack_key
    from study.trial.schedule import eval_steps

    first = first_config(spec)
    if first is None:
        return Projection(spec.name, spec.budget, 0, 0, 0, None, "its first point does not build")
    train = first.train.model_copy(update={"precision": benched.train.precision})
    cfg = first.model_copy(update={"train": train})
    benched_key = pack_key(benched)
    trials, steps, evals = spec.budget, cfg.train.steps, len(eval_steps(cfg))
    if pack_key(cfg) != benched_key:
        return Projection(spec.name, trials, steps, evals, 0, None, "not the benched shape")
    # the pack sizes the study can fill, else the smallest measured
    fits = {k: s for k, s in step_s.items() if k <= max(trials, 1)}
    fits = fits or {min(step_s): step_s[min(step_s)]}
    best = max(fits, key=lambda k: k / fits[k])
    seconds = math.ceil(trials / best) * steps * fits[best] + trials * evals * eval_s
    return Projection(spec.name, trials, steps, evals, best, seconds)
