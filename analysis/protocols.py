"""The same trials under the three held-out protocols (docs/design.md §2): only what sits in the
held-out rows at evaluation differs, so any change of regime or transience between protocols is
about the representation of unseen tokens, not about what the model learnt.

    long = regimes_by_protocol(trials)         # trial × protocol: regime, transient, ICL, transience
    protocol_table(long)                       # counts per protocol
    regime_moves(long, "paper", "matched")     # crosstab: regime under one vs the other
    transience_by_protocol(curves)             # peak, decay, steps to decay, from the curves
    fits, skipped = phase_by_protocol(trials, "task.zipf_exponent", "forgetting.forget_until")
"""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis.axes import PhaseError
from analysis.classify import classify, structural_column, transience_column
from analysis.phase import PhaseFit, fit_phase
from analysis.transience import transience
from study.config import PROTOCOLS, Thresholds
from study.metric_names import IWL_HEAD, PEAK
from study.regimes import CALLS


def regimes_by_protocol(trials: pl.DataFrame, thresholds: Thresholds | None = None) -> pl.DataFrame:
    """Long frame, one row per trial and protocol the trials have metrics for: run_id, trial,
    protocol, regime, transient, icl_structural (final), peak, transience."""
    frames = []
    for protocol in PROTOCOLS:
        needed = (structural_column(protocol), structural_column(protocol, PEAK), IWL_HEAD)
        if not set(needed) <= set(trials.columns):
            continue
        classified = classify(trials, thresholds, protocol)
        transience = transience_column(protocol)
        frames.append(
            classified.select(
                "run_id",
                "trial",
                protocol=pl.lit(protocol),
                regime=pl.col("regime").cast(pl.String),
                transient=pl.col("transient"),
                icl_structural=pl.col(structural_column(protocol)),
                peak=pl.col(structural_column(protocol, PEAK)),
                transience=pl.col(transience)
                if transience in trials.columns
                else pl.lit(None, pl.Float64),
            )
        )
    if not frames:
        raise KeyError("the trials have no per-protocol structural ICL (icl/structural_<protocol>)")
    return pl.concat(frames)


def protocol_table(by_protocol: pl.DataFrame) -> pl.DataFrame:
    """One row per protocol: trials per regime, transient trials, mean final structural ICL and
    mean transience."""
    counts = by_protocol.group_by("protocol").agg(
        *[(pl.col("regime") == r).sum().alias(r) for r in CALLS],
        transient=pl.col("transient").sum(),
        mean_icl_structural=pl.col("icl_structural").mean(),
        mean_transience=pl.col("transience").mean(),
    )
    order = pl.DataFrame(
        {"protocol": [p for p in PROTOCOLS if p in by_protocol["protocol"].unique().to_list()]}
    )
    return order.join(counts, on="protocol", how="left")


def regime_moves(
    by_protocol: pl.DataFrame, source: str = "paper", target: str = "matched"
) -> pl.DataFrame:
    """Crosstab of trials: rows are the regime under `source`, columns the regime under `target`."""
    wide = (
        by_protocol.filter(pl.col("protocol").is_in([source, target]))
        .pivot(on="protocol", index="run_id", values="regime")
        .drop_nulls()
    )
    table = wide.group_by(source, target).len()
    out = table.pivot(on=target, index=source, values="len").fill_null(0)
    present = [r for r in CALLS if r in out.columns]
    rows = pl.DataFrame({source: [r for r in CALLS if r in out[source].to_list()]})
    return rows.join(out, on=source, how="left").select(
        pl.col(source).alias(f"{source} \\ {target}"), *[pl.col(r) for r in present]
    )


def transience_by_protocol(
    curves: pl.DataFrame, *, rise: float = 0.05, drop: float = 0.5
) -> pl.DataFrame:
    """Transience measured from the curves (`analysis.transience`) under each protocol, long:
    trial, protocol, peak, peak_step, final, decay, steps_to_decay, transient."""
    frames = []
    for protocol in PROTOCOLS:
        metric = structural_column(protocol)
        if curves.filter(pl.col("metric") == metric).height:
            frames.append(
                transience(curves, metric, rise=rise, drop=drop).with_columns(
                    protocol=pl.lit(protocol)
                )
            )
    return pl.concat(frames).drop("metric")


def phase_by_protocol(
    trials: pl.DataFrame, x: str, y: str, thresholds: Thresholds | None = None, **kwargs: Any
) -> tuple[dict[str, PhaseFit], dict[str, str]]:
    """A phase fit per protocol, and for protocols that cannot be fitted (e.g. one regime) why."""
    fits: dict[str, PhaseFit] = {}
    skipped: dict[str, str] = {}
    for protocol in PROTOCOLS:
        try:
            fits[protocol] = fit_phase(classify(trials, thresholds, protocol), x, y, **kwargs)
        except (PhaseError, KeyError) as err:
            skipped[protocol] = str(err)
    return fits, skipped
