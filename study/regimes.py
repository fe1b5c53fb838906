"""The regime rule (docs/design.md §5), once: a scalar form for a trial's summary and a polars
form for frames of trials, side by side so that they cannot drift apart.

| regime | structural ICL present | head IWL present |
|  dual  | yes | yes |      icl: yes, no      iwl: no, yes      none: no, no

Presence is read with the evaluation's own noise. An accuracy measured on n sequences is
*present* when the lower end of its Wilson score interval (at `confidence`) clears the
threshold, *absent* when the upper end is below it, and otherwise undecided; a trial with an
undecided call is `uncertain`, its own state. A threshold a config leaves unset is the chance
level of the metric it judges in the trial's world (`study.config`, docs/design.md §9): in the
POS task a model that copies but guesses roles scores 0.5 on the holdout and switch sets,
exactly its thresholds, and should be called neither; an L-way answer has chance 1/L.
Without n (an old store, a frame without `eval.n_examples`) the point estimate decides.

`presence_probability` is the chance that the true accuracy clears the threshold (normal
approximation around the Agresti–Coull estimate's spread, so that 0/n and n/n keep a spread): the phase fit
takes an uncertain trial as a soft label over the regimes it could be in.

A run is *transient* when its structural ICL rose clearly above where it started and fell
clearly back from the peak — relative criteria, so that the small-scale transience of the
reference runs (peaks of 0.2–0.3, far below the 0.5 threshold) counts: the rise from the first
evaluation to the peak is at least `rise` (absolute) and significant at n, and the fall from the
peak to the final value is at least `drop` of that rise and significant at n.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import TypeVar

import polars as pl

REGIMES: tuple[str, ...] = ("dual", "icl", "iwl", "none")  # the decided regimes
UNCERTAIN = "uncertain"
CALLS: tuple[str, ...] = (*REGIMES, UNCERTAIN)  # every value a regime tag or column takes
_BY_PRESENCE = {
    (True, True): "dual",
    (True, False): "icl",
    (False, True): "iwl",
    (False, False): "none",
}


def z_score(confidence: float) -> float:
    """Two-sided: 0.95 → 1.96."""
    return NormalDist().inv_cdf((1 + confidence) / 2)


# The arithmetic below is written once for floats and polars expressions alike; only the
# elementary functions differ.
Num = TypeVar("Num", float, pl.Expr)


def _sqrt(x: Num) -> Num:
    return x.sqrt() if isinstance(x, pl.Expr) else math.sqrt(x)


def _tanh(x: Num) -> Num:
    return x.tanh() if isinstance(x, pl.Expr) else math.tanh(x)


def wilson_bounds(p: Num, n: Num, z: Num) -> tuple[Num, Num]:
    """The Wilson score interval of a proportion `p` measured on `n` trials, at z."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * _sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _difference_noise(a: Num, b: Num, n: Num, z: Num) -> Num:
    """z · the standard error of a − b, two proportions on n trials each."""
    return z * _sqrt((a * (1 - a) + b * (1 - b)) / n)


def wilson(p: float, n: int, confidence: float) -> tuple[float, float]:
    return wilson_bounds(p, n, z_score(confidence))


def presence(
    p: float, threshold: float, n: int | None = None, confidence: float = 0.95
) -> bool | None:
    """True (present), False (absent) or None (undecided at this n)."""
    if n is None:
        return p >= threshold
    low, high = wilson(p, n, confidence)
    return True if low >= threshold else False if high < threshold else None


def regime(
    icl_structural: float,
    iwl_head: float,
    icl_threshold: float,
    iwl_threshold: float,
    n: int | None = None,
    confidence: float = 0.95,
) -> str:
    """'dual' | 'icl' | 'iwl' | 'none' | 'uncertain' for one trial."""
    icl = presence(icl_structural, icl_threshold, n, confidence)
    iwl = presence(iwl_head, iwl_threshold, n, confidence)
    return UNCERTAIN if icl is None or iwl is None else _BY_PRESENCE[(icl, iwl)]


# Φ(x) ≈ 1 / (1 + exp(−1.702 x)) (error < 0.01): polars has no erf, and the scalar and column
# forms must give the same number
_LOGISTIC = 1.702


def presence_probability(p: Num, threshold: Num, n: Num) -> Num:
    """P(true accuracy ≥ threshold) given `p` measured on `n` sequences (floats or columns)."""
    adjusted = (p * n + 2) / (n + 4)
    se = _sqrt(adjusted * (1 - adjusted) / (n + 4))
    return 0.5 * (1 - _tanh(_LOGISTIC * (threshold - p) / se / 2))  # the logistic, stably


