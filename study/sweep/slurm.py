"""A SLURM array job whose every task is one `dpl sweep worker`: the lab's scheduler starts the
workers, the study's storage coordinates them — no scheduler of our own.

The script holds no password: it reads the storage URL and the tracking URI from the
environment `sbatch` passes on (its default `--export=ALL`), with the URLs given to
`dpl sweep slurm` as fallbacks stripped of their passwords — libpq then reads PGPASSWORD or
~/.pgpass, MLflow MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from study.errors import SpecError
from study.sweep.defaults import HEARTBEAT_S, MAX_FAILURES
from study.tracking.credentials import without_password

TIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$|^\d+$")  # SLURM's --time forms
NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class SlurmJob:
    spec_file: str
    study: str
    workers: int
    gpus_per_worker: int = 1
    cpus_per_worker: int = 4
    time: str = "04:00:00"
    partition: str | None = None
    storage: str | None = None  # fallbacks for the environment, passwords removed
    tracking_uri: str | None = None
    pack: str = "auto"
    device: str = "auto"
    heartbeat_s: int = HEARTBEAT_S
    max_failures: int = MAX_FAILURES

    def __post_init__(self) -> None:
        if not TIME.match(self.time):
            raise SpecError("--time", self.time, "expected minutes, MM:SS, HH:MM:SS or D-HH:MM:SS")
        if self.partition is not None and not NAME.match(self.partition):
            raise SpecError("--partition", self.partition, "letters, digits, '_', '.', '-' only")


def script(job: SlurmJob) -> str:
    """The sbatch script, ready to submit."""
    name = f"dpl-{job.study}"
    directives = [
        f"--job-name={name}",
        f"--array=0-{job.workers - 1}",
        "--ntasks=1",
        f"--cpus-per-task={job.cpus_per_worker}",
        f"--time={job.time}",
        f"--output={name}-%A_%a.out",
    ]
    if job.gpus_per_worker:
        directives.append(f"--gres=gpu:{job.gpus_per_worker}")
    if job.partition:
        directives.append(f"--partition={job.partition}")
    options = {
        "--device": job.device,
        "--pack": job.pack,
        "--heartbeat": str(job.heartbeat_s),
        "--max-failures": str(job.max_failures),
    }
    worker = ["dpl", "sweep", "worker", job.spec_file, *(x for kv in options.items() for x in kv)]
    return "\n".join(
        [
            "#!/bin/bash",
            *(f"#SBATCH {d}" for d in directives),
            f"# {job.workers} Dual Process Lab workers for the study {job.study!r}.",
            "# Before sbatch, once: the study and its parent run must exist —",
            f"#   dpl sweep create {shlex.quote(job.spec_file)}",
            "# with the same DPL_OPTUNA_STORAGE and MLFLOW_TRACKING_URI as below. Passwords come",
            "# from PGPASSWORD or ~/.pgpass, and MLFLOW_TRACKING_USERNAME / _PASSWORD; never here.",
            "set -euo pipefail",
            _env("DPL_OPTUNA_STORAGE", job.storage, "the Optuna storage URL"),
            _env("MLFLOW_TRACKING_URI", job.tracking_uri, "the MLflow tracking server"),
            'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
            'cd "${SLURM_SUBMIT_DIR:-.}"',
            "# a worker takes trials until the budget is met (exit 0), stops after "
            f"{job.max_failures} failures in a row (exit 1)",
            "srun " + shlex.join(worker),
            "",
        ]
    )


def _env(var: str, fallback: str | None, what: str) -> str:
    if fallback:
        return f'export {var}="${{{var}:-{without_password(fallback)}}}"'
    return f': "${{{var}:?export {var} ({what}) before sbatch}}"\nexport {var}'
