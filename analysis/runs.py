"""A study's runs as polars frames: `trials` (one row per trial) and `curves` (long).

    trials = load_trials(store, "alpha_x_N")   # run_id, trial, state, regime, transient, ...,
                                                # params (dotted, typed), summary metrics
    curves = load_curves(store, "alpha_x_N")   # trial, run_id, step, metric, value
    study = load_study(store, "alpha_x_N")     # .trials, and .axes: what the sweep varied, and
                                                # on which scale (from its parent run)

A study is named by its sweep/Optuna study name (the `study` tag every trial run carries), by an
MLflow experiment name, or by a parent run id. A local SQLite store is read directly
(`study.tracking.store_sql`); any other tracking URI goes through the MLflow client
(`study.tracking.store_client`). In `trials`, a curve's column is its final value (its point at
the trial's final step: `icl/structural_paper`), a feature's its one value (`summary/transience`),
and the headline columns (`icl/structural`, `summary/transience`, …) show the trial's own
protocol. Stores written with the older dotted names read back under today's
(`study.tracking.metric_view`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import polars as pl

from study import states
from study.controls import KIND_KEY
from study.tracking import schema
from study.tracking.metric_view import current_curves, final_metrics, stored_keys, with_headlines
from study.tracking.runs_reader import RunsReader
from study.tracking.store import Store
from study.tracking.store_client import ClientRuns
from study.tracking.store_sql import SqliteRuns

FIRST_COLUMNS = (
    "run_id",
    "trial",
    "study",
    "state",
    "regime",
    "transient",
    "protocol",
    "replicate_group",
)


class StudyNotFound(LookupError):
    """No study, experiment or parent run of that name in the store."""


@dataclass(frozen=True)
class StudyRef:
    """Where a study's trial runs are: the runs frame (one row per trial run) and its parent."""

    name: str
    runs: pl.DataFrame
    parent_run_id: str | None
    experiment_ids: tuple[str, ...]

    @property
    def run_ids(self) -> list[str]:
        return self.runs.get_column("run_id").to_list()


@contextlib.contextmanager
def open_runs(store: Store, *, client: bool = False) -> Iterator[RunsReader]:
    """The direct SQLite reader for a local SQLite store, else (or with `client=True`) MLflow's."""
    path = store.sqlite_path
    reader = SqliteRuns(path) if path is not None and not client else ClientRuns(store.tracking_uri)
    try:
        yield reader
    finally:
        reader.close()


def resolve_study(reader: RunsReader, study: str) -> StudyRef:
    """Find the trial runs of `study`: a `study` tag, else an experiment name, else a parent run."""
    tagged = reader.runs(tag=(schema.STUDY, study))
    if tagged.height:
        return _split_parent(reader, study, tagged)
    experiments = reader.experiments()
    named = experiments.filter(pl.col("name") == study)
    if named.height:
        return _split_parent(reader, study, reader.runs(experiment_ids=named["experiment_id"]))
    children = reader.runs(tag=(schema.PARENT, study))
    if children.height:
        return StudyRef(study, children, study, tuple(children["experiment_id"].unique().sort()))
    raise StudyNotFound(_not_found_message(reader, study, experiments))


def _split_parent(reader: RunsReader, name: str, runs: pl.DataFrame) -> StudyRef:
    """Trials are the runs with a parent; the parent is the run they point to (or, in a study
    whose trials were logged without parents, none)."""
    parents = reader.tags(runs["run_id"]).filter(pl.col("key") == schema.PARENT)
    parent_ids = parents["value"].unique().to_list()
    has_parent = runs["run_id"].is_in(parents["run_id"].implode())
    trials = runs.filter(has_parent) if parents.height else runs
    parent = parent_ids[0] if len(parent_ids) == 1 else None
    if (
        parent is None and parents.height == 0
    ):  # a lone run tagged `study` with no trials is the parent
        lone = runs.filter(pl.col("run_name") == name)
        parent = lone["run_id"][0] if lone.height == 1 and runs.height > 1 else None
        trials = runs.filter(pl.col("run_id") != parent) if parent else runs
    return StudyRef(name, trials, parent, tuple(runs["experiment_id"].unique().sort()))