def regime_probabilities(p_icl: Num, p_iwl: Num) -> dict[str, Num]:
    """{regime: probability} from independent presence probabilities (floats or columns)."""
    return {
        name: (p_icl if icl else 1 - p_icl) * (p_iwl if iwl else 1 - p_iwl)
        for (icl, iwl), name in _BY_PRESENCE.items()
    }


def soft_targets(
    labels: Sequence[str],
    p_icl: Sequence[float] | None,
    p_iwl: Sequence[float] | None,
    observed: Sequence[str],
) -> list[list[float]]:
    """(n, K) targets over the `observed` regimes: one-hot for a decided trial; for an
    `uncertain` one, the probability of each observed regime from its presence probabilities,
    renormalised — noisy labels near a boundary count as what they are, not as a class. Rows
    of zeros where that cannot be said (no probabilities, or no observed regime possible)."""
    rows = []
    for i, label in enumerate(labels):
        if label in observed:
            rows.append([float(r == label) for r in observed])
            continue
        soft = [0.0] * len(observed)
        if label == UNCERTAIN and p_icl is not None and p_iwl is not None:
            by_regime = regime_probabilities(float(p_icl[i]), float(p_iwl[i]))
            soft = [by_regime.get(r, 0.0) for r in observed]
        total = sum(soft)
        rows.append([v / total for v in soft] if total > 1e-9 else [0.0] * len(observed))
    return rows


def transient(
    start: float,
    peak: float,
    final: float,
    n: int | None = None,
    confidence: float = 0.95,
    rise: float = 0.05,
    drop: float = 0.5,
) -> bool:
    """Structural ICL rose significantly from `start` to `peak`, then fell significantly (by at
    least `drop` of the rise) to `final`. Without n only the sizes are checked."""
    z = z_score(confidence) if n else 0.0

    def noise(a: float, b: float) -> float:
        return _difference_noise(a, b, n, z) if n else 0.0

    risen = peak - start >= max(rise, noise(peak, start))
    return risen and peak - final >= max(drop * (peak - start), noise(peak, final), 1e-12)


# ---- the same rule over columns ---------------------------------------------------------------


def presence_expr(p: pl.Expr, threshold: pl.Expr, n: pl.Expr | None, z: pl.Expr) -> pl.Expr:
    """Boolean column: true / false, null where undecided (or where `p` is missing)."""
    if n is None:
        return p >= threshold
    low, high = wilson_bounds(p, n, z)
    return pl.when(low >= threshold).then(True).when(high < threshold).then(False).otherwise(None)


def regime_expr(
    icl: pl.Expr,
    iwl: pl.Expr,
    icl_threshold: pl.Expr,
    iwl_threshold: pl.Expr,
    n: pl.Expr | None = None,
    z: pl.Expr | None = None,
) -> pl.Expr:
    """`regime` over columns; null where a metric is missing (a failed trial)."""
    z = z if z is not None else pl.lit(z_score(0.95))
    has_icl, has_iwl = (
        presence_expr(icl, icl_threshold, n, z),
        presence_expr(iwl, iwl_threshold, n, z),
    )
    missing = pl.when(icl.is_null() | iwl.is_null()).then(pl.lit(None, pl.String))
    out = missing.when(has_icl.is_null() | has_iwl.is_null()).then(pl.lit(UNCERTAIN))
    for (with_icl, with_iwl), name in _BY_PRESENCE.items():
        matches = (has_icl if with_icl else ~has_icl) & (has_iwl if with_iwl else ~has_iwl)
        out = out.when(matches).then(pl.lit(name))
    return out.otherwise(pl.lit(None, pl.String)).cast(pl.Enum(CALLS))


def transient_expr(
    start: pl.Expr,
    peak: pl.Expr,
    final: pl.Expr,
    n: pl.Expr | None = None,
    z: pl.Expr | None = None,
    rise: pl.Expr | float = 0.05,
    drop: pl.Expr | float = 0.5,
) -> pl.Expr:
    """`transient` over columns."""
    z = z if z is not None and n is not None else pl.lit(0.0)
    n = n if n is not None else pl.lit(1.0)

    def noise(a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return _difference_noise(a, b, n, z)

    rise, drop = (v if isinstance(v, pl.Expr) else pl.lit(v) for v in (rise, drop))
    risen = (peak - start) >= pl.max_horizontal(rise, noise(peak, start))
    fallen = (peak - final) >= pl.max_horizontal(
        drop * (peak - start), noise(peak, final), pl.lit(1e-12)
    )
    return risen & fallen
