"""The other worlds' findings (docs/design.md §9; `scripts/science_worlds.py` runs them), read
per seed from a study's trials: pure functions of the frame `dpl sweep export` writes (one row per trial: its swept params,
`replicate`, `control` and summary metrics).

Each finding is a contrast, judged by the platform's margin (`study.controls.CONTRAST_MARGIN`),
and holds where it holds in at least MIN_SEEDS of the seeds. The rules were written down before
`sweeps/worlds/ar_forgetting.yaml` first ran; for `ar_bursty.yaml` after its first run (its
numbers are in the README), so that one is a description, not a test. Bursty classification's
thresholds (`AT_CHANCE`, `WELL_ABOVE`) were written before its studies first ran with the
classifier that learns in context (design §9).
"""

from __future__ import annotations

import polars as pl

from study.controls import CONTRAST_MARGIN, KIND_KEY
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD

ALPHA, BURSTY = "task.zipf_exponent", "task.bursty_ratio"
P_BURSTY, N_CLASSES, N_LABELS = "task.p_bursty", "task.n_classes", "task.n_labels"
# Structural ICL above its chance level (B/N): below AT_CHANCE it is at chance, from WELL_ABOVE
# on well above it.
AT_CHANCE, WELL_ABOVE = 0.10, 0.25
PEAK = "summary/structural_peak"
MIN_SEEDS = 2  # of three


def bursty_rise(trials: pl.DataFrame) -> pl.DataFrame:
    """Per α and seed: final structural ICL with every context bursty minus with none
    (`rise`), and whether it rose by the margin (`holds`)."""
    done = trials.filter(pl.col("state") == "complete")
    at = {
        share: done.filter(pl.col(BURSTY) == share).select(ALPHA, "replicate", ICL_STRUCTURAL)
        for share in (0.0, 1.0)
    }
    both = at[0.0].join(at[1.0], on=[ALPHA, "replicate"], suffix="_bursty")
    rise = pl.col(ICL_STRUCTURAL + "_bursty") - pl.col(ICL_STRUCTURAL)
    return both.select(
        ALPHA, "replicate", rise.alias("rise"), (rise >= CONTRAST_MARGIN).alias("holds")
    ).sort(ALPHA, "replicate")


def forgetting_keeps(trials: pl.DataFrame, kind: str = "active") -> pl.DataFrame:
    """Per seed: does plain training lose structural ICL (final below its peak by the margin,
    `plain_loses`), and does `kind` forgetting keep more than both plain training and its
    control (`beats_both`)? The finding holds at a seed where both do. A study without a plain
    (`none`) arm reads its control as plain training: so it is where the reset std is the init
    std (`study.controls.control_overrides`), as in the AR toy."""
    done = trials.filter(pl.col("state") == "complete")
    is_control = pl.col("control").fill_null(False)
    plain_rows = done.filter(~is_control & (pl.col(KIND_KEY) == "none"))
    if plain_rows.is_empty():
        plain_rows = done.filter(is_control)

    def arm(rows: pl.DataFrame, name: str, peak: bool = False) -> pl.DataFrame:
        cols = [ICL_STRUCTURAL] + ([PEAK] if peak else [])
        return rows.select("replicate", *[pl.col(c).alias(f"{name}_{c}") for c in cols])

    plain = arm(plain_rows, "plain", peak=True)
    run = arm(done.filter(~is_control & (pl.col(KIND_KEY) == kind)), "run")
    control = arm(done.filter(is_control), "control")
    rows = plain.join(run, on="replicate").join(control, on="replicate")
    final = {name: pl.col(f"{name}_{ICL_STRUCTURAL}") for name in ("plain", "run", "control")}
    loses = final["plain"] < pl.col(f"plain_{PEAK}") - CONTRAST_MARGIN
    beats = (final["run"] - final["control"] >= CONTRAST_MARGIN) & (
        final["run"] - final["plain"] >= CONTRAST_MARGIN
    )
    return rows.select(
        "replicate",
        final["plain"].alias("plain"),
        pl.col(f"plain_{PEAK}").alias("plain_peak"),
        final["run"].alias(kind),
        final["control"].alias("control"),
        loses.alias("plain_loses"),
        beats.alias("beats_both"),
        (loses & beats).alias("holds"),
    ).sort("replicate")


