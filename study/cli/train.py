"""`dpl train`: one trial, logged to MLflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from study.cli.common import (
    EXIT_FAILURE,
    echo_json,
    exit_interrupted,
    install_sigterm_as_interrupt,
    show_progress,
    usage_errors,
)
from study.cli.options import config_options, store_options
from study.metric_names import (
    ACC_VAL,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
    PEAK,
    TRANSIENCE,
    structural,
)

if TYPE_CHECKING:
    from study.tracking.store import Store
    from study.tracking.trial_run import TrialResult

HEADLINE = (ICL_STRUCTURAL, IWL_HEAD, ICL_HEAD, ICL_TAIL, IWL_TAIL, ACC_VAL)
PEAKS = {ICL_STRUCTURAL: structural(None, PEAK)}  # the curves whose peak the summary keeps


@click.command()
@config_options("small", precision=True)
@store_options
@click.option("--seed", type=click.IntRange(min=0), help="Root seed (sets train.seed).")
@click.option("--experiment", default="dpl", show_default=True, help="MLflow experiment name.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def train(
    preset: str,
    config_file: str | None,
    sets: tuple[str, ...],
    device: str,
    tracking_uri: str | None,
    seed: int | None,
    experiment: str,
    as_json: bool,
) -> None:
    """Train one model on the task `task.kind` names (default: the POS task) and log the trial
    to MLflow."""
    from study.cli.options import load_trial_config
    from study.cli.progress import TrainProgress

    overrides = list(sets) + ([f"train.seed={seed}"] if seed is not None else [])
    with usage_errors():
        cfg = load_trial_config(preset, config_file, overrides)
        store, device = _resolve(tracking_uri, device)

    from analysis.figures.save import save_trial_figure
    from study.tracking.logger import rounded
    from study.tracking.trial_run import run_trial
    from study.trial.device import configure_cpu_threads
    from study.trial.lane import NonFiniteLoss

    configure_cpu_threads(device)
    install_sigterm_as_interrupt()
    progress = TrainProgress(cfg.train.steps, enabled=show_progress() and not as_json)
    try:
        with progress:
            result = run_trial(
                cfg,
                store=store,
                experiment=experiment,
                device=device,
                on_eval=progress.on_eval,
                on_step=progress.on_step,
                curve_figure=save_trial_figure,
            )
    except KeyboardInterrupt as err:
        exit_interrupted(err)
    except NonFiniteLoss as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    if as_json:
        echo_json(
            {
                "run_id": result.run_id,
                "regime": result.regime,
                "transient": result.transient,
                "final_step": result.final_step,
                "summary": rounded(result.summary, cfg.eval.n_examples),  # as MLflow stores it
                "tracking_uri": store.tracking_uri,
            }
        )
    else:
        _print_summary(result, store)


def _resolve(tracking_uri: str | None, device: str) -> tuple[Store, str]:
    from study.errors import ConfigError
    from study.tracking.store import Store
    from study.trial.device import resolve_device

    try:
        resolve_device(device)
    except ValueError as err:
        raise ConfigError("--device", device, str(err), message=str(err)) from None
    return Store.resolve(tracking_uri), device


def _print_summary(result: TrialResult, store: Store) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"run {result.run_id} — regime {result.regime}"
        + (" (transient)" if result.transient else "")
    )
    table.add_column("metric")
    table.add_column("final", justify="right")
    table.add_column("peak", justify="right")
    for name in (n for n in HEADLINE if n in result.summary):  # what the trial's world feeds
        top = result.summary.get(PEAKS.get(name, ""))
        table.add_row(name, f"{result.summary[name]:.3f}", "" if top is None else f"{top:.3f}")
    table.add_row(TRANSIENCE, f"{result.summary[TRANSIENCE]:.3f}", "")
    console = Console()
    console.print(table)
    console.print(f"tracking: {store.tracking_uri}   (browse with `dpl ui`)")


COMMANDS = [train]
