"""One trial = one training run = one MLflow run. Used by `dpl train` and by every sweep trial.

The run always ends: FINISHED, FAILED (with a `failure_reason` tag) or KILLED (interrupt, or a
pruned sweep trial with a `pruned` tag), never left RUNNING.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from study import __version__
from study.config import TrialConfig
from study.device import resolve_device
from study.tracking.logger import RunLogger, git_commit
from study.tracking.store import Store
from study.trial.seeds import trial_seeds
from study.trial.summary import summarize
from study.trial.train import OnEval, OnStep, train

SUMMARY_PREFIX = "summary."


@dataclass(frozen=True)
class TrialResult:
    run_id: str
    summary: dict[str, float]  # keys without the `summary.` prefix
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
) -> TrialResult:
    dev = resolve_device(device)
    client = store.client()
    start_tags = {"dpl_version": __version__, "git_commit": git_commit(), "device": str(dev)}
    start_tags |= {"protocol": cfg.eval.protocol, **(tags or {})}
    if parent_run_id:
        start_tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(store.experiment_id(experiment), run_name=run_name, tags=start_tags)
    log = RunLogger(client, run.info.run_id)
    try:
        # the derived seeds with the config, so that a failed run has them too
        log.params(cfg.flat() | {f"seed.{purpose}": seed for purpose, seed in trial_seeds(cfg.train.seed).items()})

        def logged_eval(step: int, metrics: dict[str, float]) -> None:
            log.metrics(step, metrics)
            if on_eval:
                on_eval(step, metrics)

        trained = train(cfg, dev, on_eval=logged_eval, on_step=on_step)
        summary = summarize(trained.curve, cfg.eval)
        final_step = trained.curve[-1][0]
        log.metrics(final_step, {SUMMARY_PREFIX + k: v for k, v in summary.metrics.items()})
        log.tags({"regime": summary.regime, "transient": str(summary.transient).lower()})
        _log_artifacts(log, cfg, trained.curve)
    except pruned_exceptions:
        log.tags({"pruned": "true"})
        log.end("KILLED")
        raise
    except KeyboardInterrupt:
        log.end("KILLED")
        raise
    except BaseException as err:
        log.tags({"failure_reason": f"{type(err).__name__}: {err}"[:5000]})
        log.end("FAILED")
        raise
    log.end("FINISHED")
    return TrialResult(run.info.run_id, summary.metrics, summary.regime, summary.transient, final_step)


def _log_artifacts(log: RunLogger, cfg: TrialConfig, curve) -> None:
    """The resolved config as YAML and the learning-curve figure."""
    import matplotlib.pyplot as plt
    import polars as pl

    from analysis.figures import trial_learning_curves

    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
        log.artifact(config_path)
        figure_path = Path(tmp) / "learning_curves.png"
        frame = pl.DataFrame(
            [(step, name, value) for step, metrics in curve for name, value in metrics.items()],
            schema={"step": pl.Int64, "metric": pl.String, "value": pl.Float64},
            orient="row",
        )
        figure = trial_learning_curves(frame)
        figure.savefig(figure_path, dpi=120, bbox_inches="tight")
        plt.close(figure)
        log.artifact(figure_path)

