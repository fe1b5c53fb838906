"""Several processes opening one new SQLite store at once (two `dpl train` started together on a
fresh `mlruns/`): MLflow creates and migrates the schema on first open, and without the store's
lock the processes collided (a duplicate column, a failed migration) in 5 of 5 tries."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

PROCESSES = 4


def _open(args: tuple[str, object]) -> str:
    from study.tracking.store import Store

    root, barrier = args
    store = Store.resolve(root=root)
    barrier.wait()  # all at once, onto a store none has created yet
    return store.experiment_id("together")


def test_processes_opening_a_new_sqlite_store_at_once_all_get_it(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with ctx.Pool(PROCESSES) as pool:
            ids = pool.map(_open, [(str(tmp_path / "mlruns"), barrier)] * PROCESSES)
    assert len(set(ids)) == 1  # one experiment, found or created by each
    assert (tmp_path / "mlruns" / "mlflow.db").exists()
