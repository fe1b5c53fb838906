"""What the readers make of the stored metrics (`analysis.runs`): today's names for an older
store's dotted ones (`metric_names.RENAMED`), the headline rebuilt from each run's `protocol`
tag (the writer stores it once, under the protocol's name), and each curve's final value read
at the run's final step (`FINAL_STEP`: a forgetting run whose end falls mid-cycle has a later
point, its end state, that the summary does not count, docs/design.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from study.config import PROTOCOLS
from study.metric_names import (
    FINAL_STEP,
    HEADLINES,
    ICL_STRUCTURAL,
    OLD_SUMMARY_PREFIX,
    RENAMED,
    SUMMARY_PREFIX,
    headline_of,
    structural,
)
from study.tracking.runs_reader import RunsReader


def stored_keys(metrics: Iterable[str]) -> list[str]:
    """Every key a store may hold the histories of `metrics` under: the name, its old names
    (not an older store's `summary.<curve>`, a final value) and, for a headline, the names under
    each protocol."""
    wanted = set(metrics)
    for headline in wanted & set(HEADLINES):
        wanted |= {headline_of(p)[headline] for p in PROTOCOLS}
    old = {k for k, new in RENAMED.items() if new in wanted and not _old_final(k, new)}
    return sorted(wanted | old)


def _old_final(old: str, new: str) -> bool:
    return old.startswith(OLD_SUMMARY_PREFIX) and not new.startswith(SUMMARY_PREFIX)


def current_curves(history: pl.DataFrame, protocols: Mapping[str, str | None]) -> pl.DataFrame:
    """A long history (run_id, metric, step, value) under today's names, with the headline curve
    of every run that stored only its protocol's."""
    renamed = _renamed(history, "metric")
    own = pl.DataFrame(
        [(run, structural(p)) for run, p in protocols.items() if p in PROTOCOLS],
        schema={"run_id": pl.String, "metric": pl.String},
        orient="row",
    )
    has_headline = renamed.filter(pl.col("metric") == ICL_STRUCTURAL).select("run_id").unique()
    views = (
        renamed.filter(pl.col("metric").is_in(own["metric"].unique().implode()))
        .join(own, on=["run_id", "metric"], how="semi")
        .join(has_headline, on="run_id", how="anti")
        .with_columns(metric=pl.lit(ICL_STRUCTURAL))
    )
    return pl.concat([renamed, views]) if views.height else renamed


def _renamed(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """`column`'s old names replaced by today's; a store without any is passed as it is (a
    replace over millions of history rows costs more than the look)."""
    if not frame[column].is_in(list(RENAMED)).any():
        return frame
    return frame.with_columns(pl.col(column).replace(RENAMED))


def final_metrics(reader: RunsReader, run_ids: list[str]) -> pl.DataFrame:
    """Each run's final values and features, long (run_id, key, value), under today's names. An
    older store's `summary.<curve>` wins over the curve's last point: it was the aligned final."""
    latest = reader.latest_metrics(run_ids)
    named = (
        latest.with_columns(
            old_summary=pl.col("key").str.starts_with(OLD_SUMMARY_PREFIX),
            key=pl.col("key").replace(RENAMED),
        )
        .sort("old_summary")
        .unique(["run_id", "key"], keep="last")
        .drop("old_summary")
    )
    return _at_final_step(reader, named).select("run_id", "key", "value")


def _at_final_step(reader: RunsReader, latest: pl.DataFrame) -> pl.DataFrame:
    """Curves whose last point lies past the run's final step take their point at it instead."""
    finals = latest.filter(pl.col("key") == FINAL_STEP).select(
        "run_id", final=pl.col("value").cast(pl.Int64)
    )
    late = latest.join(finals, on="run_id").filter(
        (pl.col("step") > pl.col("final")) & ~pl.col("key").str.starts_with(SUMMARY_PREFIX)
    )
    if not late.height:
        return latest
    history = reader.metric_history(late["run_id"].unique(), late["key"].unique())
    at_final = (
        history.join(finals, on="run_id")
        .filter(pl.col("step") == pl.col("final"))
        .select("run_id", key="metric", step="step", value="value")
    )
    kept = latest.join(late, on=["run_id", "key"], how="anti")
    return pl.concat([kept, at_final.cast(kept.schema)])


def with_headlines(frame: pl.DataFrame) -> pl.DataFrame:
    """The headline columns of a wide trials frame, from each trial's `protocol` column; a
    headline column that an older store held itself wins."""
    columns = []
    for headline in HEADLINES:
        views = [
            pl.when(pl.col("protocol") == p).then(pl.col(name))
            for p in PROTOCOLS
            if (name := headline_of(p)[headline]) in frame.columns
        ]
        stored = [pl.col(headline)] if headline in frame.columns else []
        if stored or views:
            columns.append(pl.coalesce(*stored, *views).alias(headline))
    return frame.with_columns(columns)
