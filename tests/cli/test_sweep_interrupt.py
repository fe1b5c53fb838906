"""`dpl sweep run` interrupted by a real SIGINT in its own process, then rerun: every trial the
worker held is released, and the rerun finishes the grid with no point twice. (Killed
workers: tests/cluster/.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from study.sweep.storage import open_storage
from tests.cli.test_sweep import FAST, write_spec
from tests.processes import as_foreground, signal_when


def resume_sweep(tmp_path, steps: int, pack: int = 1):
    """The command, environment and journal of a `dpl sweep run` of the 6-point grid `resume`
    in its own process, with trials of `steps` steps, `pack` at a time."""
    spec = write_spec(
        tmp_path / "grid.yaml",
        "resume",
        base={"preset": "tiny", "set": {**FAST, "train.steps": steps}},
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable,
        "-c",
        "from study.cli.main import cli; cli()",
        "sweep",
        "run",
        str(spec),
        "--pack",
        str(pack),
        "--workers",
        "1",
    ]
    return command, env, tmp_path / "mlruns" / "optuna.journal"


@pytest.mark.parametrize("pack", [1, 3])
@pytest.mark.processes
def test_sigint_then_rerun_completes_the_grid_once(tmp_path, store, pack):
    """An interrupt releases every trial the worker holds — the running one, or the whole pack
    (FAIL `interrupted`, MLflow KILLED) — and the rerun finishes the grid, no point twice.

    The SIGINT lands at a state, not a time: a pack complete and the next `pack` trials under
    way (RUNNING in the journal, their runs open in MLflow and early in training), checked
    while the process is frozen (`tests.processes.signal_when`)."""
    command, env, journal = resume_sweep(tmp_path, steps=600, pack=pack)
    client = store.client()

    def next_ones_under_way():
        trials = _study(journal).get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        if not done or len(done) % pack or len(running) != pack:  # a pack done, the next begun
            return None
        open_runs = _open_runs(client, "resume")
        early = [
            t.number
            for t in running
            if (run := open_runs.get(t.number)) is not None
            and len(client.get_metric_history(run.info.run_id, "acc/val")) < EVALUATIONS // 2
        ]
        return (sorted(t.number for t in done), sorted(early)) if len(early) == pack else None

    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_foreground,
    )
    try:
        done, held = signal_when(
            proc, next_ones_under_way, signal.SIGINT, 240, f"trials {pack + 1}… under way"
        )
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    study = _study(journal)
    assert [t.number for t in study.get_trials() if t.state == TrialState.COMPLETE] == done
    released = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert [t.number for t in released] == held, err
    assert {t.user_attrs["failure_reason"] for t in released} == {"interrupted"}
    assert TrialState.RUNNING not in {t.state for t in study.get_trials()}
    killed = {int(r.data.tags["trial_number"]) for r in _child_runs(client, "resume", "KILLED")}
    assert killed == set(held)

    again = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr
    study = _study(journal)
    complete = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert len(complete) == 6
    assert len({t.user_attrs["replicate_group"] for t in complete}) == 6  # no grid point twice
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in study.get_trials())
    assert all(
        t.user_attrs["failure_reason"] == "interrupted"
        for t in study.get_trials()
        if t.state == TrialState.FAIL
    )

    runs = client.search_runs([client.get_experiment_by_name("resume").experiment_id])
    assert "RUNNING" not in {r.info.status for r in runs}, (
        [(r.info.run_name, r.info.status) for r in runs],
        [(t.number, t.state, t.user_attrs.get("failure_reason")) for t in study.get_trials()],
        err,
        again.stderr,
    )
    assert sum(r.info.status == "FINISHED" for r in runs) == 7  # 6 trials and the parent


EVALUATIONS = 600 // FAST["eval.every"]  # of a `resume_sweep` trial


def _child_runs(client, experiment: str, status: str) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs([found.experiment_id], filter_string=f"status = '{status}'")
    return [r for r in runs if "trial_number" in r.data.tags]


def _open_runs(client, experiment: str) -> dict[int, object]:
    """{trial number: its MLflow run} for the runs still RUNNING."""
    return {int(r.data.tags["trial_number"]): r for r in _child_runs(client, experiment, "RUNNING")}


def _study(journal):
    return optuna.load_study(study_name="resume", storage=open_storage(str(journal)))
