"""The study ↔ MLflow link: one parent run per study, one child run per trial, cross-linked.

`optuna_integration.MLflowCallback` is deprecated and never creates a parent run, so this is
our own: the parent run is created once, before workers start, and its id kept as a study user
attribute; each trial's run (opened by `run_trial` in whichever process runs the trial) points
to it through `mlflow.parentRunId` and carries the `study`, `trial_number` and
`replicate_group` tags that `analysis.runs` reads; the Optuna trial carries the run id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import optuna
from mlflow.entities import RunTag
from mlflow.exceptions import MlflowException

from study.param_names import point_text
from study.sweep import attrs
from study.sweep.points import axes
from study.sweep.spec import SweepSpec, spec_hash
from study.tracking import schema
from study.tracking.credentials import redact
from study.tracking.logger import RunLogger
from study.tracking.store import Store
from study.tracking.uninterrupted import uninterrupted


@uninterrupted
def ensure_parent(store: Store, spec: SweepSpec, study: optuna.Study, storage_url: str) -> str:
    """The study's parent run, created on first use and set RUNNING again on a resume."""
    client = store.client()
    tags = {
        schema.STUDY: spec.name,
        schema.ROLE: schema.ROLE_STUDY,
        schema.SPEC_HASH: spec_hash(spec),
        schema.STORAGE: redact(store.relative(storage_url)),
        schema.NOTE: spec.description,
        schema.AXES: json.dumps(axes(spec)),
    }
    stored = study.user_attrs.get(attrs.PARENT_RUN)
    run_id = str(stored) if stored is not None else None
    if run_id is not None and _exists(client, run_id):
        client.update_run(run_id, status="RUNNING")
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    else:  # a new study, or a study now tracked in another store
        experiment_id = store.experiment_id(spec.experiment_name)
        run_id = client.create_run(experiment_id, run_name=spec.name, tags=tags).info.run_id
        study.set_user_attr(attrs.PARENT_RUN, run_id)
    # the spec is the parent's artifact, not a flattened copy in params; the experiment says
    # what it holds
    client.log_dict(run_id, spec.to_json(), schema.SPEC_ARTIFACT)
    experiment_id = client.get_run(run_id).info.experiment_id
    client.set_experiment_tag(experiment_id, schema.NOTE, experiment_note(spec))
    return run_id


def experiment_note(spec: SweepSpec) -> str:
    varied = ", ".join(axes(spec)) or "nothing"
    lines = [f"Study `{spec.name}`: one parent run, one child run per trial; varies {varied}."]
    return "\n\n".join([*lines, *([spec.description] if spec.description else [])])


@uninterrupted
def summarize_parent(
    store: Store, run_id: str, spec: SweepSpec, regimes: Mapping[str, int]
) -> None:
    """The parent's regime counts, as metrics (`regimes/icl` …) and in its description."""
    client = store.client()
    RunLogger(client, run_id).metrics(0, {f"regimes/{k}": float(v) for k, v in regimes.items()})
    counts = ", ".join(f"{k} {v}" for k, v in regimes.items()) or "no finished trials yet"
    note = (
        f"{spec.description}\n\nRegimes: {counts}." if spec.description else f"Regimes: {counts}."
    )
    client.set_tag(run_id, schema.NOTE, note)


@uninterrupted
def end_parent(store: Store, run_id: str, status: str) -> None:
    """FINISHED when an invocation ends, KILLED when it is interrupted: a parent never stays
    RUNNING between invocations (the next one sets it RUNNING again)."""
    store.client().set_terminated(run_id, status)


@uninterrupted
def mark_parent(store: Store, run_id: str, status: str) -> None:
    """SCHEDULED once `dpl sweep create` has made it, RUNNING while workers run."""
    store.client().update_run(run_id, status=status)


def has_run(store: Store, run_id: str) -> bool:
    return _exists(store.client(), run_id)


def child_tags(
    spec: SweepSpec, trial_number: int, group: str, replicate: int, *, control: bool = False
) -> dict[str, str]:
    tags = {
        schema.STUDY: spec.name,
        schema.TRIAL_NUMBER: str(trial_number),
        schema.REPLICATE_GROUP: group,
        schema.REPLICATE: str(replicate),
        schema.SWEPT: json.dumps(list(axes(spec))),
    }
    return tags | ({schema.ROLE: schema.ROLE_CONTROL} if control else {})


