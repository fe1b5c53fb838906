"""`dpl sweep create|worker|repair|slurm`: one study, workers on any number of machines.

dpl sweep create SPEC --storage URL --tracking-uri URI     # once: study, queue, parent run
dpl sweep worker SPEC --storage URL --tracking-uri URI     # anywhere, any number of times
dpl sweep repair STUDY --storage URL --tracking-uri URI    # end lost trials now
dpl sweep slurm SPEC --workers N > job.sh && sbatch job.sh # the workers, as a SLURM array
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING

import click

from study.cli.common import (
    echo_json,
    exit_interrupted,
    install_sigterm_as_interrupt,
    report_failures,
    runtime_failures,
    show_progress,
    usage_errors,
)
from study.cli.options import tracking_uri_option
from study.cli.sweep import open_sweep, sweep
from study.cli.sweep_options import PackType, WorkerOptions, storage_option, worker_options
from study.sweep.defaults import GRACE_BEATS, HEARTBEAT_S, MAX_FAILURES

if TYPE_CHECKING:
    from typing import Unpack

    from study.tracking.store import Store


@sweep.command("create")
@click.argument("spec_file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Adopt a changed spec for an existing study.")
@click.option("--with-controls", is_flag=True, help="Queue each forgetting point's control too.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@worker_options
def create_cmd(
    spec_file: str,
    force: bool,
    with_controls: bool,
    as_json: bool,
    **options: Unpack[WorkerOptions],
) -> None:
    """Create the study of SPEC_FILE — its Optuna study, queue and MLflow parent run — without
    running a trial, for workers to start from. Racing creators make one study and one parent."""
    from study.sweep import mlflow_link
    from study.sweep.launch import prepare
    from study.sweep.status import status
    from study.sweep.storage import load, open_storage
    from study.tracking.credentials import redact

    spec, store, url, kwargs = open_sweep(spec_file, with_controls=with_controls, **options)
    with usage_errors(), runtime_failures():
        prepared = prepare(spec, store, url, force=force, spec_file=spec_file, **kwargs)
        study, _ = load(spec.name, open_storage(url))
        st = status(study, spec)
        if not st.states.get("running"):
            mlflow_link.mark_parent(store, prepared.parent_run_id, "SCHEDULED")
    summary = {
        "study": spec.name,
        "storage": redact(url),
        "tracking_uri": redact(store.tracking_uri),
        "parent_run_id": prepared.parent_run_id,
        "queued": st.states.get("waiting", 0) + st.controls.get("waiting", 0),
        "budget_left": st.budget_left,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"study {spec.name!r}: {summary['queued']} trials queued, budget left "
        f"{summary['budget_left']}; parent run {prepared.parent_run_id}\n"
        f"start workers: dpl sweep worker {spec_file} --storage … --tracking-uri …"
    )


@sweep.command("worker")
@click.argument("spec_file", type=click.Path(dir_okay=False))
@click.option(
    "--n-trials", type=click.IntRange(min=1), help="Leave after N trials [default: the budget]."
)
@worker_options
def worker_cmd(spec_file: str, n_trials: int | None, **options: Unpack[WorkerOptions]) -> None:
    """One worker on the study of SPEC_FILE (made by `dpl sweep create` or `dpl sweep run`):
    it takes queued trials — or packs — until the budget is met, then exits 0. Start any
    number, on any machines; they meet only in the storage. SIGINT / SIGTERM release its trials
    (exit 130 / 143); a worker whose trials keep failing stops (exit 1)."""
    from study.cli.sweep_view import SweepProgress
    from study.sweep.launch import attach, leave
    from study.sweep.loop import work
    from study.sweep.storage import load, open_storage

    spec, store, url, kwargs = open_sweep(spec_file, **options)
    with usage_errors(), runtime_failures():
        joined = attach(spec, store, url, **kwargs)
    install_sigterm_as_interrupt()
    progress = SweepProgress(spec, enabled=show_progress())
    since = datetime.now()
    try:
        with usage_errors(), runtime_failures(), progress:
            ran = work(joined, limit=n_trials, on_progress=progress.update)
    except KeyboardInterrupt as err:
        leave(joined, interrupted=True)
        click.echo("this worker's trials were released (FAIL, reason 'interrupted')", err=True)
        exit_interrupted(err)
    except (click.ClickException, SystemExit):
        leave(joined, interrupted=True)
        raise
    leave(joined)
    click.echo(f"worker done: {ran} trials")
    study, _ = load(spec.name, open_storage(url))
    report_failures(study, since, pid=os.getpid())


@sweep.command("repair")
@click.argument("study_name")
@click.option(
    "--grace",
    type=click.IntRange(min=1),
    default=GRACE_BEATS * HEARTBEAT_S,
    show_default=True,
    help="Seconds without a beat after which a running trial of another host is lost.",
)
@storage_option
@tracking_uri_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def repair_cmd(
    study_name: str, grace: int, storage: str | None, tracking_uri: str | None, as_json: bool
) -> None:
    """End the lost trials of STUDY_NAME now: running trials whose worker died (a dead process
    on this host, or silent for --grace seconds on any host) end FAIL `lost`, their points
    queued again, their MLflow runs KILLED; child runs left RUNNING by a finished trial too."""
    from study.cli.sweep import _load
    from study.sweep.liveness import repair
    from study.tracking.store import Store

    with usage_errors(), runtime_failures():
        store = Store.resolve(tracking_uri)
        store.check()
        study, spec = _load(study_name, storage)
        url = _storage_url(storage, store)
        done = repair(study, spec, store, url, grace)
    if as_json:
        echo_json(done)
        return
    click.echo(
        f"{len(done['lost'])} lost trials ended and queued again {done['lost']}; "
        f"{len(done['runs_killed'])} orphaned runs ended KILLED"
    )


@sweep.command("slurm")
@click.argument("spec_file", type=click.Path(dir_okay=False))
@click.option("--workers", type=click.IntRange(min=1), required=True, help="Array tasks.")
@click.option("--gpus-per-worker", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--cpus-per-worker", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--time", "time_limit", default="04:00:00", show_default=True, help="Per task.")
@click.option("--partition", help="SLURM partition [default: the cluster's].")
@click.option("--pack", type=PackType(), default="auto", show_default=True)
@click.option("--max-failures", type=click.IntRange(min=0), default=MAX_FAILURES, show_default=True)
@storage_option
@tracking_uri_option
def slurm_cmd(
    spec_file: str,
    workers: int,
    gpus_per_worker: int,
    cpus_per_worker: int,
    time_limit: str,
    partition: str | None,
    pack: int | str,
    max_failures: int,
    storage: str | None,
    tracking_uri: str | None,
) -> None:
    """Print a SLURM array script whose every task is one `dpl sweep worker SPEC_FILE`. URLs come
    from the environment (DPL_OPTUNA_STORAGE, MLFLOW_TRACKING_URI) — passwords never written."""
    from study.sweep.slurm import SlurmJob, script
    from study.sweep.spec import load_spec

    with usage_errors():
        spec = load_spec(spec_file)
        job = SlurmJob(
            spec_file,
            spec.name,
            workers,
            gpus_per_worker=gpus_per_worker,
            cpus_per_worker=cpus_per_worker,
            time=time_limit,
            partition=partition,
            storage=storage,
            tracking_uri=tracking_uri,
            pack=str(pack),
            max_failures=max_failures,
        )
    click.echo(script(job), nl=False)


def _storage_url(storage: str | None, store: Store) -> str:
    from study.sweep.storage import storage_url

    return storage_url(storage, store)


# the commands above join the `sweep` group when this module is imported
COMMANDS: list[click.Command] = []
