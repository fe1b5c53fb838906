"""The direct SQLite reader against a real store made by the installed MLflow.

If MLflow changes its schema, `test_schema_has_every_column_the_adapter_reads` fails and names
the column; `test_reads_what_the_client_reads` catches a change of meaning.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
import time

import polars as pl
import pytest
from mlflow.entities import Metric

from benchmarks.synthetic import write_synthetic_study
from study.tracking.store import Store
from study.tracking.store_client import ClientRuns
from study.tracking.store_sql import SCHEMA, SchemaChanged, SqliteRuns


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory, new_store) -> Store:
    store = new_store(tmp_path_factory.mktemp("sql") / "mlruns")
    write_synthetic_study(
        store, "tiny", n_trials=4, n_steps=5, metrics=["icl/structural_paper", "iwl/head"]
    )
    # one run with a NaN and a step logged twice (the later value must win)
    client = store.client()
    run = client.create_run(store.experiment_id("odd"), tags={"study": "odd"})
    now = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[
            Metric("acc/val", 0.1, now, 100),
            Metric("acc/val", float("nan"), now, 200),
            Metric("acc/val", 0.3, now, 300),
            Metric("acc/val", 0.9, now + 5, 300),
        ],
    )
    return store


def test_schema_has_every_column_the_adapter_reads(tiny_store):
    con = sqlite3.connect(tiny_store.sqlite_path)
    for table, columns in SCHEMA.items():
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        assert set(columns) <= have, f"MLflow's {table} table lost {set(columns) - have}"


def test_a_changed_schema_is_named(tiny_store, tmp_path):
    changed = tmp_path / "changed.db"
    shutil.copy(tiny_store.sqlite_path, changed)
    con = sqlite3.connect(changed)
    con.execute("ALTER TABLE metrics RENAME COLUMN is_nan TO nan_flag")
    con.commit()
    con.close()
    with pytest.raises(SchemaChanged, match=r"metrics\.is_nan"):
        SqliteRuns(changed)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns)


def test_reads_what_the_client_reads(tiny_store):
    with SqliteRuns(tiny_store.sqlite_path) as sql, ClientRuns(tiny_store.tracking_uri) as client:
        runs_sql = sql.runs(tag=("study", "tiny"))
        runs_client = client.runs(tag=("study", "tiny"))
        assert runs_sql.height == 5  # parent + 4 trials
        assert _sorted(runs_sql).equals(_sorted(runs_client))
        ids = runs_sql["run_id"].to_list()
        assert _sorted(sql.params(ids)).equals(_sorted(client.params(ids)))
        assert _sorted(sql.tags(ids)).equals(_sorted(client.tags(ids)))
        latest_sql, latest_client = (
            _sorted(sql.latest_metrics(ids)),
            _sorted(client.latest_metrics(ids)),
        )
        assert latest_sql.select("run_id", "key", "step").equals(
            latest_client.select("run_id", "key", "step")
        )
        assert latest_sql["value"].to_list() == pytest.approx(
            latest_client["value"].to_list(), rel=1e-14
        )
        history_sql, history_client = (
            _sorted(sql.metric_history(ids)),
            _sorted(client.metric_history(ids)),
        )
        assert history_sql.height == 4 * 2 * 5
        assert history_sql.drop("value").equals(history_client.drop("value"))
        assert history_sql["value"].to_list() == pytest.approx(
            history_client["value"].to_list(), rel=1e-14
        )


def test_nan_and_a_step_logged_twice(tiny_store):
    with SqliteRuns(tiny_store.sqlite_path) as sql:
        ids = sql.runs(tag=("study", "odd"))["run_id"].to_list()
        history = sql.metric_history(ids).sort("step")
    assert history["step"].to_list() == [100, 200, 300]
    values = history["value"].to_list()
    assert values[0] == 0.1 and math.isnan(values[1]) and values[2] == 0.9
