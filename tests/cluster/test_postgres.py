"""Many workers, as a lab runs them: a real PostgreSQL for Optuna, a real `mlflow server` on
PostgreSQL for the runs, every worker its own process. Skips without PostgreSQL (fails under
CI=true: see tests/servers.py)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from tests.cluster.scenarios import sigkill_one_of_three
from tests.cluster.workers import (
    DPL,
    create,
    env,
    finish,
    runs_of,
    start_worker,
    study_of,
    where,
    write_spec,
)


@pytest.mark.processes
def test_three_workers_run_twelve_trials_once_each(tmp_path, postgres, mlflow_server):
    storage = postgres.create_database("twelve")
    # trials of seconds, not a blink: the three workers start together and each gets some
    spec = write_spec(tmp_path / "twelve.yaml", "twelve", steps=200, points=12)
    create(spec, storage, mlflow_server.url, tmp_path)
    results = finish([start_worker(spec, storage, mlflow_server.url, tmp_path) for _ in range(3)])
    assert [code for code, _ in results] == [0, 0, 0], results

    trials = study_of("twelve", storage).get_trials()
    assert Counter(t.state for t in trials) == {TrialState.COMPLETE: 12}
    assert len({t.user_attrs["replicate_group"] for t in trials}) == 12
    assert len({t.system_attrs["worker"]["pid"] for t in trials}) >= 2  # shared out

    runs = runs_of(MlflowClient(mlflow_server.url), "twelve")
    [parent] = [r for r in runs if r.data.tags.get("dpl.role") == "study"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 13 and len(children) == 12
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert parent.info.artifact_uri.startswith("mlflow-artifacts:")  # the server's store


@pytest.mark.processes
def test_sigkill_one_of_three_workers_on_postgres(
    tmp_path, postgres, mlflow_server, science_report
):
    storage = postgres.create_database("faults")
    client = MlflowClient(mlflow_server.url)
    seen = sigkill_one_of_three(tmp_path, storage, mlflow_server.url, client)
    science_report(f"fault: SIGKILL, PostgreSQL + MLflow server, same host → {seen}")
    seen = sigkill_one_of_three(tmp_path, storage, mlflow_server.url, client, other_host=True)
    science_report(f"fault: SIGKILL, PostgreSQL + MLflow server, other host → {seen}")


@pytest.mark.processes
def test_racing_creators_make_one_study_and_one_parent(tmp_path, postgres, mlflow_server):
    storage = postgres.create_database("race")
    spec = write_spec(tmp_path / "race.yaml", "race", steps=20)
    command = [*DPL, "sweep", "create", str(spec), *where(storage, mlflow_server.url), "--json"]
    procs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    parents = {yaml.safe_load(out)["parent_run_id"] for out, _ in results}
    assert len(parents) == 1
    trials = study_of("race", storage).get_trials()
    assert Counter(t.state for t in trials) == {TrialState.WAITING: 6}  # queued once
    runs = runs_of(MlflowClient(mlflow_server.url), "race")
    assert len(runs) == 1 and runs[0].info.status == "SCHEDULED"


@pytest.mark.processes
def test_load_eight_workers_fifty_trials(tmp_path, postgres, mlflow_server, science_report):
    """8 workers × 50 very short trials on PostgreSQL and the MLflow server: no lock error, no
    trial lost or run twice, every metric row there."""
    storage = postgres.create_database("load")
    tree = {
        "name": "load",
        "base": {
            "preset": "tiny",
            "set": {
                "train.steps": 4,
                "eval.every": 2,
                "eval.n_examples": 20,
                "train.batch_size": 8,
            },
        },
        "space": {"task.zipf_exponent": [0.0, 0.5, 1.0, 1.5, 2.0]},
        "replicates": 10,
        "sampler": {"kind": "grid"},
    }
    spec = tmp_path / "load.yaml"
    spec.write_text(yaml.safe_dump(tree))
    create(spec, storage, mlflow_server.url, tmp_path)
    started = time.monotonic()
    results = finish(
        [start_worker(spec, storage, mlflow_server.url, tmp_path) for _ in range(8)], timeout=900
    )
    wall = time.monotonic() - started
    assert [code for code, _ in results] == [0] * 8, results
    errors = [
        line for _, err in results for line in err.splitlines() if "rror" in line or "lock" in line
    ]
    assert errors == []

    trials = study_of("load", storage).get_trials()
    assert Counter(t.state for t in trials) == {TrialState.COMPLETE: 50}
    assert len({(t.user_attrs["replicate_group"], t.user_attrs["replicate"]) for t in trials}) == 50
    client = MlflowClient(mlflow_server.url)
    children = [r for r in runs_of(client, "load") if r.data.tags.get("trial_number")]
    assert len(children) == 50 and {r.info.status for r in children} == {"FINISHED"}
    curves = {len(client.get_metric_history(r.info.run_id, "acc/val")) for r in children}
    assert curves == {
        len(client.get_metric_history(children[0].info.run_id, "acc/val"))
    } and curves != {0}
    science_report(
        f"load: 8 workers × 50 trials on PostgreSQL + MLflow server: {wall:.0f} s, {50 / wall * 60:.0f} trials/min, errors 0"
    )


def _everything_stored(storage: str, name: str, client) -> str:
    """Every tag, param, attribute and artifact path the study left in both stores, as text."""
    import json

    study = study_of(name, storage)
    parts = [json.dumps(study.user_attrs, default=str)]
    for t in study.get_trials():
        parts += [json.dumps(t.user_attrs, default=str), json.dumps(t.system_attrs, default=str)]
    for run in runs_of(client, name):
        parts += [json.dumps(run.data.tags), json.dumps(run.data.params), run.info.artifact_uri]
    return "\n".join(parts)


def test_no_password_in_any_output_tag_param_or_script(tmp_path, postgres, mlflow_server):
    storage = postgres.create_database("secret")
    password = postgres.password
    host = mlflow_server.url.removeprefix("http://")
    tracking = f"http://dpl:{password}@{host}"  # the server has no auth: the header is ignored
    spec = write_spec(tmp_path / "secret.yaml", "secret", steps=20, points=2)
    made = create(spec, storage, tracking, tmp_path)
    outputs = [made.stdout + made.stderr]
    [(code, err)] = finish([worker := start_worker(spec, storage, tracking, tmp_path)])
    assert code == 0, err
    outputs.append(err + worker.out)
    for args in (
        ["sweep", "status", "secret", "--storage", storage],
        ["sweep", "status", "secret", "--storage", storage, "--json"],
        ["sweep", "list", "--storage", storage],
        [
            "sweep",
            "slurm",
            str(spec),
            "--workers",
            "2",
            "--storage",
            storage,
            "--tracking-uri",
            tracking,
        ],
        ["sweep", "repair", "secret", "--storage", storage, "--tracking-uri", tracking, "--json"],
    ):
        done = subprocess.run(
            [*DPL, *args], cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    wrong = storage.replace(password, password + "x")  # a refused login prints its URL, masked
    done = subprocess.run(
        [*DPL, "sweep", "create", str(spec), *where(wrong, tracking)],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "cannot reach the Optuna storage" in done.stderr, done.stderr
    assert "dpl:***@" in done.stderr
    outputs.append(done.stdout + done.stderr)

    leaks = [line for text in outputs for line in text.splitlines() if password in line]
    assert not leaks, "a password was printed"
    stored = _everything_stored(storage, "secret", MlflowClient(mlflow_server.url))
    assert password not in stored
    assert "dpl:***@" in stored  # the parent's optuna.storage tag, masked


def test_unreachable_servers_are_named_masked_within_seconds(tmp_path, science_report):
    spec = write_spec(tmp_path / "nowhere.yaml", "nowhere", steps=20, points=2)
    closed = "postgresql+psycopg://dpl:hunter2@127.0.0.1:9/optuna"  # port 9: nobody listens
    cases = {
        "storage": where(closed, "sqlite:///" + str(tmp_path / "mlflow.db")),
        "tracking server": where(str(tmp_path / "j.journal"), "http://dpl:hunter2@127.0.0.1:9"),
    }
    for what, args in cases.items():
        started = time.monotonic()
        done = subprocess.run(
            [*DPL, "sweep", "create", str(spec), *args],
            cwd=tmp_path,
            env=env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.monotonic() - started
        assert done.returncode == 1, done.stderr
        assert (
            f"cannot reach the {'Optuna storage' if what == 'storage' else 'MLflow tracking server'}"
            in done.stderr
        )
        assert "hunter2" not in done.stderr + done.stdout and "dpl:***@127.0.0.1:9" in done.stderr
        science_report(f"unreachable {what}: exit 1 after {seconds:.1f} s (process start included)")
    assert not (tmp_path / "j.journal").exists()  # nothing was written before the check
