"""One trial = one training run = one MLflow run. Used by `dpl train` and by every sweep trial;
`run_pack` does the same for trials trained together in a pack.

The run always ends: FINISHED, FAILED (with a `failure_reason` tag) or KILLED (interrupt, or a
pruned sweep trial with a `pruned` tag), never left RUNNING.

The learning-curve figure is the caller's to draw (`curve_figure`): the trial's tracking knows
nothing of plotting, so a sweep worker that is not asked for figures never loads seaborn.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from study import __version__
from study.config import TrialConfig
from study.features import Curve
from study.tracking import schema
from study.tracking.logger import RunLogger, git_commit
from study.tracking.store import Store
from study.tracking.uninterrupted import held_interrupts
from study.trial.device import resolve_device
from study.trial.forgetting import reset_steps
from study.trial.lane import OnEval, OnStep
from study.trial.pack import Member, train_pack
from study.trial.seeds import trial_seeds
from study.trial.summary import Summary, summarize
from study.trial.train import Trained, train


# (the long curves frame: step, metric, value; the path to write) → nothing; a module-level
# function, so that a sweep can hand it to spawned workers
@dataclass(frozen=True)
class CurveContext:
    """What a learning-curve figure says beside its curves: which run, and where it reset."""

    title: str
    resets: list[int]


CurveFigure = Callable[[pl.DataFrame, Path, CurveContext], None]


@dataclass(frozen=True)
class TrialResult:
    run_id: str
    summary: dict[str, float]  # `Summary.metrics`: final values and features, unrounded
    regime: str
    transient: bool
    final_step: int


def run_trial(
    cfg: TrialConfig,
    *,
    store: Store,
    experiment: str = "dpl",
    device: str = "auto",
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
    on_eval: OnEval | None = None,
    on_step: OnStep | None = None,
    pruned_exceptions: tuple[type[BaseException], ...] = (),
    curve_figure: CurveFigure | None = None,
) -> TrialResult:
    dev = resolve_device(device)
    log = start_run(store, cfg, experiment, str(dev), parent_run_id, tags, run_name)

    def trained() -> Trained:
        log_config(log, cfg)
        return train(cfg, dev, on_eval=_logged(log, on_eval), on_step=on_step)

    return _concluded(log, cfg, trained, pruned_exceptions, curve_figure, run_name)


@dataclass(frozen=True)
class PackedRun:
    """One trial of a pack, as `run_trial` takes it."""

    cfg: TrialConfig
    tags: Mapping[str, str] | None = None
    run_name: str | None = None
    on_eval: OnEval | None = None
    on_step: OnStep | None = None


def run_pack(
    runs: Sequence[PackedRun],
    *,
    store: Store,
    experiment: str = "dpl",
    device: str = "auto",
    parent_run_id: str | None = None,
    pruned_exceptions: tuple[type[BaseException], ...] = (),
    curve_figure: CurveFigure | None = None,
) -> list[TrialResult | Exception]:
    """`run_trial` for K trials trained together (`study.trial.pack`): one MLflow run each, ended
    as it would be alone. A trial that failed or was pruned comes back as its exception, the
    others as their results; an interrupt ends every run KILLED and is raised."""
    dev = resolve_device(device)
    logs: list[RunLogger] = []
    try:
        for r in runs:
            with held_interrupts():  # a run made is a run in `logs`, to be ended below
                logs.append(
                    start_run(store, r.cfg, experiment, str(dev), parent_run_id, r.tags, r.run_name)
                )
            log_config(logs[-1], r.cfg)
        members = [
            Member(r.cfg, _logged(log, r.on_eval), r.on_step)
            for r, log in zip(runs, logs, strict=True)
        ]
        outcomes = train_pack(members, dev)
    except BaseException as err:  # the pack as a whole: nothing of it is finished
        for log in logs:
            _abandon(log, err, pruned_exceptions)
        raise
    results: list[TrialResult | Exception] = []
    for i, (r, log, outcome) in enumerate(zip(runs, logs, outcomes, strict=True)):
        try:
            results.append(
                _concluded(log, r.cfg, _given(outcome), pruned_exceptions, curve_figure, r.run_name)
            )
        except KeyboardInterrupt as err:
            for rest in logs[i + 1 :]:
                _abandon(rest, err, pruned_exceptions)
            raise
        except Exception as err:
            results.append(err)
    return results


def _given(outcome: Trained | Exception) -> Callable[[], Trained]:
    def trained() -> Trained:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return trained


def _logged(log: RunLogger, on_eval: OnEval | None) -> OnEval:
    def logged_eval(step: int, metrics: dict[str, float]) -> None:
        log.metrics(step, metrics)
        if on_eval:
            on_eval(step, metrics)

    return logged_eval


def _concluded(
    log: RunLogger,
    cfg: TrialConfig,
    trained: Callable[[], Trained],
    pruned_exceptions: tuple[type[BaseException], ...],
    curve_figure: CurveFigure | None,
    run_name: str | None = None,
) -> TrialResult:
    """Summarise and end the run of what `trained()` gives; whatever it raises ends the run (KILLED
    for an interrupt or a prune, FAILED with the reason otherwise) and is raised again."""
    try:
        done = trained()
        summary = summarize(done.curve, cfg)
        final_step = log_summary(log, done.curve, summary)
        context = CurveContext(
            f"{run_name or f'seed {cfg.train.seed}'} → {summary.regime}",
            reset_steps(cfg.forgetting, cfg.train.steps),
        )
        _log_artifacts(log, cfg, done.curve, curve_figure, context)
    except BaseException as err:
        _abandon(log, err, pruned_exceptions)
        raise
    log.end("FINISHED")
    return TrialResult(log.run_id, summary.metrics, summary.regime, summary.transient, final_step)


def _abandon(
    log: RunLogger, err: BaseException, pruned_exceptions: tuple[type[BaseException], ...]
) -> None:
    if isinstance(err, pruned_exceptions):
        log.tags({schema.PRUNED: "true"})
        log.end("KILLED")
    elif isinstance(err, KeyboardInterrupt):
        log.end("KILLED")
    else:
        log.tags({schema.FAILURE_REASON: f"{type(err).__name__}: {err}"[: schema.MAX_REASON_CHARS]})
        log.end("FAILED")


def start_run(
    store: Store,
    cfg: TrialConfig,
    experiment: str,
    device: str,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
    version: str = __version__,
) -> RunLogger:
    """Open the trial's run with its identity tags. Nothing else happens here: whatever follows
    runs where the caller can end the run if it fails or is interrupted."""
    start_tags = {schema.VERSION: version, schema.GIT_COMMIT: git_commit(), schema.DEVICE: device}
    start_tags |= {schema.PROTOCOL: cfg.eval.protocol, **(tags or {})}
    if parent_run_id:
        start_tags[schema.PARENT] = parent_run_id
    client = store.client()
    experiment_id = store.experiment_id(experiment)
    run = None
    try:
        with held_interrupts():
            run = client.create_run(experiment_id, run_name=run_name, tags=start_tags)
    except KeyboardInterrupt:  # held while the run was made: the caller never gets to end it
        if run is not None:
            with held_interrupts():
                client.set_terminated(run.info.run_id, "KILLED")
        raise
    return RunLogger(client, run.info.run_id, cfg.eval.n_examples)


def log_config(log: RunLogger, cfg: TrialConfig) -> None:
    """The params that act in this config and the derived seeds, before training, so that a
    failed run has them too."""
    seeds = trial_seeds(cfg.train.seed)
    log.params(
        cfg.effective() | {f"{schema.SEED_PREFIX}{purpose}": s for purpose, s in seeds.items()}
    )


def log_summary(log: RunLogger, curve: Curve, summary: Summary) -> int:
    """The final-only features once, at the final step (the final values are the curves' own
    points), and the regime and transient tags; returns the final step."""
    final_step = curve[-1][0]
    log.metrics(final_step, summary.features)
    log.tags({schema.REGIME: summary.regime, schema.TRANSIENT: str(summary.transient).lower()})
    return final_step


def curves_frame(curve: Curve) -> pl.DataFrame:
    """A trial's curve as the long frame the figures take: step, metric, value."""
    return pl.DataFrame(
        [(step, name, value) for step, metrics in curve for name, value in metrics.items()],
        schema={"step": pl.Int64, "metric": pl.String, "value": pl.Float64},
        orient="row",
    )


def _log_artifacts(
    log: RunLogger,
    cfg: TrialConfig,
    curve: Curve,
    curve_figure: CurveFigure | None,
    context: CurveContext,
) -> None:
    """The resolved config as YAML and, when the caller draws one, the learning-curve figure."""
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / schema.CONFIG_ARTIFACT
        config_path.write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
        log.artifact(config_path)
        if curve_figure is not None:
            figure_path = Path(tmp) / schema.CURVES_FIGURE
            curve_figure(curves_frame(curve), figure_path, context)
            log.artifact(figure_path)
