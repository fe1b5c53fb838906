"""Read runs through `MlflowClient`: the path for remote tracking servers (and the reference the
SQLite adapter is tested against). Same methods and frames as `study.tracking.store_sql.SqliteRuns`.

Slower by design of the API: one `get_metric_history` call per run and metric, issued from a small
thread pool so that a remote server's latency overlaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import polars as pl

from study.tracking.schema import NOT_CURVES
from study.tracking.store_sql import (
    EXPERIMENT_SCHEMA,
    HISTORY_SCHEMA,
    KV_SCHEMA,
    LATEST_SCHEMA,
    RUN_SCHEMA,
)

if TYPE_CHECKING:
    from mlflow.entities import Run

PAGE = 1000


class ClientRuns:
    """`SqliteRuns`' interface over any MLflow tracking URI."""

    def __init__(self, tracking_uri: str, *, threads: int = 8) -> None:
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(tracking_uri=tracking_uri)
        self._threads = threads
        self._cache: dict[str, Run] = {}  # run_id → mlflow Run, filled by `runs`

    def close(self) -> None:
        self._cache.clear()

    def __enter__(self) -> ClientRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def experiments(self) -> pl.DataFrame:
        found = self._client.search_experiments()
        rows = [(e.experiment_id, e.name) for e in found]
        return pl.DataFrame(rows, schema=EXPERIMENT_SCHEMA, orient="row")

    def runs(
        self,
        *,
        experiment_ids: Iterable[str] | None = None,
        tag: tuple[str, str] | None = None,
        run_ids: Iterable[str] | None = None,
    ) -> pl.DataFrame:
        if run_ids is not None:
            found = [self._client.get_run(r) for r in run_ids]
            if experiment_ids is not None:
                wanted = set(experiment_ids)
                found = [r for r in found if r.info.experiment_id in wanted]
            if tag is not None:
                found = [r for r in found if r.data.tags.get(tag[0]) == tag[1]]
        else:
            ids = (
                list(experiment_ids)
                if experiment_ids is not None
                else self.experiments()["experiment_id"].to_list()
            )
            query = f"tags.`{tag[0]}` = '{tag[1]}'" if tag is not None else ""
            found, token = [], None
            while ids:
                page = self._client.search_runs(ids, query, max_results=PAGE, page_token=token)
                found += list(page)
                token = page.token
                if not token:
                    break
        found = [r for r in found if r.info.lifecycle_stage == "active"]
        self._cache.update({r.info.run_id: r for r in found})
        rows = [
            (
                r.info.run_id,
                r.info.experiment_id,
                r.info.run_name,
                r.info.status,
                r.info.start_time,
                r.info.end_time,
                r.info.artifact_uri,
            )
            for r in sorted(found, key=lambda r: r.info.start_time or 0)
        ]
        return pl.DataFrame(rows, schema=RUN_SCHEMA, orient="row")

    def tag_values(self, key: str) -> list[str]:
        runs = self.runs()
        values = {self._run(r).data.tags.get(key) for r in runs["run_id"]}
        return sorted(v for v in values if v is not None)

    def params(self, run_ids: Iterable[str]) -> pl.DataFrame:
        rows = [(r, k, v) for r in run_ids for k, v in self._run(r).data.params.items()]
        return pl.DataFrame(rows, schema=KV_SCHEMA, orient="row")

    def tags(self, run_ids: Iterable[str]) -> pl.DataFrame:
        rows = [(r, k, v) for r in run_ids for k, v in self._run(r).data.tags.items()]
        return pl.DataFrame(rows, schema=KV_SCHEMA, orient="row")

    def latest_metrics(self, run_ids: Iterable[str]) -> pl.DataFrame:
        rows = []
        for run_id in run_ids:
            data = self._run(run_id).data
            steps = getattr(data, "_metric_objs", None) or []
            step_of = {m.key: m.step for m in steps}
            rows += [(run_id, k, step_of.get(k, 0), v) for k, v in data.metrics.items()]
        return pl.DataFrame(rows, schema=LATEST_SCHEMA, orient="row")

    def metric_history(
        self,
        run_ids: Iterable[str],
        metrics: Iterable[str] | None = None,
        *,
        skip_prefixes: tuple[str, ...] = NOT_CURVES,
    ) -> pl.DataFrame:
        wanted = set(metrics) if metrics is not None else None
        jobs = [
            (run_id, key)
            for run_id in run_ids
            for key in self._run(run_id).data.metrics
            if (key in wanted if wanted is not None else not key.startswith(skip_prefixes))
        ]

        def fetch(job: tuple[str, str]) -> list[tuple[str, str, int, int, float]]:
            run_id, key = job
            history = self._client.get_metric_history(run_id, key)
            return [(run_id, key, m.step, m.timestamp, m.value) for m in history]

        with ThreadPoolExecutor(self._threads) as pool:
            rows = [row for part in pool.map(fetch, jobs) for row in part]
        schema = {
            "run_id": pl.String,
            "metric": pl.String,
            "step": pl.Int64,
            "timestamp": pl.Int64,
            "value": pl.Float64,
        }
        return (
            pl.DataFrame(rows, schema=schema, orient="row")
            .sort("run_id", "metric", "step", "timestamp")
            .unique(["run_id", "metric", "step"], keep="last", maintain_order=True)
            .select(list(HISTORY_SCHEMA))
        )

    def _run(self, run_id: str) -> Run:
        if run_id not in self._cache:
            self._cache[run_id] = self._client.get_run(run_id)
        return self._cache[run_id]
