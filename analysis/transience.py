"""Transience measured from curves: how high structural ICL got, when, and how far it fell.

    transience(curves)                                   # one row per trial, headline metric
    transience(curves, metric="icl/structural_matched")  # under another held-out protocol
    transience(curves, rise=0.05, drop=0.5, by=("trial",))

Per trial (`by`): `peak` and `peak_step` (first step at the maximum), `final` (last step),
`decay` = peak − final (the summary metric `summary/transience`), `steps_to_decay` = steps from the peak
until the curve first falls below `level` (default: half the peak — relative, so a peak of 0.27
that falls to 0 counts as decayed, as in the paper's reference runs; null if it never falls that
far), `start` (first value) and `transient` (a clear rise from the start and a clear fall from
the peak, docs/design.md §5). Start, peak, peak step and final are the summary features of
`study.features`; the transient flag is the rule of `study.regimes` (sizes only: curves carry
no evaluation size).
"""

from __future__ import annotations

import polars as pl

from study.features import final_expr, peak_expr, peak_step_expr, start_expr
from study.metric_names import ICL_STRUCTURAL
from study.regimes import transient_expr


def steps_to_decay_expr(
    level: float | None = None, value: str = "value", step: str = "step"
) -> pl.Expr:
    """Steps from the peak to the first later value below `level` (default half the peak)."""
    below = pl.col(value) < (pl.lit(level) if level is not None else 0.5 * pl.col(value).max())
    after = pl.col(step) > peak_step_expr(value, step)
    return pl.col(step).filter(after & below).min() - peak_step_expr(value, step)


def transience(
    curves: pl.DataFrame,
    metric: str = ICL_STRUCTURAL,
    *,
    rise: float = 0.05,
    drop: float = 0.5,
    level: float | None = None,
    by: tuple[str, ...] = ("trial",),
) -> pl.DataFrame:
    """Transience measures of `metric` per group `by` of a long curves frame (see module doc)."""
    one = curves.filter(pl.col("metric") == metric)
    if not one.height:
        known = ", ".join(sorted(curves.get_column("metric").unique().to_list())[:20])
        raise KeyError(f"no {metric!r} in the curves (metrics: {known})")
    return (
        one.sort(*by, "step")
        .group_by(*by, maintain_order=True)
        .agg(
            start=start_expr(),
            peak=peak_expr(),
            peak_step=peak_step_expr(),
            final=final_expr(),
            final_step=pl.col("step").last(),
            steps_to_decay=steps_to_decay_expr(level),
        )
        .with_columns(
            decay=pl.col("peak") - pl.col("final"),
            transient=transient_expr(
                pl.col("start"), pl.col("peak"), pl.col("final"), rise=rise, drop=drop
            ),
            metric=pl.lit(metric),
        )
    )
