"""Science checks too long for CI (docs/design.md §6): the reference match and the findings over seeds.

    python scripts/science.py reference --seeds 42,1,2 --out science-out
    python scripts/science.py findings --seeds 0,1,2,42 --out science-out

`reference` runs our `paper` preset at the reference scale for every row of the paper code's table
(study/science/reference.py: REFERENCE) and prints ours beside theirs under all three held-out protocols.
`findings` runs the settings of tests/science/test_findings.py over several seeds, each beside its control,
and prints how many seeds show each finding. Curves go to OUT/*.json. A row takes 3–6 minutes on
a 2-core CPU (8,000 steps).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import torch

from study.config import PROTOCOLS
from study.science.findings import FINDINGS
from study.science.reference import REFERENCE, control_overrides, measure, reference_config


class _Seeds(click.ParamType):
    name = "SEEDS"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return tuple(int(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r}: expected comma-separated integers such as 0,1,2", param, ctx)


SEEDS = _Seeds()


def _save(out: Path, name: str, seed: int, measured, seconds: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name.replace(' ', '_')}_seed{seed}.json"
    path.write_text(
        json.dumps({"row": measured.row(), "curve": measured.curve, "seconds": seconds})
    )


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


@click.group()
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's).")
def cli(threads):
    """Science checks of docs/design.md §6."""
    if threads:
        torch.set_num_threads(threads)


@cli.command()
@click.option("--seeds", type=SEEDS, default="42", show_default=True, help="Comma-separated.")
@click.option("--only", multiple=True, help="Run only reference rows whose name contains this.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("science-out")
)
def reference(seeds, only, out):
    """Our `paper` preset at the reference scale beside the paper code's curves."""
    header = "| run | seed | ICL peak (step) paper / init / matched | ICL end paper / init / matched | switch end | tail_switch end | val end | min |"
    click.echo(header)
    click.echo("|" + "---|" * 8)
    for run in REFERENCE:
        if only and not any(o in run.name for o in only):
            continue
        click.echo(
            f"| {run.name} | ref 42 | {_fmt(run.icl_peak)} | {_fmt(run.icl_end)} | {_fmt(run.switch_end)}"
            f" | {_fmt(run.tail_switch_end)} | {_fmt(run.val_end)} | |"
        )
        for seed in seeds:
            start = time.perf_counter()
            measured = measure(reference_config(run, seed))
            seconds = time.perf_counter() - start
            _save(out, f"reference {run.name}", seed, measured, seconds)
            r = measured.row()
            peaks = " / ".join(
                f"{r[f'icl.{p}.peak']:.2f} ({r[f'icl.{p}.peak_step']:.0f})" for p in PROTOCOLS
            )
            ends = " / ".join(f"{r[f'icl.{p}.end']:.2f}" for p in PROTOCOLS)
            click.echo(
                f"| {run.name} | ours {seed} | {peaks} | {ends} | {r['switch.end']:.2f} | {r['tail_switch.end']:.2f}"
                f" | {r['val.end']:.2f} | {seconds / 60:.1f} |"
            )


@cli.command()
@click.option("--seeds", type=SEEDS, default="0,1,2", show_default=True, help="Comma-separated.")
@click.option("--only", multiple=True, help="Run only findings whose name contains this.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("science-out")
)
def findings(seeds, only, out):
    """The four findings over several seeds, each beside its control."""
    for finding in FINDINGS:
        if only and not any(o in finding.name for o in only):
            continue
        shown = 0
        for seed in seeds:
            cfg = finding.config(seed)
            runs = {"run": cfg, "control": finding.config(seed, **control_overrides(cfg))}
            rows = {}
            for label, c in runs.items():
                start = time.perf_counter()
                measured = measure(c)
                _save(
                    out,
                    f"finding {finding.name} {label}",
                    seed,
                    measured,
                    time.perf_counter() - start,
                )
                rows[label] = measured
            verdict = finding.check(rows["run"])
            shown += verdict.holds
            click.echo(f"{finding.name} seed {seed}: {verdict.text}")
            click.echo(f"    control: {finding.check(rows['control']).text}")
        click.echo(f"{finding.name}: shown in {shown} of {len(seeds)} seeds\n")


if __name__ == "__main__":
    cli()
