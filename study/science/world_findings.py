"""The other worlds' findings (docs/design.md §9; `scripts/science_worlds.py` runs them), read
per seed from a study's trials: pure functions of the frame `dpl sweep export` writes (one row per trial: its swept params,
`replicate`, `control` and summary metrics).

Each finding is a contrast, judged by the platform's margin (`study.controls.CONTRAST_MARGIN`),
and holds where it holds in at least MIN_SEEDS of the seeds. The rules were written down before
`sweeps/worlds/ar_forgetting.yaml` first ran; for `ar_bursty.yaml` after its first run (its
numbers are in the README), so that one is a description, not a test.
"""

from __future__ import annotations

import polars as pl

from study.controls import CONTRAST_MARGIN, KIND_KEY
from study.metric_names import ICL_STRUCTURAL

ALPHA, BURSTY = "task.zipf_exponent", "task.bursty_ratio"
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
