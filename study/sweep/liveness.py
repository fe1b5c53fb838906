"""Which running trials still have a live worker, across machines, and what becomes of the rest.

A worker beats for every trial it holds, from a thread, every `heartbeat_s` seconds: on a
database storage through Optuna's own heartbeat (`RDBStorage.record_heartbeat`; the database's
clock judges staleness, so hosts need not agree on the time), on a journal file — which has no
heartbeat — as the trial's `dpl.beat` system attribute (the beating host's clock). A RUNNING
trial is *lost* when its worker is a dead process on this host (seen at once), or when its
last beat is older than the grace period (any host). A lost trial ends FAIL with the reason
`lost` — budget given back, its point queued again — and its MLflow run KILLED with that reason:
distinct from a failed trial, whose configuration failed and which counts.

The host name a worker records is `queue.hostname()`.

`dpl sweep repair` (`repair`) does at once what a waiting worker does every beat, plus the
MLflow side of a kill that landed between the two systems: a child run left RUNNING whose trial
has ended (killed after Optuna was told, before MLflow was).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from study.sweep import attrs, mlflow_link, queue
from study.sweep import optuna_private as private
from study.sweep.defaults import GRACE_BEATS
from study.sweep.queue import hostname
from study.sweep.storage import open_storage
from study.tracking import schema

if TYPE_CHECKING:
    from study.sweep.spec import SweepSpec
    from study.tracking.store import Store


def grace_s(heartbeat_s: int) -> int:
    return GRACE_BEATS * heartbeat_s


class Heartbeat:
    """Beats for the trials in `held` from a daemon thread; `hold` beats once at once."""

    def __init__(self, storage_url: str, heartbeat_s: int) -> None:
        self.storage = open_storage(storage_url, heartbeat_s=heartbeat_s)
        self._interval = heartbeat_s
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dpl-heartbeat", daemon=True)

    def hold(self, trial_id: int) -> None:
        with self._lock:
            self._held.add(trial_id)
        self._beat(trial_id)

    def drop(self, trial_id: int) -> None:
        with self._lock:
            self._held.discard(trial_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                held = list(self._held)
            for trial_id in held:
                self._beat(trial_id)

    def _beat(self, trial_id: int) -> None:
        try:
            if isinstance(self.storage, RDBStorage):
                self.storage.record_heartbeat(trial_id)
            else:
                self.storage.set_trial_system_attr(trial_id, attrs.BEAT, time.time())
        except UpdateFinishedTrialError:
            self.drop(trial_id)
        except Exception as err:  # a storage hiccup: the next beat tries again
            print(f"heartbeat of trial id {trial_id} failed: {err}", file=sys.stderr)


def lost_trials(study: optuna.Study, storage_url: str, grace: int) -> list[FrozenTrial]:
    """RUNNING trials whose worker is gone: a dead pid on this host, or no beat for `grace` s."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    storage = open_storage(storage_url, heartbeat_s=max(1, grace // GRACE_BEATS))
    if isinstance(storage, RDBStorage):
        stale = private.stale_trials(storage, study, grace)  # Optuna's own staleness
    else:
        now = time.time()
        stale = {
            private.trial_id(t)
            for t in running
            if now - t.system_attrs.get(attrs.BEAT, now) > grace
        }
    here = hostname()
    return [
        t
        for t in running
        if private.trial_id(t) in stale
        or ((w := t.system_attrs.get(attrs.WORKER)) and w["host"] == here and not _alive(w["pid"]))
    ]


def reap(
    study: optuna.Study,
    store: Store,
    spec: SweepSpec,
    parent_run_id: str,
    storage_url: str,
    grace: int,
) -> list[FrozenTrial]:
    """End the lost trials (FAIL `lost`, budget given back, point queued again) and their MLflow
    runs (KILLED); returns the trials this call ended (a racing reaper ends each only once)."""
    ended = []
    for t in lost_trials(study, storage_url, grace):
        worker = t.system_attrs.get(attrs.WORKER, {})
        if not queue.end(study, private.trial_id(t), attrs.LOST):
            continue  # ended meanwhile: by its worker, or by another reaper
        queue.requeue(study, t)
        detail = f"{attrs.LOST}: worker {worker.get('host', '?')}:{worker.get('pid', '?')} stopped"
        mlflow_link.end_lost_run(store, spec, parent_run_id, t.number, detail)
        ended.append(t)
    return ended


def repair(
    study: optuna.Study, spec: SweepSpec | None, store: Store, storage_url: str, grace: int
) -> dict[str, Any]:
    """End lost trials (FAIL `lost`, point queued again, run KILLED) and orphaned RUNNING child
    runs; returns {"lost": trial numbers, "runs_killed": run ids}."""
    parent = study.user_attrs.get(attrs.PARENT_RUN)
    if spec is None or parent is None:
        return {"lost": [], "runs_killed": []}
    lost = reap(study, store, spec, parent, storage_url, grace)
    killed = []
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    for run in mlflow_link.running_children(store, spec, parent):
        number = run.data.tags.get(schema.TRIAL_NUMBER)
        trial = trials.get(int(number)) if number is not None else None
        if trial is None or trial.state != TrialState.RUNNING:
            ended = trial.state.name if trial is not None else "missing"
            reason = f"{attrs.LOST}: its trial ended ({ended}) but the run was left RUNNING"
            mlflow_link.kill_run(store, run.info.run_id, reason)
            killed.append(run.info.run_id)
    return {"lost": [t.number for t in lost], "runs_killed": killed}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
