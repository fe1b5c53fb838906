"""`dpl ui`: the MLflow UI on the default (or given) store."""

from __future__ import annotations

import os
import sys

import click


@click.command()
@click.option(
    "--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="[default: sqlite under ./mlruns]"
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def ui(tracking_uri, host, port):
    """Browse runs and studies in the MLflow UI."""
    from study.tracking.store import Store

    store = Store.resolve(tracking_uri)
    store.prepare()
    cmd = [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", store.tracking_uri,
        "--default-artifact-root", store.artifact_root.as_uri(),
        "--host", host, "--port", str(port),
    ]  # fmt: skip
    click.echo(f"MLflow UI on http://{host}:{port} for {store.tracking_uri}")
    os.execv(sys.executable, cmd)


COMMANDS = [ui]
