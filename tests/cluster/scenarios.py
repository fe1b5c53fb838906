"""Fault scenarios run against each storage (journal file, PostgreSQL) by the cluster tests."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from optuna.trial import TrialState

from tests.cluster.workers import (
    create,
    finish,
    mid_trial,
    runs_of,
    start_worker,
    study_of,
    write_spec,
)
from tests.processes import signal_when


def sigkill_one_of_three(
    tmp_path: Path, storage: str, tracking_uri: str, client, *, other_host: bool = False
) -> dict:
    """3 workers on a 4-point grid; one is SIGKILLed mid-trial (its run open, early in its
    training: checked while the victim is frozen, `tests.processes.signal_when`). Returns what
    happened, after asserting the study completed its budget with no zombie."""
    name = "faults-other-host" if other_host else "faults"
    spec = write_spec(tmp_path / f"{name}.yaml", name, steps=300, points=4)
    create(spec, storage, tracking_uri, tmp_path)
    victim = start_worker(
        spec, storage, tracking_uri, tmp_path, **({"DPL_HOST": "node-b"} if other_host else {})
    )
    others = [start_worker(spec, storage, tracking_uri, tmp_path) for _ in range(2)]
    study = study_of(name, storage)

    killed = signal_when(
        victim,
        lambda: mid_trial(study, client, name, victim.pid),
        signal.SIGKILL,
        180,
        "the victim worker mid-trial with its run open",
    )
    victim.wait(timeout=30)
    results = finish(others)
    assert [code for code, _ in results] == [0, 0], results

    trials = study_of(name, storage).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 4
    assert len({t.user_attrs["replicate_group"] for t in complete}) == 4  # no point twice
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    ended = study_of(name, storage).trials[killed.number]
    assert ended.state == TrialState.FAIL and ended.user_attrs["failure_reason"] == "lost"
    rerun = [
        t
        for t in complete
        if t.user_attrs["replicate_group"] == killed.user_attrs["replicate_group"]
    ]
    assert len(rerun) == 1 and rerun[0].number > killed.number  # its point ran again

    runs = runs_of(client, name)
    statuses = Counter(r.info.status for r in runs)
    assert "RUNNING" not in statuses, statuses
    lost_runs = [r for r in runs if r.data.tags.get("trial_number") == str(killed.number)]
    assert [r.info.status for r in lost_runs] == ["KILLED"]
    assert lost_runs[0].data.tags["failure_reason"].startswith("lost")
    return {
        "killed_trial": killed.number,
        "rerun_as": rerun[0].number,
        "statuses": dict(statuses),
        "lost_reason": lost_runs[0].data.tags["failure_reason"],
    }


def sigterm_then_rerun(tmp_path: Path, storage: str, tracking_uri: str, client) -> None:
    """SIGTERM a worker mid-trial (frozen at the state first, as for the SIGKILL): exit 143,
    its trial released (FAIL `interrupted`), its run KILLED; a second worker then completes
    the budget."""
    name = "sigterm"
    spec = write_spec(tmp_path / f"{name}.yaml", name, steps=300, points=4)
    create(spec, storage, tracking_uri, tmp_path)
    worker = start_worker(spec, storage, tracking_uri, tmp_path)
    study = study_of(name, storage)
    trial = signal_when(
        worker,
        lambda: mid_trial(study, client, name, worker.pid),
        signal.SIGTERM,
        180,
        "a trial under way with its run open",
    )
    [(code, err)] = finish([worker], timeout=60)
    assert code == 143, err
    released = study_of(name, storage).trials[trial.number]
    assert released.state == TrialState.FAIL
    assert released.user_attrs["failure_reason"] == "interrupted"
    [run] = [
        r for r in runs_of(client, name) if r.data.tags.get("trial_number") == str(trial.number)
    ]
    assert run.info.status == "KILLED"

    [(code, err)] = finish([start_worker(spec, storage, tracking_uri, tmp_path)])
    assert code == 0, err
    trials = study_of(name, storage).get_trials()
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4
    assert "RUNNING" not in {r.info.status for r in runs_of(client, name)}
