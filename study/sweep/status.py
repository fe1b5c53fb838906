"""What a study's trials add up to: states, budget left, best trials, regimes; one row per trial.

Read from Optuna alone (the trial carries its summary metrics, regime and MLflow run id as user
attributes), so `dpl sweep status` needs no tracking server.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna
import polars as pl
from optuna.trial import FrozenTrial, TrialState

from study import states
from study.regimes import CALLS
from study.sweep import attrs
from study.sweep.attrs import counts, is_control, point_of, summary_of, used
from study.sweep.spec import SweepSpec

STATE_NAMES = {
    TrialState.COMPLETE: states.COMPLETE,
    TrialState.PRUNED: states.PRUNED,
    TrialState.FAIL: states.FAILED,
    TrialState.RUNNING: states.RUNNING,
    TrialState.WAITING: states.WAITING,
}


@dataclass(frozen=True)
class StudyStatus:
    name: str
    budget: int | None
    states: dict[str, int]  # complete, pruned, failed, running, waiting, released
    budget_left: int | None  # trials not yet finished or running
    regimes: dict[str, int]  # over complete trials of points
    controls: dict[str, int]  # states of the control trials (outside the budget)
    best: list[dict[str, Any]]  # best trial, or the Pareto front; empty for a map
    objective: str  # "map", or "maximize dual_score, …"
    sampler: str
    spec_file: str

    @property
    def finished(self) -> bool:
        pending = self.states.get(states.RUNNING, 0) + self.controls.get(states.RUNNING, 0)
        return self.budget_left == 0 and pending + self.controls.get(states.WAITING, 0) == 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "finished": self.finished}


def state_name(trial: FrozenTrial) -> str:
    return STATE_NAMES[trial.state] if counts(trial) else states.RELEASED


def status(study: optuna.Study, spec: SweepSpec | None) -> StudyStatus:
    everything = study.get_trials(deepcopy=False)
    trials = [t for t in everything if not is_control(t)]
    by_state = Counter(state_name(t) for t in trials)
    controls = Counter(state_name(t) for t in everything if is_control(t))
    budget = spec.budget if spec is not None else None
    regimes = Counter(
        t.user_attrs.get(attrs.REGIME) for t in trials if t.state == TrialState.COMPLETE
    )
    return StudyStatus(
        name=study.study_name,
        budget=budget,
        states={
            name: by_state[name]
            for name in (*STATE_NAMES.values(), states.RELEASED)
            if by_state[name]
        },
        budget_left=None
        if budget is None
        else max(budget - used(trials) + by_state[states.WAITING], 0),
        regimes={r: regimes[r] for r in CALLS if regimes[r]},
        controls=dict(controls),
        best=[_brief(t, spec) for t in best_trials(study, spec)],
        objective=_objective(spec),
        sampler=spec.sampler.kind if spec is not None else "?",
        spec_file=study.user_attrs.get(attrs.SPEC_FILE, ""),
    )


def best_trials(study: optuna.Study, spec: SweepSpec | None) -> list[FrozenTrial]:
    """The best trial (one objective) or the Pareto front (several); none for a map."""
    if spec is not None and spec.is_map:
        return []
    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return []
    return study.best_trials if len(study.directions) > 1 else [study.best_trial]


def _objective(spec: SweepSpec | None) -> str:
    if spec is None:
        return "?"
    if spec.is_map:
        return "map"
    return ", ".join(f"{t.direction} {t.metric}" for t in spec.targets)


def _brief(trial: FrozenTrial, spec: SweepSpec | None) -> dict[str, Any]:
    metrics = [t.metric for t in spec.targets] if spec is not None else []
    return {
        "number": trial.number,
        "values": dict(zip(metrics, trial.values, strict=False)) if metrics else trial.values,
        "params": trial.params,
        attrs.REPLICATE: trial.user_attrs.get(attrs.REPLICATE),
        attrs.REGIME: trial.user_attrs.get(attrs.REGIME),
        attrs.RUN: trial.user_attrs.get(attrs.RUN),
    }


def trial_rows(study: optuna.Study, spec: SweepSpec | None = None) -> list[dict[str, Any]]:
    """One dict per trial that ran or runs (queued placeholders are left out)."""
    metrics = [t.metric for t in spec.targets] if spec is not None else []
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.WAITING:
            continue
        row: dict[str, Any] = {
            "study": study.study_name,
            "number": t.number,
            "state": state_name(t),
            attrs.REASON: t.user_attrs.get(attrs.REASON),
            attrs.REPLICATE: t.user_attrs.get(attrs.REPLICATE),
            attrs.GROUP: t.user_attrs.get(attrs.GROUP),
            "control": is_control(t),
            attrs.SEED: t.user_attrs.get(attrs.SEED),
            attrs.REGIME: t.user_attrs.get(attrs.REGIME),
            attrs.TRANSIENT: t.user_attrs.get(attrs.TRANSIENT),
            attrs.RUN: t.user_attrs.get(attrs.RUN),
            "datetime_start": t.datetime_start,
            "duration_s": t.duration.total_seconds() if t.duration is not None else None,
        }
        for i, value in enumerate([] if spec is not None and spec.is_map else t.values or []):
            row[f"objective.{metrics[i]}" if i < len(metrics) else f"value_{i}"] = value
        row |= point_of(t)
        row |= summary_of(t)
        rows.append(row)
    return rows


def export_frame(study: optuna.Study, spec: SweepSpec | None = None) -> pl.DataFrame:
    """What `dpl sweep export` writes, read from Optuna alone: `trial_rows` as a frame: params under their dotted keys, metrics under their names."""
    rows = trial_rows(study, spec)
    if not rows:
        return pl.DataFrame(schema={"study": pl.String, "number": pl.Int64, "state": pl.String})
    return pl.from_dicts(rows, infer_schema_length=None, strict=False)


def export(study: optuna.Study, spec: SweepSpec | None, out: str | Path) -> int:
    frame = export_frame(study, spec)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    return frame.height
