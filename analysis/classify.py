"""Regimes (docs/design.md §5) over the `trials` frame: the rule of `study.regimes` applied to
columns, with the thresholds and the held-out protocol chosen at analysis time.

    trials.with_columns(regime=regime_expr(Thresholds(icl=0.6)), transient=transient_expr())
    classify(trials, thresholds=None, protocol="matched")

`protocol` picks the held-out protocol behind structural ICL (§2): None is each trial's headline
metric (`icl/structural`, the one its stored regime used), else `icl/structural_<protocol>`.
`thresholds` None means each trial's own stored thresholds (`eval.thresholds.*` params), falling
back to the defaults — so `classify(trials)` reproduces the stored `regime` tag.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from study import regimes as rule
from study.config import Thresholds
from study.metric_names import IWL_HEAD, PEAK, START, structural, transience
from study.regimes import CALLS, REGIMES, UNCERTAIN, soft_targets

DEFAULT = Thresholds()
N_EXAMPLES = "eval.n_examples"  # sequences per evaluation set: the n behind each accuracy
# The column names of the frame are the metric names (`study.metric_names`).
structural_column = structural
transience_column = transience

__all__ = [
    "CALLS",
    "REGIMES",
    "UNCERTAIN",
    "classify",
    "regime_counts",
    "regime_expr",
    "soft_labels",
    "structural_column",
    "transience_column",
    "transient_expr",
]


def threshold_expr(kind: str, thresholds: Thresholds | None) -> pl.Expr:
    """The ICL or IWL threshold: a constant, or (`thresholds` None) the trial's stored one, the
    `eval.thresholds.<kind>` column, which the frame must then have (`classify` checks)."""
    default = getattr(thresholds or DEFAULT, kind)
    if thresholds is not None:
        return pl.lit(default)
    return pl.col(f"eval.thresholds.{kind}").cast(pl.Float64).fill_null(default)


def regime_expr(
    thresholds: Thresholds | None = None, protocol: str | None = None, *, sized: bool = False
) -> pl.Expr:
    """'dual' | 'icl' | 'iwl' | 'none' | 'uncertain'; null where a metric is missing (a failed
    trial). `sized`: read presence with each trial's evaluation size (`eval.n_examples`), which
    the frame must then have; else the point estimate decides."""
    return rule.regime_expr(
        pl.col(structural(protocol)),
        pl.col(IWL_HEAD),
        threshold_expr("icl", thresholds),
        threshold_expr("iwl", thresholds),
        pl.col(N_EXAMPLES).cast(pl.Float64) if sized else None,
        threshold_expr("confidence", thresholds).map_batches(_z, return_dtype=pl.Float64),
    )


def presence_probabilities(
    thresholds: Thresholds | None = None, protocol: str | None = None
) -> dict[str, pl.Expr]:
    """`p_icl`, `p_iwl`: the chance that each accuracy truly clears its threshold."""
    n = pl.col(N_EXAMPLES).cast(pl.Float64)
    return {
        "p_icl": rule.presence_probability(
            pl.col(structural(protocol)), threshold_expr("icl", thresholds), n
        ),
        "p_iwl": rule.presence_probability(pl.col(IWL_HEAD), threshold_expr("iwl", thresholds), n),
    }


def _z(confidence: pl.Series) -> pl.Series:
    return pl.Series([rule.z_score(c) for c in confidence], dtype=pl.Float64)


def transient_expr(
    thresholds: Thresholds | None = None, protocol: str | None = None, *, sized: bool = False
) -> pl.Expr:
    """Structural ICL rose clearly from its start and fell clearly back (`study.regimes`)."""
    return rule.transient_expr(
        pl.col(structural(protocol, START)),
        pl.col(structural(protocol, PEAK)),
        pl.col(structural(protocol)),
        pl.col(N_EXAMPLES).cast(pl.Float64) if sized else None,
        threshold_expr("confidence", thresholds).map_batches(_z, return_dtype=pl.Float64),
        threshold_expr("transience_rise", thresholds),
        threshold_expr("transience_drop", thresholds),
    )


def classify(
    trials: pl.DataFrame, thresholds: Thresholds | None = None, protocol: str | None = None
) -> pl.DataFrame:
    """`trials` with `regime` and `transient` recomputed; the stored tags kept as `stored_*`."""
    out = trials
    for name in ("regime", "transient"):
        if name in trials.columns and f"stored_{name}" not in trials.columns:
            out = out.with_columns(pl.col(name).alias(f"stored_{name}"))
    if thresholds is None and not {"eval.thresholds.icl", "eval.thresholds.iwl"} <= set(
        out.columns
    ):
        thresholds = DEFAULT
    needed = [structural(protocol), structural(protocol, PEAK), IWL_HEAD]
    missing = [c for c in needed if c not in out.columns]
    if missing:
        raise KeyError(
            f"trials lack {', '.join(missing)}: were they logged under protocol {protocol or 'headline'}?"
        )
    added = [
        f"eval.thresholds.{kind}"
        for kind in ("confidence", "transience_rise", "transience_drop")
        if thresholds is None and f"eval.thresholds.{kind}" not in out.columns
    ]
    out = out.with_columns(pl.lit(None, pl.Float64).alias(c) for c in added)  # → the default
    start = structural(protocol, START)
    if start not in out.columns:  # a store from before the start was summarised: unknown
        out, added = out.with_columns(pl.lit(None, pl.Float64).alias(start)), [*added, start]
    sized = N_EXAMPLES in out.columns
    extra = presence_probabilities(thresholds, protocol) if sized else {}
    return out.with_columns(
        regime=regime_expr(thresholds, protocol, sized=sized),
        transient=transient_expr(thresholds, protocol, sized=sized),
        classified_protocol=pl.lit(protocol or "headline"),
        **extra,
    ).drop(added)


def regime_counts(trials: pl.DataFrame) -> dict[str, int]:
    """Trials per regime (the four regimes and `uncertain`, zeros included), nulls dropped."""
    counts = dict(
        trials.get_column("regime").cast(pl.String).drop_nulls().value_counts().iter_rows()
    )
    return {r: int(counts.get(r, 0)) for r in CALLS}


def soft_labels(data: pl.DataFrame, labels: np.ndarray, observed: tuple[str, ...]) -> np.ndarray:
    """(n, K) targets from a frame of trials (`study.regimes.soft_targets`: an `uncertain`
    trial counts by its presence probabilities `p_icl`, `p_iwl`, where the frame has them)."""
    has_p = {"p_icl", "p_iwl"} <= set(data.columns)
    p_icl = data["p_icl"].fill_null(float("nan")).to_list() if has_p else None
    p_iwl = data["p_iwl"].fill_null(float("nan")).to_list() if has_p else None
    rows = soft_targets(list(labels), p_icl, p_iwl, observed)
    targets: np.ndarray = np.nan_to_num(
        np.asarray(rows, dtype=float).reshape(len(labels), len(observed))
    )
    return targets
