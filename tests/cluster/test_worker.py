"""One worker's own faults, in process on the journal: a node that fails every trial stops, a
machine fault gives the trial back, a write error fails just that trial, `repair` ends what a
kill left behind, and the SLURM script."""

from __future__ import annotations

import copy
import errno
import json
import subprocess
import time

import pytest
import yaml
from click.testing import CliRunner
from optuna.trial import TrialState

from study.cli.main import cli
from study.sweep import attrs, queue
from study.sweep import optuna_private as private
from study.sweep.spec import parse_spec
from study.sweep.status import status
from tests.sweep.conftest import GRID6, runs_of, sweep_in


@pytest.fixture
def here(tmp_path, store, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DPL_OPTUNA_STORAGE", raising=False)
    return tmp_path


def _write(path, **changes):
    path.write_text(yaml.safe_dump({**copy.deepcopy(GRID6), **changes}))
    return path


def _journal_study(name):
    import optuna

    from study.sweep.storage import open_storage

    return optuna.load_study(study_name=name, storage=open_storage("mlruns/optuna.journal"))


@pytest.mark.parametrize("max_failures", [3, 0])
def test_a_worker_whose_every_trial_fails_stops_after_n(here, store, max_failures):
    spec = _write(here / "doomed.yaml", name="doomed", trial_timeout_s=1e-6)
    args = ["sweep", "run", str(spec), "--no-figures", "--workers", "1"]
    args += ["--max-failures", str(max_failures)]
    result = CliRunner().invoke(cli, args)
    trials = _journal_study("doomed").get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert {t.user_attrs["failure_reason"] for t in failed} == {"timeout"}
    client = store.client()
    runs = runs_of(store, parse_spec({**GRID6, "name": "doomed"}))
    assert "RUNNING" not in {r.info.status for r in runs}
    if max_failures:
        assert result.exit_code == 1, result.output
        assert "3 trials in a row failed" in result.output
        assert len(failed) == 3 and sum(t.state == TrialState.WAITING for t in trials) == 3
        [parent] = [r for r in runs if r.data.tags.get("dpl.role") == "study"]
        assert client.get_run(parent.info.run_id).info.status == "KILLED"
    else:  # never give up: every trial runs, and fails — so the sweep failed (exit 1)
        assert result.exit_code == 1, result.output
        assert len(failed) == 6
        summary = result.output.index("trials  │ failed 6")  # after the summary, the reasons
        assert result.output.index("6 of 6 trials of this run failed:") > summary
        assert "timeout × 6" in result.output


def test_a_machine_fault_gives_the_trial_back_and_its_point_reruns(tmp_path, store, monkeypatch):
    import torch

    import study.tracking.trial_run

    real_train, calls = study.tracking.trial_run.train, []

    def train(cfg, device, on_eval=None, on_step=None):
        calls.append(cfg.task.zipf_exponent)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_train(cfg, device, on_eval=on_eval, on_step=on_step)

    monkeypatch.setattr(study.tracking.trial_run, "train", train)
    spec = parse_spec({**copy.deepcopy(GRID6), "name": "oom"})
    _, study_ = sweep_in(tmp_path, store, spec)
    trials = study_.get_trials()
    [released] = [t for t in trials if t.state == TrialState.FAIL]
    assert released.user_attrs["failure_reason"].startswith("machine: OutOfMemoryError")
    assert not attrs.counts(released)  # the budget went back …
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 6  # … and the point ran again
    assert status(study_, spec).finished
    runs = {r.info.run_id: r for r in runs_of(store, spec)}
    assert runs[released.user_attrs["mlflow_run_id"]].info.status == "KILLED"


def test_a_write_error_fails_that_trial_and_the_study_stays_consistent(
    tmp_path, store, monkeypatch
):
    import study.tracking.trial_run

    def full_disk(log, cfg, curve, figure, context):
        if cfg.task.zipf_exponent == 1.5 and cfg.forgetting.forget_every == 5:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(study.tracking.trial_run, "_log_artifacts", full_disk)
    spec = parse_spec({**copy.deepcopy(GRID6), "name": "full"})
    _, study_ = sweep_in(tmp_path, store, spec)
    trials = study_.get_trials()
    [failed] = [t for t in trials if t.state == TrialState.FAIL]
    assert "No space left on device" in failed.user_attrs["failure_reason"]
    assert attrs.counts(failed)  # the configuration ran: it counts, it is not re-run
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 5
    runs = {r.info.run_id: r for r in runs_of(store, spec)}
    bad = runs[failed.user_attrs["mlflow_run_id"]]
    assert bad.info.status == "FAILED" and "No space left" in bad.data.tags["failure_reason"]
    assert "RUNNING" not in {r.info.status for r in runs.values()}


@pytest.mark.processes
def test_repair_ends_a_silent_hosts_trial_and_an_orphaned_run(here, store):
    spec = _write(here / "fix.yaml", name="fix")
    assert CliRunner().invoke(cli, ["sweep", "create", str(spec)]).exit_code == 0
    study_ = _journal_study("fix")
    gone = queue.claim(study_)  # a worker on another host that then went silent
    gone_id = private.trial_id(gone)
    private.set_system_attr(study_, gone_id, attrs.WORKER, {"host": "node-b", "pid": 1})
    private.set_system_attr(study_, gone_id, attrs.BEAT, time.time() - 600)
    done = queue.claim(study_)  # a trial whose worker ended it, but died before its run did
    client = store.client()
    experiment = client.get_experiment_by_name("fix").experiment_id
    parent = study_.user_attrs[attrs.PARENT_RUN]
    tags = {"study": "fix", "trial_number": str(done.number), "mlflow.parentRunId": parent}
    orphan = client.create_run(experiment, tags=tags).info.run_id
    queue.release(study_, private.trial_id(done))

    result = CliRunner().invoke(cli, ["sweep", "repair", "fix", "--grace", "60", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report == {"lost": [gone.number], "runs_killed": [orphan]}
    assert _journal_study("fix").trials[gone.number].user_attrs["failure_reason"] == "lost"
    assert client.get_run(orphan).info.status == "KILLED"
    waiting = _journal_study("fix").get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 6  # both points are queued again


def test_slurm_script_is_valid_bash_and_carries_no_password(here):
    spec = _write(here / "big.yaml", name="big")
    url = "postgresql+psycopg://dpl:hunter2@db.example:5432/optuna"
    args = ["sweep", "slurm", str(spec), "--workers", "8", "--partition", "gpu", "--storage", url]
    result = CliRunner().invoke(
        cli, args, env={"MLFLOW_TRACKING_URI": "http://u:s3cret@mlflow:5000"}
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "hunter2" not in text and "s3cret" not in text
    assert "#SBATCH --array=0-7" in text and "#SBATCH --gres=gpu:1" in text
    assert "postgresql+psycopg://dpl@db.example:5432/optuna" in text
    assert "srun dpl sweep worker" in text
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
