"""Worker processes for the cluster tests: `dpl sweep create` and `dpl sweep worker` as a lab
would start them, each a real process, on a real storage and tracking store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import yaml
from optuna.trial import TrialState

from study.sweep.storage import open_storage

DPL = [sys.executable, "-c", "from study.cli.main import cli; cli()"]
FAST = {"eval.every": 100, "eval.n_examples": 40, "train.batch_size": 16}


def write_spec(path: Path, name: str, *, steps: int = 300, points: int = 6, **changes) -> Path:
    """A grid of `points` tiny trials of `steps` steps (6: α × k, 12: α × k × ε …)."""
    ks = [3, 5, 7, 9, 11, 13][: max(1, points // 2)]
    tree = {
        "name": name,
        "base": {
            "preset": "tiny",
            "set": {**FAST, "train.steps": steps, "forgetting.kind": "active"},
        },
        "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_every": ks},
        "sampler": {"kind": "grid"},
        **changes,
    }
    path.write_text(yaml.safe_dump(tree))
    return path


ROOT = Path(__file__).resolve().parents[2]


def env(**extra: str) -> dict[str, str]:
    """This checkout's code in every process (whatever the editable install points at)."""
    out = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **extra}
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    out.pop("MLFLOW_TRACKING_URI", None)
    out.pop("DPL_OPTUNA_STORAGE", None)
    return out


def where(storage: str, tracking_uri: str) -> list[str]:
    return ["--storage", storage, "--tracking-uri", tracking_uri]


def create(spec: Path, storage: str, tracking_uri: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [*DPL, "sweep", "create", str(spec), *where(storage, tracking_uri)]
    done = subprocess.run(command, cwd=cwd, env=env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def start_worker(
    spec: Path, storage: str, tracking_uri: str, cwd: Path, *args: str, **extra_env: str
) -> subprocess.Popen:
    options = ["--heartbeat", "2", "--no-figures", "--pack", "1", *args]
    command = [*DPL, "sweep", "worker", str(spec), *where(storage, tracking_uri), *options]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def study_of(name: str, storage: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(storage))


def running_trial_of(study: optuna.Study, pid: int):
    """The trial the worker `pid` is running, once its point is decided."""
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.system_attrs.get("worker", {})
        if worker.get("pid") == pid and "seed" in t.user_attrs:
            return t
    return None


def mid_trial(study: optuna.Study, client, experiment: str, pid: int):
    """The trial worker `pid` is training, with its MLflow run open and at most its first
    evaluation logged (so its end is a whole trial away); else None."""
    trial = running_trial_of(study, pid)
    if trial is None:
        return None
    for r in runs_of(client, experiment):
        if r.data.tags.get("trial_number") == str(trial.number) and r.info.status == "RUNNING":
            early = len(client.get_metric_history(r.info.run_id, "acc/val")) <= 1
            return trial if early else None
    return None


def finish(procs: list[subprocess.Popen], timeout: float = 300) -> list[tuple[int, str]]:
    """Wait for each worker: (exit code, stderr); its stdout is kept as `p.out`."""
    ended = []
    for p in procs:
        p.out, err = p.communicate(timeout=timeout)
        ended.append((p.returncode, err))
    return ended


def runs_of(client, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], max_results=5000) if found else []
