"""The one door to Optuna's private API. Nothing else in the project touches a private name
(`tests/test_layers.py` keeps it so); an Optuna upgrade that moves one breaks here, in one file.

Why a door is needed at all: a sweep's queue is its budget, so a worker must take a WAITING
trial without Optuna creating one (`Study.ask` would), end a trial it does not hold (a lost
one, or one an interrupt left), and read which trials Optuna's own heartbeat calls stale.
Optuna's public API has none of these; its storages have them under trial ids, which only
private attributes hold.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of a trial (unique across studies, unlike its number)."""
    return int(trial._trial_id)


def frozen(study: optuna.Study, trial_id: int) -> FrozenTrial:
    """The trial as stored now."""
    return _storage(study).get_trial(trial_id)


def waiting(study: optuna.Study) -> list[FrozenTrial]:
    """The study's queued trials."""
    storage = _storage(study)
    return storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.WAITING,))


def take(study: optuna.Study, trial_id: int) -> bool:
    """Move a WAITING trial to RUNNING; False when another process took it first (the storage
    lets exactly one process win)."""
    try:
        return _storage(study).set_trial_state_values(trial_id, state=TrialState.RUNNING)
    except UpdateFinishedTrialError:
        return False


def live(study: optuna.Study, trial_id: int) -> optuna.Trial:
    """A taken trial as the `optuna.Trial` its objective reports to."""
    return optuna.Trial(study, trial_id)


def fixed_params(trial: optuna.Trial) -> dict[str, Any]:
    """The params a live trial was queued with (Optuna's `fixed_params` system attribute)."""
    attrs = trial.storage.get_trial_system_attrs(trial._trial_id)
    return dict(attrs.get("fixed_params", {}))


def set_system_attr(study: optuna.Study, trial_id: int, key: str, value: Any) -> None:
    _storage(study).set_trial_system_attr(trial_id, key, value)


def set_user_attr(study: optuna.Study, trial_id: int, key: str, value: Any) -> None:
    """Set a user attribute of a trial this process does not hold as an `optuna.Trial`."""
    _storage(study).set_trial_user_attr(trial_id, key, value)


def fail(study: optuna.Study, trial_id: int, attrs: dict[str, Any]) -> bool:
    """Set `attrs` and end the trial FAIL; False when it had finished meanwhile (then its state
    is left as it is: of two processes ending one trial, exactly one does)."""
    storage = _storage(study)
    try:
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        return storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return False


def stale_trials(storage: RDBStorage, study: optuna.Study, grace_s: int) -> set[int]:
    """RUNNING trials whose heartbeat is older than `grace_s`, judged by Optuna's own query on
    the database's clock."""
    storage.grace_period = grace_s
    return set(storage._get_stale_trial_ids(study._study_id))


def _storage(study: optuna.Study) -> BaseStorage:
    return study._storage
