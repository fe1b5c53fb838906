"""Training time as an axis: a study's trials classified at every evaluation, or at one step.

    evals = evaluations(trials, curves)           # one row per (trial, aligned evaluation)
    points = classify(evals)                       # the one regime rule, at every step
    fit = fit_over_time(points, "task.zipf_exponent")   # the phase map over α × step
    at_500 = classify(at_step(evals, 500))         # one row per trial, as the trial stood at 500

Transience is a change of regime over training, so the regime rule (`analysis.classify.classify`,
`study.regimes`) is applied to each evaluation as if training had stopped there: the value of
structural ICL and head IWL at that step, the trial's own thresholds and `eval.n_examples`, and
for the transient flag the first evaluation and the peak so far. Only evaluations at the
schedule's phase of the forgetting cycle count, as for a trial's summary (`study.reset_cycle`,
read from the logged schedule params): a point just after a reset describes a different state.
At a trial's last aligned evaluation this reproduces its stored regime.

On the log step axis step 0 — the untrained model, alike at every x — has no place and marks
no regime that training made; `fit_points` leaves it off (`at_step(…, 0)` still classifies it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from analysis.axes import PhaseError
from analysis.captions import LAST_EVALUATION
from analysis.phase import PhaseFit, fit_phase
from analysis.runs import FIRST_COLUMNS, load_curves
from analysis.scalars import optional_int
from study import reset_cycle
from study.config import TrialConfig
from study.metric_names import IWL_HEAD, PEAK, START, structural, transience
from study.tracking import schema
from study.tracking.store import Store

STEP = "step"  # the time axis: a column of `evaluations`, and `--y step` on the command line
MAX_POINTS = 800  # a fit over time sees at most this many points: the maps (a GP) are cubic in them
SCHEDULE = (
    "forgetting.kind",
    "forgetting.forget_every",
    "forgetting.forget_until",
    "eval.align_to_forgetting",
)
# A trial's identity and params travel with each of its evaluations; its summary metrics and
# its stored end-of-training regime do not (each row has its own values at its step).
_PARTS = (*TrialConfig.model_fields, "seed")
_IDENTITY = {*FIRST_COLUMNS, *schema.TRIAL_COLUMNS.values()} - {"regime", "transient"}


def curve_metrics(protocol: str | None = None) -> tuple[str, str]:
    """The curves the regime rule reads: structural ICL under `protocol` (None: the headline)
    and head IWL."""
    return structural(protocol), IWL_HEAD


def evaluations(
    trials: pl.DataFrame, curves: pl.DataFrame, protocol: str | None = None
) -> pl.DataFrame:
    """One row per (trial, aligned evaluation), by trial and step: the trial's identity and
    params, `step`, and under the metric names `classify` reads the values at that step —
    structural ICL (under `protocol`) with its start and peak so far, head IWL, transience so
    far (peak − now). `curves` is `analysis.runs.load_curves`' long frame; runs not in `trials`
    (controls) are left out."""
    icl, iwl = curve_metrics(protocol)
    wide = curves.filter(pl.col("metric").is_in([icl, iwl])).pivot(
        on="metric", index=["run_id", STEP], values="value", aggregate_function="last"
    )
    missing = [m for m in (icl, iwl) if m not in wide.columns]
    if missing:
        shown = ", ".join(missing)
        raise PhaseError(
            "metric",
            shown,
            "a metric with logged curves",
            message=f"no curves of {shown} logged for these trials",
        )
    columns = [c for c in trials.columns if c in _IDENTITY or c.split(".")[0] in _PARTS]
    frame = wide.join(trials.select(columns), on="run_id", how="inner")
    frame = frame.filter(aligned(frame)).sort("trial", STEP)
    peak = structural(protocol, PEAK)
    return frame.with_columns(
        pl.col(icl).first().over("run_id").alias(structural(protocol, START)),
        pl.col(icl).cum_max().over("run_id").alias(peak),
    ).with_columns((pl.col(peak) - pl.col(icl)).alias(transience(protocol)))


def study_evaluations(
    store: Store, study: str, trials: pl.DataFrame, protocol: str | None = None
) -> pl.DataFrame:
    """`evaluations` of `trials` (a study's, `analysis.runs.load_study`) from its stored curves."""
    return evaluations(trials, load_curves(store, study, curve_metrics(protocol)), protocol)


def aligned(frame: pl.DataFrame) -> pl.Series:
    """Per row: is its `step` at the phase of the trial's reset cycle (`study.reset_cycle`),
    from the logged schedule params; a param a run did not log takes the config default."""
    defaults = TrialConfig().flat()
    schedule = [_column(frame, key, defaults[key]) for key in SCHEDULE]
    return pl.Series(
        [
            reset_cycle.is_aligned(step, *cycle)
            for step, *cycle in zip(frame.get_column(STEP), *schedule, strict=True)
        ],
        dtype=pl.Boolean,
    )


def _column(frame: pl.DataFrame, key: str, default: object) -> pl.Series:
    """`key`'s values, the default where a run did not log it (an inert or older param)."""
    if key not in frame.columns:
        return pl.Series(key, [default] * frame.height)
    column = frame.get_column(key)
    return column if default is None else column.fill_null(default)


def at_step(evals: pl.DataFrame, step: int) -> pl.DataFrame:
    """One row per trial: its last aligned evaluation at or before `step` (a trial that ended
    earlier stands at its end), `step` saying which. Raises PhaseError for a negative step or
    one before every trial's first evaluation."""
    if step < 0:
        raise PhaseError(
            "--at-step",
            step,
            "a training step ≥ 0",
            message=f"--at-step {step}: expected a training step ≥ 0",
        )
    chosen = evals.filter(pl.col(STEP) <= step)
    if not chosen.height:
        first = optional_int(evals.get_column(STEP).min())
        raise PhaseError(
            "--at-step",
            step,
            f"a step ≥ {first}",
            message=f"--at-step {step}: no trial has an evaluation at or before step {step} "
            f"(the first is at step {first}); expected a step ≥ {first}",
        )
    return chosen.group_by("run_id", maintain_order=True).last().sort("trial")


def fit_points(points: pl.DataFrame, max_points: int = MAX_POINTS) -> pl.DataFrame:
    """The evaluations a fit over (x, step) sees: those after step 0, each trial thinned evenly
    along the log step axis when there are more than `max_points` in all — a paper sweep
    evaluates hundreds of times per trial, and the fit and maps grow with the points."""
    later = points.filter(pl.col(STEP) > 0)
    n_trials = later.get_column("run_id").n_unique()
    per_trial = max(2, max_points // max(n_trials, 1))
    if later.height <= max_points:
        return later
    kept = [_thin(one, per_trial) for one in later.partition_by("run_id", maintain_order=True)]
    return pl.concat(kept).sort("trial", STEP)


def _thin(one: pl.DataFrame, n: int) -> pl.DataFrame:
    """At most `n` rows of one trial's evaluations: the nearest to `n` log-spaced steps."""
    steps = np.log10(one.get_column(STEP).to_numpy().astype(float))
    if steps.size <= n:
        return one
    targets = np.linspace(steps.min(), steps.max(), n)
    nearest = np.unique(np.abs(steps[None, :] - targets[:, None]).argmin(1))
    thinned: pl.DataFrame = one[nearest.tolist()]
    return thinned


def fit_over_time(points: pl.DataFrame, x: str, **kwargs: Any) -> PhaseFit:
    """The regime map over param `x` × training step (log), from classified `evaluations`;
    keyword arguments go to `analysis.phase.fit_phase`."""
    return fit_phase(fit_points(points), x, STEP, log_y=kwargs.pop("log_y", True), **kwargs)


def classified_when(y: str | None = None, step: int | None = None) -> str:
    """When a diagram's trials were classified, for its caption: at their ends, at `step`, or
    (`y` the time axis) at every evaluation."""
    if y == STEP:
        return "at every evaluation of each trial (step 0, the untrained model, left off)"
    if step is not None:
        return f"{LAST_EVALUATION} at or before step {step:,}"
    return LAST_EVALUATION
