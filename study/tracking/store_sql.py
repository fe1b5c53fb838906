"""Read MLflow's SQLite tracking store directly: the one place that knows MLflow's tables.

Why: `mlflow.search_runs` returns pandas and `get_metric_history` is one call per run and metric;
1,000 trials × 10 metrics × 600 steps takes minutes that way, seconds here. The price is coupling
to MLflow's schema, so everything this module reads is listed in `SCHEMA`, `check_schema` fails
with the missing table or column, and `tests/tracking/test_store_readers.py` builds a real store with the
installed MLflow and compares what this adapter reads with what `MlflowClient` returns.
Remote tracking servers go through the client instead (`analysis/runs.py`).

Histories are fetched as one text row per (run, metric), steps and values joined in SQL and split
in polars: the heavy work stays in C, and Python touches 10 k rows, not 6 M.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from study.tracking.schema import NOT_CURVES

# table → the columns this adapter reads (MLflow ≥ 3.1).
SCHEMA: dict[str, tuple[str, ...]] = {
    "experiments": ("experiment_id", "name", "lifecycle_stage"),
    "runs": (
        "run_uuid",
        "name",
        "status",
        "start_time",
        "end_time",
        "lifecycle_stage",
        "artifact_uri",
        "experiment_id",
    ),
    "params": ("key", "value", "run_uuid"),
    "tags": ("key", "value", "run_uuid"),
    "metrics": ("key", "value", "timestamp", "run_uuid", "step", "is_nan"),
    "latest_metrics": ("key", "value", "timestamp", "step", "is_nan", "run_uuid"),
}

EXPERIMENT_SCHEMA = {"experiment_id": pl.String, "name": pl.String}
RUN_SCHEMA = {
    "run_id": pl.String,
    "experiment_id": pl.String,
    "run_name": pl.String,
    "status": pl.String,
    "start_time": pl.Int64,
    "end_time": pl.Int64,
    "artifact_uri": pl.String,
}
KV_SCHEMA = {"run_id": pl.String, "key": pl.String, "value": pl.String}
LATEST_SCHEMA = {"run_id": pl.String, "key": pl.String, "step": pl.Int64, "value": pl.Float64}
HISTORY_SCHEMA = {"run_id": pl.String, "metric": pl.String, "step": pl.Int64, "value": pl.Float64}


class SchemaChanged(RuntimeError):
    """MLflow's tables no longer have what this adapter reads."""


