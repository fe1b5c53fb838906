"""The other worlds' findings over three seeds (docs/design.md §9), the science check too long for CI.

    python scripts/science_worlds.py --out science-out/worlds

Runs the shipped studies of the AR toy and of bursty classification (`WORLD_STUDIES`, three seeds
a point) through the platform itself, `dpl sweep run`, each into its own store under
OUT/<study>/ (rerunning resumes, a finished study only re-reads), and reads each finding per seed
with the rules of `study.science.world_findings`: about 90 minutes on two CPU cores.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import click
import optuna
import polars as pl

from study.config import BurstyTaskConfig
from study.controls import CONTRAST_MARGIN
from study.metric_names import ICL_STRUCTURAL
from study.science import world_findings as wf
from study.sweep.points import first_config
from study.sweep.spec import SweepSpec, load_spec
from study.sweep.status import export_frame
from study.sweep.storage import open_storage

ROOT = Path(__file__).resolve().parents[1]
WORLD_STUDIES = (
    "sweeps/worlds/ar_bursty.yaml",
    "sweeps/worlds/ar_forgetting.yaml",
    "sweeps/worlds/ar_forgetting_long.yaml",
    "sweeps/worlds/bursty_pb_k.yaml",
    "sweeps/worlds/bursty_labels.yaml",
)


@click.command()
@click.option(
    "--workers", type=int, default=os.cpu_count() or 1, show_default=True, help="Sweep workers."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("science-out/worlds"),
    show_default=True,
)
def main(workers: int, out: Path) -> None:
    """The AR toy's findings over three seeds (docs/design.md §9): structural ICL rises with
    bursty contexts (per α), and active forgetting keeps structural ICL that plain training
    loses, beyond its control. Each study runs with `dpl sweep run` into OUT/<study>/."""
    frames, specs = {}, {}
    for path in WORLD_STUDIES:
        spec = load_spec(ROOT / path)
        store = (out / spec.name).resolve()
        store.mkdir(parents=True, exist_ok=True)
        journal = str(store / "optuna.journal")
        command = ["dpl", "sweep", "run", str(ROOT / path), "--workers", str(workers)]
        command += ["--storage", journal, "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}"]
        subprocess.run([*command, "--no-figures"], check=True, cwd=store)
        study = optuna.load_study(study_name=spec.name, storage=open_storage(journal))
        frames[spec.name], specs[spec.name] = export_frame(study, spec), spec
    rise = wf.bursty_rise(frames["ar-bursty"])
    click.echo("AR toy, structural ICL at bursty share 1 − 0 (final, held-out items):")
    for (alpha,), rows in rise.group_by(wf.ALPHA, maintain_order=True):
        per_seed = ", ".join(f"{v:+.3f}" for v in rows["rise"])
        click.echo(f"  α = {alpha:g}: {per_seed} — {wf.verdict(rows)}")
    for name in ("ar-forgetting", "ar-forgetting-long"):
        keeps = wf.forgetting_keeps(frames[name])
        click.echo(
            f"{name}: active forgetting keeps what plain training loses, beyond its control:"
        )
        for row in keeps.iter_rows(named=True):
            click.echo(
                f"  seed {row['replicate']}: plain {row['plain']:.3f} (peak {row['plain_peak']:.3f}),"
                f" active {row['active']:.3f}, control {row['control']:.3f}; plain loses it:"
                f" {row['plain_loses']}; active beats both by {CONTRAST_MARGIN}: {row['beats_both']}"
            )
        click.echo(f"  {wf.verdict(keeps)}")
    report_bursty(frames, specs)


def report_bursty(frames: dict[str, pl.DataFrame], specs: dict[str, SweepSpec]) -> None:
    """Bursty classification's findings, cell by cell against the thresholds fixed before."""
    chance = _task(specs["bursty-pb-k"]).chance()[ICL_STRUCTURAL]
    cells = wf.needs_bursty_and_classes(frames["bursty-pb-k"], chance)
    click.echo(
        f"bursty classification, structural ICL (chance {chance:g}; at chance below "
        f"{chance + wf.AT_CHANCE:g}, well above from {chance + wf.WELL_ABOVE:g}) by p_B × K:"
    )
    _cells(cells, (wf.P_BURSTY, wf.N_CLASSES))
    click.echo(f"  ICL needs bursty contexts and many classes: {wf.cells_verdict(cells)}")
    click.echo(
        f"  trade-off, Spearman ρ(structural ICL, head IWL) over cells: {wf.trade_off(cells):+.2f}"
    )
    n_context = _task(specs["bursty-labels"]).n_context
    cells = wf.labels_beyond_context(frames["bursty-labels"], n_context, chance)
    click.echo(f"bursty classification, L labels against N = {n_context} pairs:")
    _cells(cells, (wf.N_LABELS,))
    click.echo(f"  L = N fails where L > N succeeds: {wf.cells_verdict(cells)}")


def _task(spec: SweepSpec) -> BurstyTaskConfig:
    cfg = first_config(spec)
    if cfg is None or not isinstance(cfg.task, BurstyTaskConfig):
        raise click.ClickException(f"{spec.name}: not a bursty classification study")
    return cfg.task


def _cells(cells: pl.DataFrame, keys: tuple[str, ...]) -> None:
    for row in cells.iter_rows(named=True):
        where = ", ".join(f"{k.split('.')[-1]} = {row[k]:g}" for k in keys)
        levels = "/".join(row["levels"])
        expect = (
            f"expected {row['expect']}: {'holds' if row['holds'] else 'not'}"
            if row["expect"]
            else ""
        )
        click.echo(
            f"  {where}: structural ICL {row['icl']:.3f}, head IWL {row['iwl']:.3f} ({levels}) {expect}"
        )


if __name__ == "__main__":
    main()
