"""Training time as an axis: the per-step fit recovers a known change of regime, finds none
where there is none, and classifies a trial at a step as it stood there (aligned points only)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.axes import PhaseError
from analysis.classify import classify
from analysis.time_axis import (
    STEP,
    aligned,
    at_step,
    classified_when,
    curve_metrics,
    evaluations,
    fit_over_time,
    fit_points,
)
from analysis.transitions import regime_spans, time_lines, transitions
from study.config import TrialConfig
from study.trial.schedule import is_aligned

X = "task.zipf_exponent"
X_VALUES = np.linspace(0.0, 1.5, 7)
SEEDS = (0, 1)
STEPS = np.unique(np.r_[0, np.geomspace(10, 10_000, 25).round()].astype(int))
N_EXAMPLES = 300
# Truth: structural ICL until s*(α) = 10^(2 + α) (100 … 3,162), head IWL after. Stated before
# the run: the recovered change must lie within this many decades of s*.
MARGIN_DECADES = 0.15


def change_step(alpha: float) -> float:
    return 10 ** (2.0 + alpha)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def synthetic(switch, *, seed: int = 11, kind: str = "none") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Trials and their long curves: `switch(alpha, log10 step)` in [0, 1] is the share of the
    way from ICL (0.9 structural, 0.1 head IWL) to IWL (0.1, 0.9); each value a proportion
    drawn on N_EXAMPLES sequences; step 0 is the untrained model (neither)."""
    rng = np.random.default_rng(seed)
    icl_name, iwl_name = curve_metrics()
    trials, curves = [], []
    for number, (alpha, s) in enumerate((a, s) for a in X_VALUES for s in SEEDS):
        run = f"run{number}"
        trials.append((run, number, "complete", float(alpha), s, kind, N_EXAMPLES, 0.5, 0.5))
        log_step = np.log10(np.maximum(STEPS, 1))
        to_iwl = switch(alpha, log_step)
        icl = np.where(STEPS == 0, 0.02, 0.9 - 0.8 * to_iwl)
        iwl = np.where(STEPS == 0, 0.02, 0.1 + 0.8 * to_iwl)
        for name, p in ((icl_name, icl), (iwl_name, iwl)):
            drawn = rng.binomial(N_EXAMPLES, p) / N_EXAMPLES
            curves += [
                (number, run, int(t), name, float(v)) for t, v in zip(STEPS, drawn, strict=True)
            ]
    columns = ["run_id", "trial", "state", X, "train.seed", "forgetting.kind", "eval.n_examples"]
    columns += ["eval.thresholds.icl", "eval.thresholds.iwl"]
    return (
        pl.DataFrame(trials, schema=columns, orient="row"),
        pl.DataFrame(curves, schema=["trial", "run_id", STEP, "metric", "value"], orient="row"),
    )


def _fit(trials: pl.DataFrame, curves: pl.DataFrame):
    return fit_over_time(classify(evaluations(trials, curves)), X, n_draws=200, seed=0)


@pytest.fixture(scope="module")
def changing():
    """ICL until s*(α), then IWL: a sharp switch (0.05 decades wide) on the log step axis."""
    trials, curves = synthetic(lambda a, t: _sigmoid((t - np.log10(change_step(a))) / 0.05))
    return _fit(trials, curves)


def test_recovers_the_known_change_step(changing):
    table = transitions(changing)
    assert table.columns == [X, "from", "to", STEP, "step_low", "step_high"]
    assert table[X].to_list() == pytest.approx(X_VALUES.tolist())  # one change at every α
    assert set(table["from"]) == {"icl"} and set(table["to"]) == {"iwl"}
    truth = np.array([change_step(a) for a in table[X]])
    error = np.log10(table[STEP].to_numpy()) - np.log10(truth)
    print("recovered vs true change step:", table[STEP].round(0).to_list(), truth.round(0))
    assert np.abs(error).max() <= MARGIN_DECADES, error
    assert (table["step_low"] <= table[STEP]).all() and (table[STEP] <= table["step_high"]).all()


def test_spans_say_where_each_regime_begins_and_ends(changing):
    spans = regime_spans(changing, [0.0])
    assert spans["regime"].to_list() == ["icl", "iwl"]
    assert spans["begins"][0] == pytest.approx(changing.y.low)
    assert spans["ends"][0] == pytest.approx(spans["begins"][1])
    assert spans["ends"][1] == pytest.approx(changing.y.high)
    head, table = time_lines(changing, 350)
    assert head.startswith("time axis: 350 classified evaluations; where the most likely regime")
    assert "step_high" in table and "icl" in table


