"""What reading a tracking store's runs takes, whichever way it is read: straight from MLflow's
SQLite database (`store_sql.SqliteRuns`, fast, local) or through MLflow's client
(`store_client.ClientRuns`, any server). Analysis and the metric views take a `RunsReader`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import polars as pl


class RunsReader(Protocol):
    """Read-only frames of a store's experiments, runs, params, tags and metrics."""

    def close(self) -> None: ...

    def experiments(self) -> pl.DataFrame:
        """Active experiments: experiment_id, name."""
        ...

    def runs(
        self,
        *,
        experiment_ids: Iterable[str] | None = None,
        tag: tuple[str, str] | None = None,
        run_ids: Iterable[str] | None = None,
    ) -> pl.DataFrame:
        """Active runs matching every given filter, one row per run."""
        ...

    def tag_values(self, key: str) -> list[str]:
        """Distinct values of tag `key` over active runs."""
        ...

    def params(self, run_ids: Iterable[str]) -> pl.DataFrame:
        """run_id, key, value per param."""
        ...

    def tags(self, run_ids: Iterable[str]) -> pl.DataFrame:
        """run_id, key, value per tag."""
        ...

    def latest_metrics(self, run_ids: Iterable[str]) -> pl.DataFrame:
        """The last logged value of every metric of each run."""
        ...

    def metric_history(
        self,
        run_ids: Iterable[str],
        metrics: Iterable[str] | None = None,
        *,
        skip_prefixes: tuple[str, ...] = ...,
    ) -> pl.DataFrame:
        """Every logged (step, value) of the runs' metrics, long: run_id, metric, step, value."""
        ...