def _not_found_message(reader: RunsReader, study: str, experiments: pl.DataFrame) -> str:
    names = ", ".join(experiments["name"].to_list()[:20]) or "none"
    return (
        f"no study, experiment or parent run named {study!r} in this store (experiments: {names})"
    )


@dataclass(frozen=True)
class LoadedStudy:
    """A study's trials with what was swept: `axes` {param: 'log' | 'linear' | 'categorical'},
    in spec order, as the sweep recorded it on the parent run (empty for a study not made by
    `dpl sweep`, whose scales analysis then guesses from the values)."""

    name: str
    trials: pl.DataFrame  # the points' trials
    axes: dict[str, str]
    parent_run_id: str | None
    controls: pl.DataFrame  # control trials (`controls: true`); empty when there are none

    def log_scales(self) -> dict[str, bool]:
        """{numeric axis: sampled on a log scale}."""
        return {key: scale == "log" for key, scale in self.axes.items() if scale != "categorical"}


def study_axes(reader: RunsReader, ref: StudyRef) -> dict[str, str]:
    """The `schema.AXES` tag of the study's parent run, or {} when there is none."""
    if ref.parent_run_id is None:
        return {}
    tags = reader.tags([ref.parent_run_id]).filter(pl.col("key") == schema.AXES)
    return json.loads(tags["value"][0]) if tags.height else {}


def load_study(store: Store, study: str, *, client: bool = False) -> LoadedStudy:
    """The trials frame (`load_trials`) with the study's axes and parent run."""
    with open_runs(store, client=client) as reader:
        ref = resolve_study(reader, study)
        frame = trials_frame(reader, ref)
        control = is_control()
        return LoadedStudy(
            study,
            frame.filter(~control),
            study_axes(reader, ref),
            ref.parent_run_id,
            frame.filter(control),
        )


def load_trials(
    store: Store, study: str, *, client: bool = False, controls: bool = False
) -> pl.DataFrame:
    """One row per trial run: identity, state, stored regime, typed params, summary metrics.
    Control trials (`role` = control) only with `controls=True`: they are no point of the map."""
    with open_runs(store, client=client) as reader:
        ref = resolve_study(reader, study)
        frame = trials_frame(reader, ref)
        return frame if controls else frame.filter(~is_control())


def label_controls(trials: pl.DataFrame, by: str) -> pl.DataFrame:
    """`by` as text, each control's value marked as its own: `control` when `by` is the kind of
    forgetting (a control's own kind, `none`, is the plain runs'), else `<value> · control`."""
    value = pl.col(by).cast(pl.String)
    control = pl.lit("control") if by == KIND_KEY else value + " · control"
    return trials.with_columns(pl.when(is_control()).then(control).otherwise(value).alias(by))


def is_control() -> pl.Expr:
    """Rows of control trials, by their role tag."""
    return pl.col("role").fill_null("") == schema.ROLE_CONTROL


def load_curves(
    store: Store, study: str, metrics: Iterable[str] | None = None, *, client: bool = False
) -> pl.DataFrame:
    """Every evaluation of every trial, long: trial, run_id, step, metric, value."""
    with open_runs(store, client=client) as reader:
        ref = resolve_study(reader, study)
        return curves_frame(reader, ref, metrics)


