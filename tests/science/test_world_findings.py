"""The other worlds' finding rules (study.science.world_findings) on hand-made trial frames, and
at sizes CI runs the AR toy's first finding (structural ICL rises with bursty contexts) and
bursty classification's (in-context classification needs bursty contexts)."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from study.controls import CONTRAST_MARGIN, KIND_KEY
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.science import world_findings as wf

GAIN = CONTRAST_MARGIN + 0.05
WORLDS = Path(__file__).parents[2] / "sweeps" / "worlds"
AR_BURSTY = WORLDS / "ar_bursty.yaml"
BURSTY_PB_K = WORLDS / "bursty_pb_k.yaml"


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


def test_bursty_cells_are_judged_against_chance_by_the_thresholds_written_before_the_runs():
    """p_B × K: at chance where p_B = 0 or K is smallest, well above where both are largest;
    a cell holds where two of three seeds meet its expectation."""
    chance, rows = 0.25, []
    icl = {(0.0, 64): 0.25, (0.0, 1024): 0.26, (1.0, 64): 0.30, (1.0, 1024): 0.90}
    for (p_b, k), value in icl.items():
        for rep in range(3):
            last = rep == 2 and (p_b, k) == (1.0, 1024)  # one seed short of well above
            row = {wf.P_BURSTY: p_b, wf.N_CLASSES: k, "replicate": rep, IWL_HEAD: 1 - value}
            rows.append({**row, ICL_STRUCTURAL: 0.45 if last else value})
    rows.append(
        {wf.P_BURSTY: 0.5, wf.N_CLASSES: 1024, "replicate": 0, ICL_STRUCTURAL: 0.5, IWL_HEAD: 0.5}
    )  # no expectation there
    cells = wf.needs_bursty_and_classes(_frame(rows), chance)
    expect = {(p_b, k): e for p_b, k, e in cells.select(wf.P_BURSTY, wf.N_CLASSES, "expect").rows()}
    assert expect == {
        (0.0, 64): "chance",
        (0.0, 1024): "chance",
        (0.5, 1024): None,
        (1.0, 64): "chance",
        (1.0, 1024): "above",
    }
    assert cells.filter(pl.col("expect") == "above")["meeting"].item() == 2
    assert wf.cells_verdict(cells) == "4 of 4 cells as expected: finding"
    assert wf.trade_off(cells) < 0
    # one more seed short of chance at K = 64: that cell no longer holds
    worse = _frame(
        [
            {**r, ICL_STRUCTURAL: 0.40}
            if r[wf.N_CLASSES] == 64 and r["replicate"] < 2 and r[wf.P_BURSTY] == 1.0
            else r
            for r in rows
        ]
    )
    assert wf.cells_verdict(wf.needs_bursty_and_classes(worse, chance)).endswith("not shown")


def test_labels_beyond_the_context_expect_chance_at_l_equal_n_and_above_beyond_it():
    rows = [
        {wf.N_LABELS: labels, "replicate": rep, ICL_STRUCTURAL: 0.95, IWL_HEAD: 0.0}
        for labels in (8, 32)
        for rep in range(3)
    ]
    cells = wf.labels_beyond_context(_frame(rows), n_context=8, chance=0.25)
    assert cells["expect"].to_list() == ["chance", "above"]
    assert cells["holds"].to_list() == [False, True]
    assert wf.cells_verdict(cells) == "1 of 2 cells as expected: not shown"


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


def _fresh_at(p_bursty: float) -> tuple[float, float]:
    """(structural ICL, head IWL) at the end of the shipped p_B × K study's K = 1,024 point."""
    import torch

    from study.metric_names import IWL_HEAD
    from study.sweep.points import point_config
    from study.sweep.spec import SEED_KEY, load_spec
    from study.trial.train import train

    torch.set_num_threads(1)
    spec = load_spec(BURSTY_PB_K)
    point = {"task.p_bursty": p_bursty, "task.n_classes": 1024, SEED_KEY: spec.seed}
    final = train(point_config(spec, point), torch.device("cpu")).curve[-1][1]
    return float(final[ICL_STRUCTURAL]), float(final[IWL_HEAD])


@pytest.mark.slow
def test_bursty_classification_learns_in_context_only_from_bursty_contexts(science_report):
    """`bursty_small` at K = 1,024, the shipped study's first seed: every context bursty against
    none. Thresholds written before the study ran (chance B/N = 0.25): at chance is below 0.35,
    well above chance at least 0.50."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        (plain, plain_iwl), (bursty, bursty_iwl) = pool.map(_fresh_at, (0.0, 1.0))
    science_report(
        f"bursty classification, K = 1,024, seed 42, 2,500 steps: structural ICL {plain:.2f} "
        f"(head IWL {plain_iwl:.2f}) with no bursty context, {bursty:.2f} ({bursty_iwl:.2f}) "
        "with every context bursty"
    )
    assert plain < 0.35 and bursty >= 0.50
