"""Regimes (DESIGN.md §5) as polars expressions over the `trials` frame.

    trials.with_columns(regime=regime_expr(Thresholds(icl=0.6)), transient=transient_expr())
    classify(trials, thresholds=None, protocol="matched")

| regime | structural ICL ≥ thresholds.icl | head IWL ≥ thresholds.iwl |
|  dual  | yes | yes |      icl: yes, no      iwl: no, yes      none: no, no

`protocol` picks the held-out protocol behind structural ICL (§2): None is each trial's headline
metric (`icl.structural`, the one its stored regime used), else `icl.structural.<protocol>`.
`thresholds` None means each trial's own stored thresholds (`eval.thresholds.*` params), falling
back to the defaults — so `classify(trials)` reproduces the stored `regime` tag.
"""

from __future__ import annotations

import polars as pl

from study.config import PROTOCOLS, Thresholds

REGIMES: tuple[str, ...] = ("dual", "icl", "iwl", "none")
DEFAULT = Thresholds()


def structural_column(protocol: str | None = None, stat: str | None = None) -> str:
    """Column of final (or `stat`: 'peak', 'peak_step') structural ICL under `protocol`."""
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    name = "icl.structural" if protocol is None else f"icl.structural.{protocol}"
    return f"{name}.{stat}" if stat else name


def transience_column(protocol: str | None = None) -> str:
    return "transience" if protocol is None else f"transience.{protocol}"


def threshold_expr(kind: str, thresholds: Thresholds | None) -> pl.Expr:
    """The ICL or IWL threshold: a constant, or (`thresholds` None) the trial's stored one, the
    `eval.thresholds.<kind>` column, which the frame must then have (`classify` checks)."""
    default = getattr(thresholds or DEFAULT, kind)
    if thresholds is not None:
        return pl.lit(default)
    return pl.col(f"eval.thresholds.{kind}").cast(pl.Float64).fill_null(default)


def icl_present(thresholds: Thresholds | None = None, protocol: str | None = None) -> pl.Expr:
    return pl.col(structural_column(protocol)) >= threshold_expr("icl", thresholds)


def iwl_present(thresholds: Thresholds | None = None) -> pl.Expr:
    return pl.col("iwl.head") >= threshold_expr("iwl", thresholds)


def regime_expr(thresholds: Thresholds | None = None, protocol: str | None = None) -> pl.Expr:
    """'dual' | 'icl' | 'iwl' | 'none'; null where a metric is missing (a failed trial)."""
    icl, iwl = icl_present(thresholds, protocol), iwl_present(thresholds)
    return (
        pl.when(icl.is_null() | iwl.is_null())
        .then(pl.lit(None, pl.String))
        .when(icl & iwl)
        .then(pl.lit("dual"))
        .when(icl)
        .then(pl.lit("icl"))
        .when(iwl)
        .then(pl.lit("iwl"))
        .otherwise(pl.lit("none"))
        .cast(pl.Enum(REGIMES))
    )


def transient_expr(thresholds: Thresholds | None = None, protocol: str | None = None) -> pl.Expr:
    """Structural ICL reached the threshold during training and ended below it."""
    limit = threshold_expr("icl", thresholds)
    peak, final = pl.col(structural_column(protocol, "peak")), pl.col(structural_column(protocol))
    return (peak >= limit) & (final < limit)


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
    needed = [structural_column(protocol), structural_column(protocol, "peak"), "iwl.head"]
    missing = [c for c in needed if c not in out.columns]
    if missing:
        raise KeyError(
            f"trials lack {', '.join(missing)}: were they logged under protocol {protocol or 'headline'}?"
        )
    return out.with_columns(
        regime=regime_expr(thresholds, protocol),
        transient=transient_expr(thresholds, protocol),
        classified_protocol=pl.lit(protocol or "headline"),
    )


def regime_counts(trials: pl.DataFrame) -> dict[str, int]:
    """Trials per regime (all four regimes, zeros included), nulls dropped."""
    counts = dict(
        trials.get_column("regime").cast(pl.String).drop_nulls().value_counts().iter_rows()
    )
    return {r: int(counts.get(r, 0)) for r in REGIMES}