def test_no_change_over_time_gives_no_transition():
    """Control: the regime depends on α only (ICL below 0.7, IWL above), never on the step."""
    trials, curves = synthetic(lambda a, t: np.full_like(t, float(a > 0.7)))
    fit = _fit(trials, curves)
    assert set(fit.regimes) == {"icl", "iwl"}  # two regimes, a boundary: but along α
    assert transitions(fit).height == 0
    assert time_lines(fit, 350) == [
        "time axis: 350 classified evaluations; the most likely regime never changes along training"
    ]


def test_at_step_classifies_each_trial_at_its_last_evaluation_there():
    trials, curves = synthetic(lambda a, t: _sigmoid((t - np.log10(change_step(a))) / 0.05))
    evals = evaluations(trials, curves)
    at_300 = classify(at_step(evals, 300))
    assert at_300.height == trials.height and (at_300[STEP] == STEPS[STEPS <= 300].max()).all()
    by_alpha = dict(at_300.group_by(X).agg(pl.col("regime").cast(pl.String).first()).iter_rows())
    assert by_alpha[0.0] == "iwl" and by_alpha[1.5] == "icl"  # s* = 100 and 3,162
    assert classify(at_step(evals, 0))["regime"].cast(pl.String).unique().to_list() == ["none"]
    assert "at or before step 300" in classified_when(step=300)


def test_only_evaluations_at_the_phase_of_the_reset_cycle_count():
    """Active forgetting every 300 steps: an evaluation at 1,000 is mid-cycle (just after the
    reset at 900) and is not a point of the trial; 900 is its last aligned one."""
    trials, curves = synthetic(lambda a, t: np.zeros_like(t), kind="active")
    trials = trials.with_columns(pl.lit(300).alias("forgetting.forget_every"))
    assert 1000 in STEPS
    before_reset = curves.filter(pl.col(STEP) == 1000).with_columns(
        pl.lit(900, pl.Int64).alias(STEP)
    )
    evals = evaluations(trials, pl.concat([curves, before_reset]))
    assert set(evals[STEP].to_list()) == {0, 900}  # the log schedule's steps are all mid-cycle
    assert (at_step(evals, 5000)[STEP] == 900).all()


@pytest.mark.parametrize(
    "forgetting",
    [
        {"kind": "none"},
        {"kind": "active", "forget_every": 300},
        {"kind": "temporary", "forget_every": 100, "forget_until": 650},
    ],
)
@pytest.mark.parametrize("align", [True, False])
def test_alignment_read_from_logged_params_is_the_trials_own(forgetting, align):
    """Analysis reads the schedule from the params a run logs (inert keys left out) and must
    call the same steps aligned as the trial did from its config."""
    cfg = TrialConfig.model_validate(
        {"forgetting": forgetting, "eval": {"align_to_forgetting": align}}
    )
    params = pl.DataFrame([cfg.effective()])
    steps = pl.DataFrame({STEP: range(0, 1001)})
    mine = aligned(steps.join(params, how="cross")).to_list()
    assert mine == [is_aligned(step, cfg) for step in range(0, 1001)]


def test_fit_points_leave_off_step_zero_and_thin_long_curves():
    trials, curves = synthetic(lambda a, t: np.zeros_like(t))
    points = evaluations(trials, curves)
    kept = fit_points(points)
    assert kept[STEP].min() > 0 and kept.height == points.height - trials.height
    thinned = fit_points(points, max_points=70)  # 14 trials: 5 evaluations each
    per_trial = thinned.group_by("run_id").len()["len"]
    assert per_trial.max() <= 5 and thinned[STEP].max() == STEPS.max()


@pytest.mark.parametrize(
    ("step", "message"),
    [(-1, "--at-step -1: expected a training step ≥ 0"), (5, "the first is at step 10")],
)
def test_at_step_rejects_steps_it_cannot_classify(step, message):
    trials, curves = synthetic(lambda a, t: np.zeros_like(t))
    evals = evaluations(trials, curves).filter(pl.col(STEP) > 0)
    with pytest.raises(PhaseError, match=message):
        at_step(evals, step)


def test_missing_curves_are_named():
    trials, curves = synthetic(lambda a, t: np.zeros_like(t))
    icl, iwl = curve_metrics()
    with pytest.raises(PhaseError, match=f"no curves of {iwl}"):
        evaluations(trials, curves.filter(pl.col("metric") == icl))
