"""The effect of forgetting beyond the embedding scale: each forgetting run minus its control.

A sweep with `controls: true` runs, beside every forgetting point and seed, the same point with
no forgetting and embeddings drawn at the reset std (`study.controls`). Its forgetting runs carry
their control's replicate group (`control_group`), and a run and its control share the seed.

    pairs = pair_controls(trials, controls)          # one row per forgetting run and its control
    points = forgetting_effects(pairs, axes)         # one row per point: run, control, run − control

A run and its control are read at one step (`paired_step`: the last both were evaluated at,
the run at the phase of its reset cycle). A point's effect is the mean over its seeds;
`beats_control` is the contrast rule of `study.controls` for the point's kind of forgetting
(CONTRASTS, CONTRAST_MARGIN) applied to the mean, and `seeds_beating` counts the seeds whose own
pair passes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from analysis.time_axis import SCHEDULE, STEP, aligned
from study.controls import BEATS, CONTRAST_MARGIN, CONTRASTS, KIND_KEY, SHORT, beats_control
from study.metric_names import CONTROL_SUFFIX as CONTROL
from study.metric_names import EFFECT_SUFFIX as EFFECT
from study.metric_names import FINAL_STEP, IWL_HEAD, structural

SEED = "train.seed"
KIND = KIND_KEY  # the column that says which contrast applies
CONTRAST = "contrast"  # a pair's label column: BEATS or SHORT


class NoControls(LookupError):
    """The study has no control runs to pair its forgetting runs with."""


def effect_metrics(protocol: str | None = None) -> tuple[str, str]:
    """Structural ICL (under `protocol`, or the headline) and head IWL: the two the contrast reads."""
    return structural(protocol), IWL_HEAD


def pair_controls(
    trials: pl.DataFrame,
    controls: pl.DataFrame,
    protocol: str | None = None,
    curves: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Finished forgetting runs joined to their finished control at the same seed: the run's
    columns, `<m>.control` and `<m>.effect` (= run − control) for each effect metric,
    `control_run_id` and `paired_step`, the step both are read at. A run and its control are
    compared at one step: the last at which both were evaluated, the run at the phase of its
    reset cycle, no later than either's final step. Where their final steps differ (an active
    run whose end falls mid-cycle, its control evaluated on a plain schedule) that step is
    found in `curves` (`analysis.runs.load_curves`' long frame; a ValueError without it).
    Raises NoControls when no forgetting run has a control."""
    metrics = effect_metrics(protocol)
    done = pl.col("state") == "complete"
    runs = trials.filter(done & pl.col("control_group").is_not_null())
    if not runs.height or not controls.filter(done).height:
        raise NoControls(
            "no finished forgetting run has a finished control: run the sweep with "
            "`controls: true` in its spec, or `dpl sweep run --with-controls`"
        )
    ctrl = controls.filter(done).select(
        pl.col("replicate_group").alias("control_group"),
        SEED,
        pl.col("run_id").alias("control_run_id"),
        *[pl.col(m).alias(m + CONTROL) for m in metrics],
        *(
            [pl.col(FINAL_STEP).alias(FINAL_STEP + CONTROL)]
            if FINAL_STEP in controls.columns
            else []
        ),
    )
    paired = runs.join(ctrl, on=["control_group", SEED], how="inner")
    paired = _at_one_step(paired, metrics, curves)
    return paired.with_columns((pl.col(m) - pl.col(m + CONTROL)).alias(m + EFFECT) for m in metrics)


