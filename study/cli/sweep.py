"""`dpl sweep run|status|list|export`: Optuna studies whose every trial is an MLflow run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

import click

from study.cli.common import (
    UsageExit,
    echo_json,
    exit_interrupted,
    install_sigterm_as_interrupt,
    report_failures,
    runtime_failures,
    show_progress,
    usage_errors,
)
from study.cli.sweep_options import WorkerOptions, storage_option, worker_options

if TYPE_CHECKING:
    from typing import Unpack

    import optuna

    from analysis.effects_report import EffectsReport
    from analysis.report import PhaseReport
    from study.sweep.spec import SweepSpec
    from study.tracking.store import Store
    from study.tracking.trial_run import CurveFigure


@click.group()
def sweep() -> None:
    """Sweeps: a spec under sweeps/ → an Optuna study whose every trial is a training run."""


@sweep.command("run")
@click.argument("spec_file", type=click.Path(dir_okay=False))
@click.option(
    "--n-trials",
    type=click.IntRange(min=1),
    help="Run at most N trials now; the study's total budget stays the spec's n_trials.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes [default: one per CPU core on the CPU, one per GPU on CUDA; "
    "at most the budget; 1 on SQLite].",
)
@click.option("--force", is_flag=True, help="Adopt a changed spec for an existing study.")
@click.option(
    "--with-controls",
    is_flag=True,
    help="Also run each forgetting point's control (as `controls: true` in the spec).",
)
@worker_options
def run(
    spec_file: str,
    n_trials: int | None,
    workers: int | None,
    force: bool,
    with_controls: bool,
    **options: Unpack[WorkerOptions],
) -> None:
    """Create (or continue) the study of SPEC_FILE and run its remaining trials.

    Rerunning the same command after an interrupt finishes the budget; interrupted trials are
    re-run, finished ones never are. Workers started elsewhere (`dpl sweep worker`) on the same
    storage share the budget."""
    from study.cli.sweep_view import SweepProgress, print_tables, status_table, trials_table
    from study.sweep.launch import finish, prepare, run_sweep
    from study.sweep.status import status
    from study.sweep.storage import load, open_storage

    spec, store, url, kwargs = open_sweep(spec_file, with_controls=with_controls, **options)
    if workers is None:
        from study.trial.device import default_workers

        workers = (
            1 if url.startswith("sqlite") else min(default_workers(options["device"]), spec.budget)
        )
    if workers > 1 and url.startswith("sqlite"):
        click.echo(
            "warning: SQLite locks under parallel writers; the default journal file does not",
            err=True,
        )
    with usage_errors(), runtime_failures():
        prepared = prepare(spec, store, url, force=force, spec_file=spec_file, **kwargs)

    install_sigterm_as_interrupt()
    progress = SweepProgress(spec, enabled=show_progress())
    started, since = time.monotonic(), datetime.now()
    try:
        with usage_errors(), runtime_failures(), progress:
            run_sweep(prepared, workers=workers, limit=n_trials, on_progress=progress.update)
    except KeyboardInterrupt as err:
        finish(prepared, interrupted=True)
        click.echo(
            "running trials were released (FAIL, reason 'interrupted'); rerun the same command to finish",
            err=True,
        )
        exit_interrupted(err)
    except (UsageExit, SystemExit):
        finish(prepared, interrupted=True)
        raise
    finish(prepared)
    wall = time.monotonic() - started

    study, _ = load(spec.name, open_storage(url))
    print_tables(trials_table(study, spec), status_table(status(study, spec)))
    click.echo(f"wall time {wall:.0f} s; MLflow parent run {prepared.parent_run_id}")
    _after_sweep(spec, study, store)
    report_failures(study, since)


class SweepKwargs(TypedDict):
    """The keyword arguments of `prepare` / `attach` that a command's options give."""

    device: str
    curve_figure: CurveFigure | None
    pack: int | str
    heartbeat_s: int
    max_failures: int


def open_sweep(
    spec_file: str,
    *,
    with_controls: bool = False,
    storage: str | None,
    tracking_uri: str | None,
    device: str,
    pack: int | str,
    heartbeat_s: int,
    max_failures: int,
    no_figures: bool,
) -> tuple[SweepSpec, Store, str, SweepKwargs]:
    """The spec, store and storage URL a command names, checked before anything is written
    (a bad spec or option exits 2, an unreachable tracking server 1); and the keyword
    arguments of `prepare` / `attach`."""
    import optuna

    from analysis.figures.save import save_trial_figure
    from study.sweep.spec import load_spec
    from study.sweep.storage import storage_url
    from study.tracking.store import Store

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with usage_errors(), runtime_failures():
        spec = load_spec(spec_file, controls=True if with_controls else None)
        store = Store.resolve(tracking_uri)
        store.check()
        url = storage_url(storage, store)
    kwargs = SweepKwargs(
        device=device,
        curve_figure=None if no_figures else save_trial_figure,
        pack=pack,
        heartbeat_s=heartbeat_s,
        max_failures=max_failures,
    )
    return spec, store, url, kwargs


