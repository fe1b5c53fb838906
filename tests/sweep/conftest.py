"""Shared by the sweep tests: tiny fast trials, a 6-point grid spec, a sweep in tmp_path."""

from __future__ import annotations

import copy

import pytest

from study.sweep.launch import finish, prepare, run_sweep
from study.sweep.spec import parse_spec
from study.sweep.storage import load, open_storage

FAST = {"train.steps": 12, "eval.every": 6, "eval.n_examples": 40, "train.batch_size": 16}
GRID6 = {
    "name": "grid6",
    # k acts (and is logged on the runs) only with forgetting on
    "base": {"preset": "tiny", "set": {**FAST, "forgetting.kind": "active"}},
    "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_every": [3, 5, 7]},
    "sampler": {"kind": "grid"},
}


@pytest.fixture(autouse=True)
def _lean_trials(monkeypatch):
    """One torch thread (the CPUs are shared; two threads contend) and no learning-curve figure
    (matplotlib layout is most of a tiny trial's time); runs, params and metrics stay real."""
    import torch

    import study.tracking.trial_run

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(study.tracking.trial_run, "_log_artifacts", lambda *args: None)
    yield
    torch.set_num_threads(threads)


def spec_of(**changes):
    return parse_spec({**copy.deepcopy(GRID6), **changes})


def runs_of(store, spec):
    client = store.client()
    experiment = client.get_experiment_by_name(spec.experiment_name)
    return client.search_runs([experiment.experiment_id])


def sweep_in(tmp_path, store, spec, **kwargs):
    prepared = prepare(spec, store, str(tmp_path / "optuna.journal"))
    run_sweep(prepared, **kwargs)
    finish(prepared)
    study, _ = load(spec.name, open_storage(prepared.storage_url))
    return prepared, study
