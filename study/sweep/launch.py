"""Run a sweep: one Optuna trial → one `run_trial` → one MLflow child run, in one or N processes.

    sweep = prepare(spec, store, storage_url)        # once, before any worker: study, queue, parent run
    run_sweep(sweep, workers=2, on_progress=...)     # workers pop queued trials until none is left

How one worker runs its trials, and how each can end, is `study.sweep.worker`. An interrupt
releases the running trials and re-raises; rerunning the same command finishes the budget.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from study.config import TrialConfig
from study.errors import ConfigError, RuntimeFailure, SpecError
from study.sweep import attrs, liveness, mlflow_link, queue
from study.sweep.defaults import HEARTBEAT_S, MAX_FAILURES
from study.sweep.loop import OnProgress, WorkerGaveUp, work
from study.sweep.points import first_config
from study.sweep.spec import SweepSpec, spec_hash
from study.sweep.status import status
from study.sweep.storage import (
    StudyError,
    create_or_continue,
    describe_study,
    has_storage,
    load,
    open_storage,
    wait_ready,
)
from study.sweep.worker import Sweep
from study.tracking.credentials import redact
from study.tracking.store import Store

if TYPE_CHECKING:
    from study.tracking.trial_run import CurveFigure


class WorkerFailed(RuntimeFailure):
    """A worker process ended with an error of its own (not a trial's: those end the trial)."""


def prepare(
    spec: SweepSpec,
    store: Store,
    storage_url: str,
    *,
    force: bool = False,
    spec_file: str = "",
    device: str = "auto",
    curve_figure: CurveFigure | None = None,
    pack: int | str = 1,
    heartbeat_s: int = HEARTBEAT_S,
    max_failures: int = MAX_FAILURES,
) -> Sweep:
    """Create or continue the study, queue its remaining budget, create the MLflow schema and
    parent run. Safe to race: of several processes creating one study at once, one creates it
    and the others wait until it is set up (`storage.create_or_continue`), then continue it."""
    study, created = create_or_continue(
        spec, open_storage(storage_url), force=force, spec_file=spec_file
    )
    if not created:
        wait_ready(study)  # a racing creator may still be making the parent run
    parent = mlflow_link.ensure_parent(store, spec, study, storage_url)
    # killed hard last time (a dead pid here, or no beat for the grace period): points re-run
    liveness.reap(study, store, spec, parent, storage_url, liveness.grace_s(heartbeat_s))
    queue.fill(study, spec)
    if created:
        describe_study(study, spec)
        study.set_user_attr(attrs.READY, True)
    pack = resolve_pack(pack, device, first_config(spec))
    return Sweep(
        spec, store, storage_url, parent, device, curve_figure, pack, heartbeat_s, max_failures
    )


CREATE_FIRST = "create the study first: dpl sweep create SPEC (with the same --storage)"


def attach(
    spec: SweepSpec,
    store: Store,
    storage_url: str,
    *,
    device: str = "auto",
    curve_figure: CurveFigure | None = None,
    pack: int | str = 1,
    heartbeat_s: int = HEARTBEAT_S,
    max_failures: int = MAX_FAILURES,
) -> Sweep:
    """A worker's view of a study that `prepare` (`dpl sweep run` or `dpl sweep create`) made:
    nothing is created, the spec must be the study's, its parent run must be in this store."""
    if not has_storage(storage_url):
        where = redact(storage_url)
        message = f"no Optuna storage at {where}; {CREATE_FIRST}"
        raise StudyError("--storage", where, CREATE_FIRST, message=message)
    try:
        study, stored = load(spec.name, open_storage(storage_url))
    except StudyError as err:
        raise StudyError.of(err, message=f"{err}; {CREATE_FIRST}") from None
    if stored is None or spec_hash(stored) != spec_hash(spec):
        allowed = (
            "run `dpl sweep create SPEC --force` once to adopt this one, then start the workers"
        )
        message = f"study {spec.name!r} was created from another spec; {allowed}"
        raise StudyError("study", spec.name, allowed, message=message)
    parent = study.user_attrs.get(attrs.PARENT_RUN)
    if parent is None or not mlflow_link.has_run(store, parent):
        uri = redact(store.tracking_uri)
        allowed = "give the workers the --tracking-uri it was created with"
        message = (
            f"study {spec.name!r}: its parent run {parent} is not in the tracking store {uri}; "
            + allowed
        )
        raise StudyError("--tracking-uri", uri, allowed, message=message)
    mlflow_link.mark_parent(store, parent, "RUNNING")
    pack = resolve_pack(pack, device, first_config(spec))
    return Sweep(
        spec, store, storage_url, parent, device, curve_figure, pack, heartbeat_s, max_failures
    )


def leave(sweep: Sweep, *, interrupted: bool = False) -> None:
    """A worker leaves: the parent run ends FINISHED once the study has nothing queued or
    running, KILLED when this worker was the last one holding trials and was interrupted."""
    study, _ = load(sweep.spec.name, open_storage(sweep.storage_url))
    left = study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))
    if not left:
        finish(sweep)
    elif interrupted and not any(t.state == TrialState.RUNNING for t in left):
        finish(sweep, interrupted=True)