def _at_one_step(
    paired: pl.DataFrame, metrics: Sequence[str], curves: pl.DataFrame | None
) -> pl.DataFrame:
    """`paired` with each run's and control's metrics at their common step (`pair_controls`)."""
    if FINAL_STEP not in paired.columns or FINAL_STEP + CONTROL not in paired.columns:
        return paired.with_columns(paired_step=pl.lit(None, pl.Int64))
    differ = paired.filter(pl.col(FINAL_STEP) != pl.col(FINAL_STEP + CONTROL))
    if not differ.height:
        return paired.with_columns(paired_step=pl.col(FINAL_STEP).cast(pl.Int64))
    if curves is None:
        raise ValueError(
            f"{differ.height} forgetting runs end at another step than their control "
            f"(e.g. {differ[FINAL_STEP][0]} vs {differ[FINAL_STEP + CONTROL][0]}): pass their "
            "curves to compare both at one step"
        )

    def wide(ids: pl.Series, suffix: str, id_name: str) -> pl.DataFrame:
        return (
            curves.filter(pl.col("run_id").is_in(ids.implode()) & pl.col("metric").is_in(metrics))
            .pivot(on="metric", index=["run_id", STEP], values="value", aggregate_function="last")
            .rename({"run_id": id_name, **{m: m + suffix for m in metrics}})
        )

    schedule = [c for c in SCHEDULE if c in paired.columns]
    run_points = wide(paired["run_id"], "", "run_id").join(
        paired.select("run_id", "control_run_id", *schedule, FINAL_STEP, FINAL_STEP + CONTROL),
        on="run_id",
    )
    run_points = run_points.filter(aligned(run_points))
    common = (
        run_points.join(
            wide(paired["control_run_id"], CONTROL, "control_run_id"),
            on=["control_run_id", STEP],
        )
        .filter(pl.col(STEP) <= pl.min_horizontal(FINAL_STEP, FINAL_STEP + CONTROL))
        .sort(STEP)
        .group_by("run_id")
        .last()
        .select(
            "run_id",
            pl.col(STEP).cast(pl.Int64).alias("paired_step"),
            *metrics,
            *[m + CONTROL for m in metrics],
        )
    )
    kept = paired.drop(*metrics, *[m + CONTROL for m in metrics])
    return kept.join(common, on="run_id", how="inner")


def _beats(icl: pl.Expr, iwl: pl.Expr) -> pl.Expr:
    """The contrast rule of each row's forgetting kind (`study.controls.CONTRASTS`)."""
    first, *rest = CONTRASTS
    rule: Then | ChainedThen = pl.when(pl.col(KIND) == first).then(beats_control(first, icl, iwl))
    for name in rest:
        rule = rule.when(pl.col(KIND) == name).then(beats_control(name, icl, iwl))
    return rule.otherwise(None)


def contrast_labels(pairs: pl.DataFrame, protocol: str | None = None) -> pl.DataFrame:
    """`pairs` with each pair's label in `contrast`: BEATS where the run beats its control at
    its seed (in its kind's direction), else SHORT — what an effect map is fitted to."""
    icl, iwl = effect_metrics(protocol)
    beats = _beats(pl.col(icl + EFFECT), pl.col(iwl + EFFECT))
    label = pl.when(beats).then(pl.lit(BEATS)).otherwise(pl.lit(SHORT))
    return pairs.with_columns(label.alias(CONTRAST))


def forgetting_effects(
    pairs: pl.DataFrame, axes: Sequence[str], protocol: str | None = None
) -> pl.DataFrame:
    """One row per forgetting point (its values on `axes`, and its kind): `n` seeds, for each
    effect metric the mean run, control and effect and the effect's sd over seeds,
    `beats_control` (the contrast of the point's kind on the means) and `seeds_beating`."""
    icl, iwl = effect_metrics(protocol)
    per_pair = pairs.with_columns(beats=_beats(pl.col(icl + EFFECT), pl.col(iwl + EFFECT)))
    keys = [a for a in axes if a in pairs.columns] or ["replicate_group"]
    keys += [KIND] if KIND not in keys else []
    frame = (
        per_pair.group_by(keys)
        .agg(
            n=pl.len(),
            seeds_beating=pl.col("beats").sum(),
            **(
                {"paired_step": pl.col("paired_step").max()}
                if "paired_step" in pairs.columns
                else {}
            ),
            **{
                f"{m}{part}": pl.col(m + part).mean()
                for m in (icl, iwl)
                for part in ("", CONTROL, EFFECT)
            },
            **{f"{m}{EFFECT}_sd": pl.col(m + EFFECT).std() for m in (icl, iwl)},
        )
        .sort(keys)
    )
    return frame.with_columns(
        beats_control=_beats(pl.col(icl + EFFECT), pl.col(iwl + EFFECT)),
        margin=pl.lit(CONTRAST_MARGIN),
    )