class SqliteRuns:
    """Read-only view of the runs, params, tags and metrics in an MLflow SQLite database."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no MLflow database at {self.path}")
        self._con = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
        self._con.execute("CREATE TEMP TABLE IF NOT EXISTS _selected (run_uuid TEXT PRIMARY KEY)")
        check_schema(self._con)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> SqliteRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # selection --------------------------------------------------------------------------------
    def experiments(self) -> pl.DataFrame:
        rows = self._con.execute(
            "SELECT CAST(experiment_id AS TEXT), name FROM experiments "
            "WHERE lifecycle_stage = 'active'"
        ).fetchall()
        return pl.DataFrame(rows, schema=EXPERIMENT_SCHEMA, orient="row")

    def runs(
        self,
        *,
        experiment_ids: Iterable[str] | None = None,
        tag: tuple[str, str] | None = None,
        run_ids: Iterable[str] | None = None,
    ) -> pl.DataFrame:
        """Active runs matching every given filter (one row per run, `RUN_SCHEMA`)."""
        where = ["r.lifecycle_stage = 'active'"]
        args: list[int | str] = []
        if experiment_ids is not None:
            ids = [int(e) for e in experiment_ids]
            where.append(f"r.experiment_id IN ({','.join('?' * len(ids)) or 'NULL'})")
            args += ids
        if tag is not None:
            where.append(
                "EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ? AND t.value = ?)"
            )
            args += list(tag)
        if run_ids is not None:
            self._select(run_ids)
            where.append("r.run_uuid IN (SELECT run_uuid FROM _selected)")
        rows = self._con.execute(
            "SELECT r.run_uuid, CAST(r.experiment_id AS TEXT), r.name, r.status, r.start_time, "
            f"r.end_time, r.artifact_uri FROM runs r WHERE {' AND '.join(where)} "
            "ORDER BY r.start_time",
            args,
        ).fetchall()
        return pl.DataFrame(rows, schema=RUN_SCHEMA, orient="row")

    def tag_values(self, key: str) -> list[str]:
        """Distinct values of tag `key` over active runs (e.g. the study names in the store)."""
        rows = self._con.execute(
            "SELECT DISTINCT t.value FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid "
            "WHERE t.key = ? AND r.lifecycle_stage = 'active' ORDER BY t.value",
            (key,),
        ).fetchall()
        return [r[0] for r in rows]

    # per-run data (long frames) ----------------------------------------------------------------
    def params(self, run_ids: Iterable[str]) -> pl.DataFrame:
        return self._key_values("params", run_ids)

    def tags(self, run_ids: Iterable[str]) -> pl.DataFrame:
        return self._key_values("tags", run_ids)

    def latest_metrics(self, run_ids: Iterable[str]) -> pl.DataFrame:
        """The last logged value of every metric of each run (by step, then time)."""
        self._select(run_ids)
        rows = self._con.execute(
            "SELECT m.run_uuid, m.key, m.step, CASE WHEN m.is_nan THEN NULL ELSE m.value END "
            "FROM latest_metrics m JOIN _selected s ON s.run_uuid = m.run_uuid"
        ).fetchall()
        frame = pl.DataFrame(rows, schema=LATEST_SCHEMA, orient="row")
        return frame.with_columns(pl.col("value").fill_null(float("nan")))

    def metric_history(
        self,
        run_ids: Iterable[str],
        metrics: Iterable[str] | None = None,
        *,
        skip_prefixes: tuple[str, ...] = NOT_CURVES,
    ) -> pl.DataFrame:
        """Every logged (step, value) of the runs' metrics (`metrics`, else all but those named
        `skip_prefixes`…), long: run_id, metric, step, value.

        NaN (stored by MLflow as `is_nan`) comes back as NaN. Values come back through SQLite's
        text form, exact to 15 significant digits. A step logged twice keeps the later value.
        """
        self._select(run_ids)
        where = " AND ".join(["m.key NOT LIKE ? ESCAPE '\\'"] * len(skip_prefixes)) or "1"
        args = [_like_prefix(p) for p in skip_prefixes]
        if metrics is not None:
            wanted = list(metrics)
            where, args = f"m.key IN ({','.join('?' * len(wanted)) or 'NULL'})", wanted
        # One row per (run, metric), steps and values as comma-joined text: SQLite walks the
        # (run_uuid, key, step) index once, Python sees 10 k rows instead of 6 M, polars splits.
        rows = self._con.execute(
            "SELECT m.run_uuid, m.key, group_concat(m.step), "
            "group_concat(CASE WHEN m.is_nan THEN 'NaN' ELSE m.value END) FROM metrics m "
            f"WHERE m.run_uuid IN (SELECT run_uuid FROM _selected) AND {where} GROUP BY m.run_uuid, m.key",
            args,
        ).fetchall()
        packed = pl.DataFrame(rows, schema=["run_id", "metric", "step", "value"], orient="row")
        history = (
            packed.with_row_index("group")
            .with_columns(pl.col("step", "value").cast(pl.String).str.split(","))
            .explode("step", "value")
            .with_columns(pl.col("step").cast(pl.Int64), pl.col("value").cast(pl.Float64))
            .sort(
                "group", "step", maintain_order=True
            )  # integer keys: cheap, and makes repeats adjacent
        )
        group, step = pl.col("group"), pl.col("step")
        repeated = history.select(
            ((group == group.shift(1)) & (step == step.shift(1)))
            | ((group == group.shift(-1)) & (step == step.shift(-1)))
        ).to_series()
        history = history.drop("group")
        if repeated.any():
            history = self._keep_latest(history, repeated.fill_null(False))
        # (polars types `cast`'s mapping with a union key type: a dict[str, …] is refused)
        return history.cast(HISTORY_SCHEMA)  # type: ignore[arg-type]

    def _keep_latest(self, history: pl.DataFrame, repeated: pl.Series) -> pl.DataFrame:
        """Resolve steps logged more than once: the value with the latest timestamp wins."""
        pairs = history.filter(repeated).select("run_id", "metric").unique().rows()
        rows = []
        for run_id, metric in pairs:
            rows += self._con.execute(
                "SELECT run_uuid, key, step, CASE WHEN is_nan THEN NULL ELSE value END, timestamp FROM metrics "
                "WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp",
                (run_id, metric),
            ).fetchall()
        latest = (
            pl.DataFrame(rows, schema=[*HISTORY_SCHEMA, "timestamp"], orient="row")
            .with_columns(pl.col("value").fill_null(float("nan")))
            .unique(["run_id", "metric", "step"], keep="last", maintain_order=True)
            .drop("timestamp")
        )
        affected = pl.DataFrame(pairs, schema=["run_id", "metric"], orient="row")
        untouched = history.join(affected, on=["run_id", "metric"], how="anti")
        return pl.concat([untouched, latest.cast(HISTORY_SCHEMA)])  # type: ignore[arg-type]

    # helpers ----------------------------------------------------------------------------------
    def _select(self, run_ids: Iterable[str]) -> None:
        self._con.execute("DELETE FROM _selected")
        self._con.executemany("INSERT OR IGNORE INTO _selected VALUES (?)", ((r,) for r in run_ids))

    def _key_values(self, table: str, run_ids: Iterable[str]) -> pl.DataFrame:
        self._select(run_ids)
        rows = self._con.execute(
            f"SELECT t.run_uuid, t.key, t.value FROM {table} t JOIN _selected s ON s.run_uuid = t.run_uuid"
        ).fetchall()
        return pl.DataFrame(rows, schema=KV_SCHEMA, orient="row")


def check_schema(con: sqlite3.Connection) -> None:
    """Raise `SchemaChanged` naming every table or column in `SCHEMA` the database lacks."""
    missing = []
    for table, columns in SCHEMA.items():
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        if not have:
            missing.append(f"table {table}")
            continue
        missing += [f"{table}.{c}" for c in columns if c not in have]
    if missing:
        raise SchemaChanged(
            "MLflow's SQLite schema changed; study/tracking/store_sql.py reads what is gone: "
            + ", ".join(missing)
            + ". Update the adapter, or load through the MLflow client (analysis.runs, client=True)."
        )


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
