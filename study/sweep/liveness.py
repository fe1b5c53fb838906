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
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from study.sweep import mlflow_link, queue
from study.sweep.defaults import GRACE_BEATS
from study.sweep.queue import hostname
from study.sweep.storage import open_storage

if TYPE_CHECKING:
    from study.sweep.spec import SweepSpec
    from study.tracking.store import Store

BEAT = "dpl.beat"  # system attr on a journal: time.time() of the last beat


def grace_s(heartbeat_s: int) -> int:
    return GRACE_BEATS * heartbeat_s


class Heartbeat:
    """Beats for the trials in `held` from a daemon thread; `hold` beats once at once."""

    def __init__(self, storage_url: str, heartbeat_s: int) -> None:
        self._storage = open_storage(storage_url, heartbeat_s=heartbeat_s)
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
            if isinstance(self._storage, RDBStorage):
                self._storage.record_heartbeat(trial_id)
            else:
                self._storage.set_trial_system_attr(trial_id, BEAT, time.time())
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
        storage.grace_period = grace
        stale = set(storage._get_stale_trial_ids(study._study_id))  # Optuna's own staleness
    else:
        now = time.time()
        stale = {t._trial_id for t in running if now - t.system_attrs.get(BEAT, now) > grace}
    here = hostname()
    return [
        t
        for t in running
        if t._trial_id in stale
        or ((w := t.system_attrs.get(queue.WORKER)) and w["host"] == here and not _alive(w["pid"]))
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
        worker = t.system_attrs.get(queue.WORKER, {})
        if not queue.end(study, t._trial_id, queue.LOST):
            continue  # ended meanwhile: by its worker, or by another reaper
        queue.requeue(study, t)
        detail = f"{queue.LOST}: worker {worker.get('host', '?')}:{worker.get('pid', '?')} stopped"
        mlflow_link.end_lost_run(store, spec, parent_run_id, t.number, detail)
        ended.append(t)
    return ended


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