@uninterrupted
def find_child(store: Store, spec: SweepSpec, parent_run_id: str, trial_number: int) -> str | None:
    """The run a trial opened, found by its tags (for a trial whose `run_trial` raised)."""
    client = store.client()
    found = client.get_experiment_by_name(spec.experiment_name)
    if found is None:
        return None
    found_runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.{schema.STUDY} = '{spec.name}' AND tags.{schema.TRIAL_NUMBER} = '{trial_number}'",
    )
    ids = [
        str(r.info.run_id) for r in found_runs if r.data.tags.get(schema.PARENT) == parent_run_id
    ]
    return ids[0] if ids else None


def running_children(store: Store, spec: SweepSpec, parent_run_id: str) -> list[Any]:
    """The parent's child runs still RUNNING."""
    client = store.client()
    found = client.get_experiment_by_name(spec.experiment_name)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.{schema.STUDY} = '{spec.name}' AND attributes.status = 'RUNNING'",
    )
    return [r for r in runs if r.data.tags.get(schema.PARENT) == parent_run_id]


@uninterrupted
def end_lost_run(
    store: Store, spec: SweepSpec, parent_run_id: str, trial_number: int, reason: str
) -> None:
    """KILLED, with the reason, for the run of a trial whose worker died without ending it."""
    run_id = find_child(store, spec, parent_run_id, trial_number)
    if run_id is not None:
        kill_run(store, run_id, reason)


@uninterrupted
def kill_run(store: Store, run_id: str, reason: str, *, ended_too: bool = False) -> None:
    """A still RUNNING run ends KILLED with `reason`; a run that ended keeps its status unless
    `ended_too` (a trial released for a machine fault: its FAILED run becomes KILLED)."""
    client = store.client()
    if ended_too or client.get_run(run_id).info.status == "RUNNING":
        client.set_tag(run_id, schema.FAILURE_REASON, reason[: schema.MAX_REASON_CHARS])
        client.set_terminated(run_id, "KILLED")


@uninterrupted
def record_failure(
    store: Store,
    spec: SweepSpec,
    parent_run_id: str,
    tags: Mapping[str, str],
    point: Mapping[str, Any],
    reason: str,
    name: str,
) -> str:
    """A FAILED child run for a trial that failed before training (its config did not
    validate), so that every trial has its run and their states match."""
    client = store.client()
    all_tags = {
        **tags,
        schema.PARENT: parent_run_id,
        schema.FAILURE_REASON: reason[: schema.MAX_REASON_CHARS],
    }
    run = client.create_run(store.experiment_id(spec.experiment_name), run_name=name, tags=all_tags)
    RunLogger(client, run.info.run_id).params(point)
    client.set_terminated(run.info.run_id, "FAILED")
    return str(run.info.run_id)


@uninterrupted
def fail_run(store: Store, run_id: str, reason: str) -> None:
    """Mark a run FAILED after the fact (its objective was not finite)."""
    client = store.client()
    client.set_tag(run_id, schema.FAILURE_REASON, reason[: schema.MAX_REASON_CHARS])
    client.set_terminated(run_id, "FAILED")


def link(trial: optuna.Trial, run_id: str | None) -> None:
    """The run id on the Optuna trial; the run already names the trial by its tags."""
    if run_id is not None:
        trial.set_user_attr(attrs.RUN, run_id)


def run_name(point: Mapping[str, Any], seed: int, *, control: bool = False) -> str:
    """The point's swept values and its seed, `α=1.5 · active · s42`: what a run list needs."""
    parts = [point_text(dict(point))] if point else []
    return " · ".join([*parts, *(["control"] if control else []), f"s{seed}"])


def outcome_note(
    point: Mapping[str, Any], seed: int, regime: str, summary: Mapping[str, float]
) -> str:
    """A finished run's description: `α=1.5, active, seed 42 → dual (ICL 0.52, head IWL 0.85)`."""
    where = ", ".join([p for p in [point_text(dict(point), ", ")] if p] + [f"seed {seed}"])
    icl, iwl = summary.get(schema.ICL_STRUCTURAL), summary.get(schema.IWL_HEAD)
    scores = f" (ICL {icl:.2f}, head IWL {iwl:.2f})" if icl is not None and iwl is not None else ""
    return f"{where} → {regime}{scores}"


@uninterrupted
def describe(store: Store, run_id: str, text: str) -> None:
    store.client().set_tag(run_id, schema.NOTE, text[: schema.MAX_REASON_CHARS])


def _exists(client: Any, run_id: str) -> bool:
    try:
        return bool(client.get_run(run_id).info.lifecycle_stage == "active")
    except MlflowException:
        return False
