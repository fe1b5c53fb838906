"""The replay benchmark's ground: the reference map's majority rule, picks that cycle through a
point's stored seeds, points without outcomes neither picked nor scored, and a score that finds
a fit of the whole grid right and a one-sided study wrong. Thresholds fixed before the first run."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from benchmarks.reference_grid import COLUMNS, DEFAULT_CSV, load_outcomes, reference_map
from benchmarks.replay import grid_picks, run_replay
from benchmarks.replay_grid import ALPHAS, NS, Oracle, ReplayGrid, score
from benchmarks.replay_report import format_table, summarise


def truth(alpha: float, n: float) -> str:
    """A made-up map with a known answer: icl with forgetting at low α, iwl elsewhere."""
    return "icl" if n > 300 + 400 * alpha else "iwl"


def outcomes(seeds: int = 3, flip_every: int = 0, drop: set | None = None) -> pl.DataFrame:
    """The lattice's trials; every `flip_every`-th trial of the other regime (a noisy seed)."""
    rows = []
    for i, (a, n, s) in enumerate(itertools.product(ALPHAS, NS, range(seeds))):
        if drop and (float(a), int(n)) in drop:
            continue
        regime = truth(a, n)
        if flip_every and i % flip_every == 0:
            regime = "iwl" if regime == "icl" else "icl"
        icl, iwl = (0.9, 0.1) if regime == "icl" else (0.1, 0.9)
        rows.append((float(a), int(n), s, 42 + s, icl, iwl, min(icl, iwl), regime))
    return pl.DataFrame(rows, schema=list(COLUMNS), orient="row")


def test_the_majority_is_the_most_called_decided_regime_and_a_tie_has_none():
    frame = pl.DataFrame(
        [
            (0.0, 0, 0, 1, 0.9, 0.1, 0.1, "icl"),
            (0.0, 0, 1, 2, 0.9, 0.1, 0.1, "icl"),
            (0.0, 0, 2, 3, 0.1, 0.9, 0.1, "iwl"),
            (0.5, 0, 0, 1, 0.9, 0.1, 0.1, "icl"),
            (0.5, 0, 1, 2, 0.1, 0.9, 0.1, "iwl"),
            (0.5, 0, 2, 3, 0.5, 0.5, 0.5, "uncertain"),
            (1.0, 0, 0, 1, 0.5, 0.5, 0.5, "uncertain"),
        ],
        schema=list(COLUMNS),
        orient="row",
    )
    ref = {(r["alpha"], r["N"]): r for r in reference_map(frame).iter_rows(named=True)}
    assert ref[(0.0, 0)]["majority"] == "icl" and abs(ref[(0.0, 0)]["agreement"] - 2 / 3) < 1e-9
    assert ref[(0.5, 0)]["majority"] is None  # one icl, one iwl: a tie
    assert ref[(1.0, 0)]["majority"] is None and ref[(1.0, 0)]["agreement"] == 0


def test_picks_at_a_point_cycle_through_its_seeds():
    grid = ReplayGrid.of(outcomes(flip_every=2))
    oracle = Oracle(grid, seed=3)
    stored = sorted(map(str, grid.outcomes[5].rows(named=True)))
    picks = [str(oracle.pick(5)) for _ in range(6)]
    assert sorted(picks[:3]) == stored and sorted(picks[3:]) == stored  # each seed once a cycle
    assert len(set(stored)) > 1  # the point's seeds differ (a flipped one): the test can fail


def test_points_without_outcomes_are_neither_picked_nor_scored():
    missing = {(float(a), int(n)) for a in ALPHAS[:3] for n in NS[:4]}
    grid = ReplayGrid.of(outcomes(drop=missing))
    assert len(grid.points) == len(ALPHAS) * len(NS) - len(missing)
    picked = {tuple(grid.points[i]) for i in grid_picks(grid, (9, 11))}
    assert not picked & missing
    assert grid.scored.sum() == len(grid.points)


def test_the_whole_grid_scores_near_one_and_a_one_sided_study_does_not():
    grid = ReplayGrid.of(outcomes(seeds=1))
    everything = list(range(len(grid.points)))
    rows = [Oracle(grid, 0).pick(i) for i in everything]
    full = score(grid.unit[everything], rows, grid)
    assert full.agreement >= 0.95
    iwl_only = [i for i in everything if grid.majority[i] == "iwl"][:10]
    one_sided = score(grid.unit[iwl_only], [rows[i] for i in iwl_only], grid)
    share_iwl = float((grid.majority == "iwl").mean())
    assert abs(one_sided.agreement - share_iwl) < 1e-9  # one regime seen: iwl everywhere


def test_a_replay_run_gives_one_row_per_sampler_seed_and_budget():
    grid = ReplayGrid.of(outcomes(flip_every=7))
    rows = run_replay(grid, ["grid", "random", "boundary"], [10, 20], seeds=[0, 1])
    assert rows.filter(pl.col("sampler") != "grid").height == 2 * 2 * 2
    assert set(rows.filter(pl.col("sampler") == "grid")["n_trials"]) == {10, 20, 99}
    table = format_table(summarise(rows))
    assert "boundary" in table and "±" in table
    assert np.isfinite(rows["agreement"].to_numpy()).all()


def test_on_the_shipped_reference_the_exact_draws_are_calibrated_and_the_laplace_ones_are_not():
    """The real map (benchmarks/data): 20 random trials, 8 seeds. The thresholds (issue 20's 5
    points of calibration, its 60% sure share) were set after a 20-seed exploration measured a
    gap of 1.6 points (exact) against 12 (Laplace), and a sure share of 71% against 42% (on the
    finished grid: 0.5 against 14 points, 71% against 35%)."""
    grid = ReplayGrid.of(load_outcomes(DEFAULT_CSV))
    results = []
    for seed in range(8):
        picks = list(np.random.default_rng(seed).choice(len(grid.points), 20, replace=False))
        oracle = Oracle(grid, seed)
        results.append(score(grid.unit[picks], [oracle.pick(i) for i in picks], grid, seed))
    mean = {f: np.nanmean([getattr(r, f) for r in results]) for f in vars(results[0])}
    assert abs(mean["sure_agreement"] - mean["sure_claimed"]) <= 0.05
    assert abs(mean["laplace_sure_agreement"] - mean["laplace_sure_claimed"]) > 0.05
    assert mean["sure_share"] >= 0.6 > mean["laplace_sure_share"]
