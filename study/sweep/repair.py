"""`dpl sweep repair`: what a worker does for lost trials while it waits, done now, plus the
MLflow side of a kill that landed between the two systems — a child run left RUNNING whose
trial has ended (killed after Optuna was told, before MLflow was)."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from study.sweep import liveness, mlflow_link, queue
from study.sweep.spec import SweepSpec
from study.tracking import schema
from study.tracking.store import Store


def repair(
    study: optuna.Study, spec: SweepSpec | None, store: Store, storage_url: str, grace: int
) -> dict[str, Any]:
    """End lost trials (FAIL `lost`, point queued again, run KILLED) and orphaned RUNNING child
    runs; returns {"lost": trial numbers, "runs_killed": run ids}."""
    parent = study.user_attrs.get(mlflow_link.PARENT_ATTR)
    if spec is None or parent is None:
        return {"lost": [], "runs_killed": []}
    lost = liveness.reap(study, store, spec, parent, storage_url, grace)
    killed = []
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    for run in mlflow_link.running_children(store, spec, parent):
        number = run.data.tags.get(schema.TRIAL_NUMBER)
        trial = trials.get(int(number)) if number is not None else None
        if trial is None or trial.state != TrialState.RUNNING:
            ended = trial.state.name if trial is not None else "missing"
            reason = f"{queue.LOST}: its trial ended ({ended}) but the run was left RUNNING"
            mlflow_link.kill_run(store, run.info.run_id, reason)
            killed.append(run.info.run_id)
    return {"lost": [t.number for t in lost], "runs_killed": killed}
