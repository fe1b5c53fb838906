"""The effect of forgetting beyond the embedding scale: each forgetting run minus its control.

A sweep with `controls: true` runs, beside every forgetting point and seed, the same point with
no forgetting and embeddings drawn at the reset std (`study.controls`). Its forgetting runs carry
their control's replicate group (`control_group`), and a run and its control share the seed.

    pairs = pair_controls(trials, controls)          # one row per forgetting run and its control
    points = forgetting_effects(pairs, axes)         # one row per point: run, control, run − control

A point's effect is the mean over its seeds; `beats_control` is the contrast rule of
`study.controls` (CONTRAST_MARGIN) applied to the mean, and `seeds_beating` counts the seeds
whose own pair passes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from study.controls import CONTRAST_MARGIN, beats_control
from study.metric_names import CONTROL_SUFFIX as CONTROL
from study.metric_names import EFFECT_SUFFIX as EFFECT
from study.metric_names import IWL_HEAD, structural

SEED = "train.seed"


class NoControls(LookupError):
    """The study has no control runs to pair its forgetting runs with."""


def effect_metrics(protocol: str | None = None) -> tuple[str, str]:
    """Structural ICL (under `protocol`, or the headline) and head IWL: the two the contrast reads."""
    return structural(protocol), IWL_HEAD


def pair_controls(
    trials: pl.DataFrame, controls: pl.DataFrame, protocol: str | None = None
) -> pl.DataFrame:
    """Finished forgetting runs joined to their finished control at the same seed: the run's
    columns, `<m>.control` and `<m>.effect` (= run − control) for each effect metric, and
    `control_run_id`. Raises NoControls when no forgetting run has a control."""
    metrics = effect_metrics(protocol)
    done = pl.col("state") == "complete"
    runs = trials.filter(done & pl.col("control_group").is_not_null())
    ctrl = controls.filter(done).select(
        pl.col("replicate_group").alias("control_group"),
        SEED,
        pl.col("run_id").alias("control_run_id"),
        *[pl.col(m).alias(m + CONTROL) for m in metrics],
    )
    if not runs.height or not ctrl.height:
        raise NoControls(
            "no finished forgetting run has a finished control: run the sweep with "
            "`controls: true` in its spec, or `dpl sweep run --with-controls`"
        )
    paired = runs.join(ctrl, on=["control_group", SEED], how="inner")
    return paired.with_columns((pl.col(m) - pl.col(m + CONTROL)).alias(m + EFFECT) for m in metrics)


def forgetting_effects(
    pairs: pl.DataFrame, axes: Sequence[str], protocol: str | None = None
) -> pl.DataFrame:
    """One row per forgetting point (its values on `axes`): `n` seeds, for each effect metric
    the mean run, control and effect and the effect's sd over seeds, `beats_control` (the
    contrast on the means) and `seeds_beating`."""
    icl, iwl = effect_metrics(protocol)
    per_pair = pairs.with_columns(beats=beats_control(pl.col(icl + EFFECT), pl.col(iwl + EFFECT)))
    keys = [a for a in axes if a in pairs.columns] or ["replicate_group"]
    frame = (
        per_pair.group_by(keys)
        .agg(
            n=pl.len(),
            seeds_beating=pl.col("beats").sum(),
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
        beats_control=beats_control(pl.col(icl + EFFECT), pl.col(iwl + EFFECT)),
        margin=pl.lit(CONTRAST_MARGIN),
    )