# Trials per pack for `--pack auto`. On the CPU packing does not pay, so auto is 1: measured at
# the `small` shape on 2 idle cores, one thread (`dpl bench train --preset small --packs
# 1,2,4,8,16 --pack-impl both`), one trial alone trains 61.7 steps/s and a pack of 16 62.9
# trial-steps/s at best (bmm; vmap 56.7), and the quickstart took 213 s in packs of 4 against 159 s
# one trial at a time. On a GPU, up to 64, fewer when a quarter of the free memory cannot hold
# them: there the launches a pack shares are most of a step (not yet measured by this project;
# `benchmarks/gpu_check.sh` does).
AUTO_PACK = {"cpu": 1, "cuda": 64}


def resolve_pack(pack: int | str, device: str, cfg: TrialConfig | None = None) -> int:
    """`auto` → AUTO_PACK for the device the workers will use (on a GPU bounded by memory for
    `cfg`'s shape); an int as it is."""
    if pack != "auto":
        return int(pack)
    import torch

    on_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if not on_gpu:
        return AUTO_PACK["cpu"]
    if cfg is None:
        return AUTO_PACK["cuda"]
    free, _ = torch.cuda.mem_get_info()
    return max(1, min(AUTO_PACK["cuda"], int(free / 4 // trial_bytes(cfg))))


def trial_bytes(cfg: TrialConfig) -> int:
    """A packed trial's memory, roughly: parameters with their gradient and two Adam moments,
    and a training step's logits with their softmax and gradient (float32)."""
    d, ff, layers = cfg.model.d_model, cfg.model.d_ff, cfg.model.n_layers
    vocab = cfg.task.output_size  # the classes the output layer scores (POS: the vocabulary)
    params = vocab * d + layers * (4 * d * d + 2 * d * ff) + d * d
    return 4 * (4 * params + 3 * cfg.train.batch_size * 3 * vocab)


def run_sweep(
    sweep: Sweep,
    *,
    workers: int = 1,
    limit: int | None = None,
    on_progress: OnProgress | None = None,
) -> None:
    """Run queued trials until the queue is empty (or `limit` trials ran in this invocation)."""
    if workers == 1:
        work(sweep, limit=limit, on_progress=on_progress)
    else:
        run_workers(sweep, workers, limit=limit, on_progress=on_progress)


def finish(sweep: Sweep, *, interrupted: bool = False) -> None:
    """End the parent run of this invocation (KILLED when interrupted), with the study's
    regime counts so far."""
    study, _ = load(sweep.spec.name, open_storage(sweep.storage_url))
    regimes = status(study, sweep.spec).regimes
    mlflow_link.summarize_parent(sweep.store, sweep.parent_run_id, sweep.spec, regimes)
    mlflow_link.end_parent(
        sweep.store, sweep.parent_run_id, "KILLED" if interrupted else "FINISHED"
    )


# ---- several workers -----------------------------------------------------------------------


def run_workers(
    sweep: Sweep, workers: int, *, limit: int | None = None, on_progress: OnProgress | None = None
) -> None:
    """N spawned worker processes on this machine; with several GPUs worker i sees GPU i alone."""
    context = multiprocessing.get_context("spawn")  # fork would copy torch and MLflow state
    devices, limits = worker_devices(sweep.device, workers), _split(limit, workers)
    procs = [
        context.Process(
            target=_worker_main,
            args=(replace(sweep, device=devices[i][0]), i, limits[i], devices[i][1]),
        )
        for i in range(workers)
        if limits[i] != 0
    ]
    for p in procs:
        p.start()
    study = None
    try:
        while any(p.is_alive() for p in procs):
            if on_progress is not None:
                study = study or load(sweep.spec.name, open_storage(sweep.storage_url))[0]
                on_progress(study)
            for p in procs:
                p.join(timeout=1.0 / len(procs))
    except KeyboardInterrupt:
        for p in procs:  # workers ignore SIGINT; SIGTERM makes each release its trial once
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.join()
        raise
    codes = [p.exitcode for p in procs]
    if 2 in codes:
        raise SpecError(
            "sweep",
            sweep.spec.name,
            "see the spec error above",
            message=f"sweep {sweep.spec.name!r}: a worker stopped on a spec error (above)",
        )
    if any(codes):
        raise WorkerFailed(f"worker exit codes {codes}; see the messages above")


def worker_devices(device: str, workers: int) -> list[tuple[str, str | None]]:
    """(device, CUDA_VISIBLE_DEVICES) per worker: on a multi-GPU machine each worker sees one GPU,
    round robin, as `cuda` — its allocator, threads and streams then never touch another GPU;
    elsewhere the device as given and the environment as it is."""
    if device in ("auto", "cuda") and workers > 1:
        import torch

        n = torch.cuda.device_count()
        if n > 1:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            ids = visible.split(",") if visible else [str(i) for i in range(n)]
            return [("cuda", ids[i % n]) for i in range(workers)]
    return [(device, None)] * workers


def _split(limit: int | None, workers: int) -> list[int | None]:
    if limit is None:
        return [None] * workers
    return [limit // workers + (i < limit % workers) for i in range(workers)]


def _worker_main(sweep: Sweep, worker: int, limit: int | None, gpu: str | None = None) -> None:
    """Entry point of a spawned worker: SIGINT is the parent's to handle; SIGTERM interrupts.
    `gpu`: the one GPU it sees (set before anything initialises CUDA)."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        work(sweep, worker=worker, limit=limit)
    except KeyboardInterrupt:
        sys.exit(130)
    except WorkerGaveUp as err:
        print(err, file=sys.stderr)
        sys.exit(1)
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