def _after_sweep(spec: SweepSpec, study: optuna.Study, store: Store) -> None:
    """A `map` spec with two or more axes ends by drawing its phase diagram over the first two
    (pooled over the rest), and with controls its forgetting-effect map; a study that cannot
    support one says why, and the sweep still succeeds."""
    if not spec.is_map:
        return
    from study.sweep.points import axes

    varied = list(axes(spec))  # the report reads their scales from the parent run
    if len(varied) >= 2:
        _report("phase diagram", lambda: _phase_report(store, spec.name, *varied[:2]))
    if spec.controls:
        _report("forgetting-effect map", lambda: _effects_report(store, spec.name))


# Imported inside the guard of `_report`: an analysis that cannot even load (a broken install,
# code changed under a running sweep) skips its picture, not the sweep's exit status.
def _phase_report(store: Store, study: str, x: str, y: str) -> PhaseReport:
    from analysis.report import phase_report

    return phase_report(store, study, x, y)


def _effects_report(store: Store, study: str) -> EffectsReport:
    from analysis.effects_report import effects_report

    return effects_report(store, study)


def _report(what: str, make: Callable[[], PhaseReport | EffectsReport]) -> None:
    try:
        report = make()
    except Exception as err:  # the trials are safe; only the picture is missing
        click.echo(f"{what} skipped: {err}", err=True)
        return
    click.echo(report.text)


@sweep.command("status")
@click.argument("study_name")
@storage_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def status_cmd(study_name: str, storage: str | None, as_json: bool) -> None:
    """Trials by state, budget left, best trial(s) and regime counts of STUDY_NAME."""
    from study.cli.sweep_view import print_tables, status_table
    from study.sweep.status import status

    with usage_errors():
        study, spec = _load(study_name, storage)
    st = status(study, spec)
    if as_json:
        echo_json(st.to_json())
    else:
        print_tables(status_table(st))


@sweep.command("list")
@storage_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(storage: str | None, as_json: bool) -> None:
    """The studies in the storage, with their specs and progress."""
    import optuna
    from rich.table import Table

    from study.cli.sweep_view import print_tables
    from study.sweep.status import status
    from study.sweep.storage import has_storage, load, open_storage
    from study.tracking.credentials import redact

    url = _url(storage)
    names = optuna.get_all_study_names(open_storage(url)) if has_storage(url) else []
    statuses = [status(*load(name, open_storage(url))) for name in names]
    if as_json:
        echo_json([st.to_json() for st in statuses])
        return
    table = Table(title=f"studies in {redact(url)}", title_justify="left")
    for column in ("study", "spec", "sampler", "objective", "progress", "trials", "regimes"):
        table.add_column(column)
    for st in statuses:
        progress = (
            f"{st.budget - st.budget_left}/{st.budget}" + (" finished" if st.finished else "")
            if st.budget and st.budget_left is not None  # both None without a spec
            else "?"
        )
        table.add_row(
            st.name,
            st.spec_file or "-",
            st.sampler,
            st.objective,
            progress,
            ", ".join(f"{k} {v}" for k, v in st.states.items()),
            ", ".join(f"{k} {v}" for k, v in st.regimes.items()),
        )
    print_tables(table)


@sweep.command("export")
@click.argument("study_name")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Parquet file to write."
)
@storage_option
def export_cmd(study_name: str, out: str, storage: str | None) -> None:
    """One row per trial: params, summary metrics, state, MLflow run id → a Parquet file."""
    from study.sweep.status import export

    with usage_errors():
        study, spec = _load(study_name, storage)
    n = export(study, spec, out)
    click.echo(f"wrote {n} trials to {out}")


def _url(storage: str | None) -> str:
    from study.sweep.storage import storage_url
    from study.tracking.store import Store

    return storage_url(storage, Store.resolve())


def _load(name: str, storage: str | None) -> tuple[optuna.Study, SweepSpec | None]:
    from study.sweep.storage import StudyError, has_storage, load, open_storage
    from study.tracking.credentials import redact

    url = _url(storage)
    if not has_storage(url):
        where = redact(url)
        message = f"no study named {name!r}: no Optuna storage at {where}"
        raise StudyError("study", name, f"no Optuna storage at {where}", message=message)
    return load(name, open_storage(url))


COMMANDS = [sweep]