def verdict(rows: pl.DataFrame) -> str:
    """'holds in n of m seeds' and whether that meets MIN_SEEDS."""
    n, m = int(rows["holds"].sum()), rows.height
    return f"holds in {n} of {m} seeds: {'finding' if n >= MIN_SEEDS else 'not shown'}"


def icl_level(chance: float) -> pl.Expr:
    """'chance', 'above' or 'between' of each row's final structural ICL against `chance`."""
    icl = pl.col(ICL_STRUCTURAL)
    return (
        pl.when(icl < chance + AT_CHANCE)
        .then(pl.lit("chance"))
        .when(icl >= chance + WELL_ABOVE)
        .then(pl.lit("above"))
        .otherwise(pl.lit("between"))
    )


def _cells(trials: pl.DataFrame, keys: list[str], chance: float, expect: pl.Expr) -> pl.DataFrame:
    """Per cell of `keys`: mean structural ICL and head IWL over seeds, the level each seed's run
    reached, what the finding expects there (`expect`, None: nothing) and whether at least
    MIN_SEEDS seeds meet it (`holds`)."""
    done = trials.filter(pl.col("state") == "complete").with_columns(
        icl_level(chance).alias("level"), expect.alias("expect")
    )
    return (
        done.group_by(keys)
        .agg(
            pl.col(ICL_STRUCTURAL).mean().alias("icl"),
            pl.col(IWL_HEAD).mean().alias("iwl"),
            pl.col("level").alias("levels"),
            pl.col("expect").first(),
            (pl.col("level") == pl.col("expect")).sum().alias("meeting"),
            pl.len().alias("seeds"),
        )
        .with_columns(
            pl.when(pl.col("expect").is_null())
            .then(None)
            .otherwise(pl.col("meeting") >= MIN_SEEDS)
            .alias("holds")
        )
        .sort(keys)
    )


def needs_bursty_and_classes(trials: pl.DataFrame, chance: float) -> pl.DataFrame:
    """Per (p_B, K) cell of the p_B × K study: structural ICL at chance where no context is
    bursty or where classes are fewest, well above it where every context is bursty among the
    most classes (Chan et al. 2022; Reddy 2023)."""
    p_b, k = pl.col(P_BURSTY), pl.col(N_CLASSES)
    expect = (
        pl.when((p_b == 0) | (k == k.min()))
        .then(pl.lit("chance"))
        .when((p_b == p_b.max()) & (k == k.max()))
        .then(pl.lit("above"))
        .otherwise(None)
    )
    return _cells(trials, [P_BURSTY, N_CLASSES], chance, expect)


def labels_beyond_context(trials: pl.DataFrame, n_context: int, chance: float) -> pl.DataFrame:
    """Per L of the labels study: structural ICL at chance where L = N, well above it where
    L > N (Reddy 2023, appendix)."""
    labels = pl.col(N_LABELS)
    expect = (
        pl.when(labels == n_context)
        .then(pl.lit("chance"))
        .when(labels > n_context)
        .then(pl.lit("above"))
        .otherwise(None)
    )
    return _cells(trials, [N_LABELS], chance, expect)


def cells_verdict(cells: pl.DataFrame) -> str:
    """'finding' where every cell with an expectation holds in MIN_SEEDS of its seeds."""
    judged = cells.filter(pl.col("expect").is_not_null())
    n = int(judged["holds"].sum())
    shown = n == judged.height
    return f"{n} of {judged.height} cells as expected: {'finding' if shown else 'not shown'}"


def trade_off(cells: pl.DataFrame) -> float:
    """Spearman correlation of the cells' mean structural ICL with their mean head IWL: below 0
    where in-context learning trades off against in-weights learning."""
    return float(cells.select(pl.corr("icl", "iwl", method="spearman")).item())
