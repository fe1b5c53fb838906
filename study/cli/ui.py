"""`dpl ui`: the MLflow UI on the default (or given) store, opened on the runs of a study's
experiment; `dpl ui --optuna`: optuna-dashboard on the same studies."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from study.cli.options import tracking_uri_option
from study.cli.sweep_options import storage_option

if TYPE_CHECKING:
    from study.tracking.store import Store

ML_WORKFLOW = "workflowType=machine_learning"  # the UI's model-training side, not GenAI's


def default_workers() -> int:
    """One server process on a small machine; a few on a large one (each is a full app)."""
    cpus = os.cpu_count() or 1
    return 1 if cpus <= 4 else min(4, cpus // 4)


@click.command()
@click.option("--study", "study_name", help="Print the direct link to this study's runs.")
@tracking_uri_option
@storage_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, help="[default: 5000; 8080 with --optuna]")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=default_workers(),
    show_default=True,
    help="Server processes (MLflow's default of 4 is heavy on a small machine).",
)
@click.option("--optuna", is_flag=True, help="Start optuna-dashboard on the studies instead.")
def ui(
    study_name: str | None,
    tracking_uri: str | None,
    storage: str | None,
    host: str,
    port: int | None,
    workers: int,
    optuna: bool,
) -> None:
    """Browse runs and studies: the MLflow UI (runs view of each study's experiment), or with
    --optuna the Optuna dashboard on the same store."""
    from study.tracking.credentials import redact
    from study.tracking.store import Store

    store = Store.resolve(tracking_uri)
    store.prepare()
    if optuna:
        _dashboard(store, storage, host, port or 8080)
        return
    port = port or 5000
    base = f"http://{host}:{port}"
    click.echo(f"MLflow UI on {base} for {redact(store.tracking_uri)}")
    for name, experiment_id in _experiments(store, study_name):
        click.echo(f"  {name}: {base}/#/experiments/{experiment_id}/runs?{ML_WORKFLOW}")
    flags = {
        "--backend-store-uri": store.tracking_uri,
        "--default-artifact-root": store.artifact_root.as_uri(),
        "--host": host,
        "--port": str(port),
        "--workers": str(workers),
    }
    args = [part for pair in flags.items() for part in pair]  # --flag value --flag value …
    cmd = [sys.executable, "-m", "mlflow", "server", *args]
    # no job runner and its consumers: nothing here submits server-side jobs
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    os.execve(sys.executable, cmd, env)


def _experiments(store: Store, study_name: str | None) -> list[tuple[str, str]]:
    """(name, id) of the study's experiment, or of every experiment with runs."""
    from study.tracking import schema

    client = store.client()
    experiments = [e for e in client.search_experiments() if e.name != "Default"]
    if study_name is None or not experiments:
        return [(e.name, e.experiment_id) for e in experiments]
    parents = client.search_runs(
        [e.experiment_id for e in experiments],
        filter_string=f"tags.{schema.STUDY} = '{study_name}' AND tags.`{schema.ROLE}` = '{schema.ROLE_STUDY}'",
    )
    return [(study_name, r.info.experiment_id) for r in parents[:1]]


def _dashboard(store: Store, storage: str | None, host: str, port: int) -> None:
    from optuna_dashboard import run_server

    from study.sweep.storage import open_storage, storage_url
    from study.tracking.credentials import redact

    url = storage_url(storage, store)
    click.echo(f"optuna-dashboard on http://{host}:{port} for {redact(url)}")
    run_server(open_storage(url), host=host, port=port)


COMMANDS = [ui]
