"""The regime rule (docs/design.md §5), once: a scalar form for a trial's summary and a polars
form for frames of trials, side by side so that they cannot drift apart.

| regime | structural ICL ≥ icl threshold | head IWL ≥ iwl threshold |
|  dual  | yes | yes |      icl: yes, no      iwl: no, yes      none: no, no

A run is *transient* when structural ICL reached the ICL threshold during training and ended
below it.
"""

from __future__ import annotations

import polars as pl

REGIMES: tuple[str, ...] = ("dual", "icl", "iwl", "none")
_BY_PRESENCE = {
    (True, True): "dual",
    (True, False): "icl",
    (False, True): "iwl",
    (False, False): "none",
}


def regime(
    icl_structural: float, iwl_head: float, icl_threshold: float, iwl_threshold: float
) -> str:
    """'dual' | 'icl' | 'iwl' | 'none' for one trial."""
    return _BY_PRESENCE[(icl_structural >= icl_threshold, iwl_head >= iwl_threshold)]


def transient(peak: float, final: float, icl_threshold: float) -> bool:
    """Structural ICL reached the threshold during training and ended below it."""
    return peak >= icl_threshold > final


def regime_expr(
    icl: pl.Expr, iwl: pl.Expr, icl_threshold: pl.Expr, iwl_threshold: pl.Expr
) -> pl.Expr:
    """`regime` over columns; null where a metric is missing (a failed trial)."""
    has_icl, has_iwl = icl >= icl_threshold, iwl >= iwl_threshold
    out = pl.when(has_icl.is_null() | has_iwl.is_null()).then(pl.lit(None, pl.String))
    for (with_icl, with_iwl), name in _BY_PRESENCE.items():
        out = out.when((has_icl if with_icl else ~has_icl) & (has_iwl if with_iwl else ~has_iwl))
        out = out.then(pl.lit(name))
    return out.otherwise(pl.lit(None, pl.String)).cast(pl.Enum(REGIMES))


def transient_expr(peak: pl.Expr, final: pl.Expr, icl_threshold: pl.Expr) -> pl.Expr:
    """`transient` over columns."""
    return (peak >= icl_threshold) & (final < icl_threshold)
