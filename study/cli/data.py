"""`dpl data sample`: write sampled sequences to parquet, to see exactly what the model sees."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from study.cli.common import usage_errors
from study.cli.options import config_options

if TYPE_CHECKING:
    from study.trial.tasks import Split

SPLIT_CHOICES: tuple[Split, ...] = (
    "train",
    "val",
    "holdout",
    "switch",
    "tail",
    "tail_switch",
)  # study.trial.tasks.SPLITS, without importing torch; checked by a test


@click.group()
def data() -> None:
    """Inspect the synthetic POS task."""


@data.command()
@config_options("small")
@click.option("--split", type=click.Choice(SPLIT_CHOICES), default="train", show_default=True)
@click.option("--n", "n", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False), required=True, help="Parquet file to write."
)
def sample(
    preset: str,
    config_file: str | None,
    sets: tuple[str, ...],
    split: Split,  # one of SPLIT_CHOICES
    n: int,
    seed: int,
    out: str,
) -> None:
    """Write N sequences of SPLIT with token ids, query, targets, classes, ranks and ambiguity."""
    from study.cli.options import load_trial_config

    with usage_errors():
        cfg = load_trial_config(preset, config_file, sets)
        if cfg.task.kind != "pos":
            from study.errors import ConfigError

            raise ConfigError(
                "task.kind", cfg.task.kind, "pos: `dpl data sample` shows the POS task"
            )

    from study.trial.sample_frame import sample_frame

    frame = sample_frame(cfg.task, split, n, seed)
    frame.write_parquet(out)
    click.echo(f"wrote {len(frame)} {split} sequences to {out}")


COMMANDS = [data]