def trials_frame(reader: RunsReader, ref: StudyRef) -> pl.DataFrame:
    run_ids = ref.run_ids
    runs = ref.runs.select(
        "run_id", "experiment_id", "status", "start_time", "end_time", "artifact_uri"
    )
    tags = _wide(
        reader.tags(run_ids).filter(pl.col("key").is_in(list(schema.TRIAL_COLUMNS))), run_ids
    )
    tags = tags.rename({k: v for k, v in schema.TRIAL_COLUMNS.items() if k in tags.columns})
    for name in schema.TRIAL_COLUMNS.values():
        if name not in tags.columns:
            tags = tags.with_columns(pl.lit(None, pl.String).alias(name))
    params = _wide(reader.params(run_ids), run_ids)
    params = params.with_columns(_typed(params[c]) for c in params.columns if c != "run_id")
    metrics = _wide(final_metrics(reader, run_ids), run_ids)
    frame = (
        runs.join(tags, on="run_id", how="left")
        .join(params, on="run_id", how="left")
        .join(metrics, on="run_id", how="left")
        .pipe(with_headlines)
        .with_columns(
            trial=pl.col("trial").cast(pl.Int64, strict=False),
            transient=pl.col("transient").str.to_lowercase() == "true",
            pruned=pl.col("pruned").str.to_lowercase() == "true",
            state=pl.when(pl.col("pruned").str.to_lowercase() == "true")
            .then(pl.lit(states.PRUNED))
            .otherwise(pl.col("status").replace_strict(states.OF_RUN_STATUS, default="unknown")),
        )
    )
    if frame["trial"].null_count() == frame.height:  # not a sweep: number runs by start time
        frame = frame.with_columns(trial=pl.int_range(pl.len(), dtype=pl.Int64))
    leading = [c for c in FIRST_COLUMNS if c in frame.columns]
    param_cols = sorted(c for c in params.columns if c != "run_id")
    metric_cols = sorted(c for c in frame.columns if schema.is_metric(c))
    rest = [c for c in frame.columns if c not in {*leading, *param_cols, *metric_cols}]
    return frame.select(*leading, *param_cols, *metric_cols, *rest).sort("trial")


def curves_frame(
    reader: RunsReader, ref: StudyRef, metrics: Iterable[str] | None = None
) -> pl.DataFrame:
    tags = _wide(
        reader.tags(ref.run_ids).filter(
            pl.col("key").is_in([schema.TRIAL_NUMBER, schema.PROTOCOL])
        ),
        ref.run_ids,
    )
    protocols = dict(tags.select("run_id", protocol=_column(tags, schema.PROTOCOL)).iter_rows())
    if schema.TRIAL_NUMBER in tags.columns:
        numbers = tags.select(
            "run_id", trial=pl.col(schema.TRIAL_NUMBER).cast(pl.Int64, strict=False)
        )
    else:
        numbers = ref.runs.select("run_id", trial=pl.int_range(pl.len(), dtype=pl.Int64))
    wanted = None if metrics is None else list(metrics)
    stored = reader.metric_history(ref.run_ids, None if wanted is None else stored_keys(wanted))
    history = current_curves(stored, protocols)
    if wanted is not None:  # asked for a headline, the protocols' curves came along
        history = history.filter(pl.col("metric").is_in(wanted))
    trial_of = dict(numbers.iter_rows())
    # A dictionary lookup and a stable one-key sort: a join and a three-key sort of 6 M rows
    # cost seconds.
    return history.select(
        trial=pl.col("run_id").replace_strict(trial_of, default=None, return_dtype=pl.Int64),
        run_id="run_id",
        step="step",
        metric="metric",
        value="value",
    ).sort("trial", maintain_order=True)


def _wide(long: pl.DataFrame, run_ids: list[str]) -> pl.DataFrame:
    """(run_id, key, value) → one row per run, one column per key; runs without any key kept."""
    ids = pl.DataFrame({"run_id": run_ids}, schema={"run_id": pl.String})
    if not long.height:
        return ids
    wide = long.pivot(on="key", index="run_id", values="value", aggregate_function="first")
    return ids.join(wide, on="run_id", how="left")


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    """`name`, or nulls where no run has it."""
    return pl.col(name) if name in frame.columns else pl.lit(None, pl.String)


def _typed(column: pl.Series) -> pl.Series:
    """MLflow stores params as strings: 'None' → null, then the narrowest of int, float, bool, str."""
    # Annotated: under python_version 3.10 polars' `Self`-returning methods read as Any.
    values: pl.Series = column.replace("None", None)
    present = values.is_not_null().sum()
    if present == 0:
        as_str: pl.Series = values.cast(pl.String)
        return as_str
    as_int = values.str.to_integer(strict=False)
    if as_int.is_not_null().sum() == present:
        return as_int.alias(column.name)
    as_float: pl.Series = values.cast(pl.Float64, strict=False)
    if as_float.is_not_null().sum() == present:
        return as_float.alias(column.name)
    if set(values.drop_nulls().unique().to_list()) <= {"True", "False"}:
        return (values == "True").alias(column.name)
    return values.alias(column.name)
