"""The other worlds' finding rules (study.science.world_findings) on hand-made trial frames, and
the AR toy's first finding at a size CI runs: structural ICL rises with bursty contexts."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from study.controls import CONTRAST_MARGIN, KIND_KEY
from study.metric_names import ICL_STRUCTURAL
from study.science import world_findings as wf

GAIN = CONTRAST_MARGIN + 0.05
AR_BURSTY = Path(__file__).parents[2] / "sweeps" / "worlds" / "ar_bursty.yaml"


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{"state": "complete", **row} for row in rows])


def test_the_bursty_rise_is_read_per_alpha_and_seed_against_the_margin():
    rows = []
    for rep, rise in enumerate((GAIN, GAIN, 0.02)):
        rows.append({wf.ALPHA: 1.0, wf.BURSTY: 0.0, "replicate": rep, ICL_STRUCTURAL: 0.5})
        rows.append({wf.ALPHA: 1.0, wf.BURSTY: 1.0, "replicate": rep, ICL_STRUCTURAL: 0.5 + rise})
    rows.append({wf.ALPHA: 1.0, wf.BURSTY: 0.5, "replicate": 0, ICL_STRUCTURAL: 0.9})  # not read
    rise = wf.bursty_rise(_frame(rows))
    assert rise["holds"].to_list() == [True, True, False]
    assert rise["rise"].to_list() == pytest.approx([GAIN, GAIN, 0.02])
    assert wf.verdict(rise).startswith("holds in 2 of 3 seeds: finding")


def test_forgetting_keeps_icl_only_where_plain_training_loses_it_and_the_control_does_not_keep_it():
    def seed(rep, plain, peak, run, control):
        base = {"replicate": rep, wf.PEAK: peak}
        return [
            {**base, KIND_KEY: "none", "control": False, ICL_STRUCTURAL: plain},
            {**base, KIND_KEY: "active", "control": False, ICL_STRUCTURAL: run},
            {**base, KIND_KEY: None, "control": True, ICL_STRUCTURAL: control},
        ]

    trials = _frame(
        seed(0, 0.5, 0.5 + GAIN, 0.5 + GAIN, 0.5)  # plain loses it, forgetting keeps it: holds
        + seed(1, 0.5, 0.5, 0.5 + GAIN, 0.5)  # plain never lost it
        + seed(2, 0.5, 0.5 + GAIN, 0.5 + GAIN, 0.5 + GAIN)  # the control keeps it as well
        + seed(3, 0.5, 0.5 + GAIN, 0.5 + 0.05, 0.5)  # forgetting keeps less than the margin
    )
    keeps = wf.forgetting_keeps(trials)
    assert keeps["plain_loses"].to_list() == [True, False, True, True]
    assert keeps["beats_both"].to_list() == [True, True, False, False]
    assert keeps["holds"].to_list() == [True, False, False, False]
    assert "not shown" in wf.verdict(keeps)


def _holdout_at(bursty: float) -> float:
    import torch

    from study.sweep.points import point_config
    from study.sweep.spec import SEED_KEY, load_spec
    from study.trial.train import train

    torch.set_num_threads(1)
    spec = load_spec(AR_BURSTY)
    point = {wf.ALPHA: 0.0, wf.BURSTY: bursty, SEED_KEY: spec.seed}
    return float(train(point_config(spec, point), torch.device("cpu")).curve[-1][1][ICL_STRUCTURAL])


@pytest.mark.slow
def test_ar_structural_icl_rises_with_bursty_contexts(science_report):
    """The shipped AR study's config at α = 0, its first seed, bursty share 0 against 1. Measured
    over three seeds before this test was written (+0.26, +0.24, +0.20; README): the test guards
    the first seed's contrast by the platform's margin."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        plain, bursty = pool.map(_holdout_at, (0.0, 1.0))
    science_report(
        f"AR toy, α = 0, seed 42, 2,000 steps: structural ICL {plain:.2f} with no bursty "
        f"context, {bursty:.2f} with every context bursty ({bursty - plain:+.2f})"
    )
    assert bursty - plain >= CONTRAST_MARGIN


def test_without_a_plain_arm_the_control_is_read_as_plain_training():
    """At reset std = init std the control is plain training (the AR toy's long study runs no
    `none` arm): a control that loses its ICL and a forgetting run that keeps more."""
    trials = _frame(
        [
            {"replicate": 0, KIND_KEY: "active", "control": False, ICL_STRUCTURAL: 0.5 + GAIN},
            {"replicate": 0, KIND_KEY: None, "control": True, ICL_STRUCTURAL: 0.5},
        ]
    ).with_columns(pl.Series(wf.PEAK, [0.5 + GAIN, 0.5 + GAIN]))
    row = wf.forgetting_keeps(trials).row(0, named=True)
    assert row["plain"] == row["control"] == 0.5
    assert row["plain_loses"] and row["beats_both"] and row["holds"]
