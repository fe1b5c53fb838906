"""The boundary benchmark's core on a tiny 2-D setting: its error measure, its synthetic labels
and its runs. Which sampler wins is the benchmark's report (benchmarks/boundary.py), not a test."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from benchmarks.boundary_error import METRICS, fitted_map, map_errors, reference
from benchmarks.boundary_maps import MAPS, REGIMES, SIGMA, cell_centres
from benchmarks.boundary_report import placement, summarise, verdicts
from benchmarks.boundary_runs import SAMPLERS, Setting, run_benchmark

TINY = Setting(dims=2, budgets=(12, 16), grid_sides=(3, 4), resolution=60)


@pytest.fixture(scope="module")
def ref():
    return reference(2, 100)


@pytest.fixture(scope="module")
def tiny_run():
    return run_benchmark([TINY], seeds=[0])


def test_the_true_map_scores_zero_and_a_shuffled_one_does_not(ref):
    truth = map_errors(ref.truth, ref)
    assert truth == {
        "misclassified_area": 0.0,
        "boundary_distance": 0.0,
        "fitted_to_true": 0.0,
        "true_to_fitted": 0.0,
    }
    shuffled = map_errors(np.random.default_rng(0).permutation(ref.truth), ref)
    assert shuffled["misclassified_area"] > 0.5
    assert shuffled["fitted_to_true"] > 0.1  # boundaries everywhere, most far from the true ones


def test_boundary_distance_reads_as_a_distance(ref):
    """The true map moved by 0.05 along x is 0.05 from the truth (up to the curves' slope)."""
    moved = MAPS[2].regime(ref.points + np.array([0.05, 0.0]))
    errors = map_errors(moved, ref)
    assert 0.035 < errors["boundary_distance"] < 0.055
    assert errors["misclassified_area"] == pytest.approx(0.1, abs=0.01)  # two curves × 0.05


def test_a_map_with_one_regime_has_no_boundary_and_the_worst_distance(ref):
    errors = map_errors(np.zeros_like(ref.truth), ref)
    assert errors["boundary_distance"] == pytest.approx(math.sqrt(2))


def test_the_fitted_map_follows_its_labels(ref):
    unit = cell_centres(10, 2).reshape(-1, 2)
    labels = MAPS[2].regime(unit)
    good = map_errors(fitted_map(unit, labels, ref), ref)
    shuffled = map_errors(fitted_map(unit, np.random.default_rng(0).permutation(labels), ref), ref)
    assert good["misclassified_area"] < 0.06
    assert shuffled["misclassified_area"] > 0.3
    assert good["boundary_distance"] < shuffled["boundary_distance"] / 5


def test_labels_disagree_at_a_boundary_and_agree_away_from_it():
    synthetic = MAPS[2]
    noise = np.random.default_rng(1).normal(0, SIGMA, (400, 2))
    on_edge = np.array([0.15 + 0.35 * 0.5**2, 0.5])  # on the iwl | dual curve at y = 0.5
    inside = np.array([0.9, 0.5])  # deep in icl
    edge_labels = synthetic.observe(np.tile(on_edge, (400, 1)), noise)[0]
    assert 0.35 < (edge_labels == REGIMES.index("iwl")).mean() < 0.65
    assert set(edge_labels) == {REGIMES.index("iwl"), REGIMES.index("dual")}
    assert set(synthetic.observe(np.tile(inside, (400, 1)), noise)[0]) == {REGIMES.index("icl")}


def test_the_dual_score_peaks_in_the_dual_band():
    y = 0.5
    xs = np.linspace(0, 1, 101)
    score = MAPS[2].dual_score(np.column_stack([xs, np.full_like(xs, y)]))
    peak = xs[score.argmax()]
    assert MAPS[2].regime(np.array([[peak, y]]))[0] == REGIMES.index("dual")


def test_a_run_has_a_row_for_every_sampler_and_budget(tiny_run):
    rows, points = tiny_run
    assert set(rows["sampler"]) == set(SAMPLERS)
    for sampler in SAMPLERS:
        got = sorted(rows.filter(pl.col("sampler") == sampler)["n_trials"])
        assert got == ([9, 16] if sampler == "grid" else list(TINY.budgets))
    for metric in (*METRICS, "fitted_to_true", "true_to_fitted"):
        assert rows[metric].is_finite().all()
    assert rows["misclassified_area"].is_between(0, 1).all()
    per_run = points.group_by("sampler").len()
    assert dict(per_run.iter_rows()) == {name: 16 for name in SAMPLERS}
    assert points.select("x", "y").to_numpy().min() >= 0
    assert points.select("x", "y").to_numpy().max() <= 1


def test_the_verdicts_name_every_target(tiny_run):
    rows, _ = tiny_run
    lines = verdicts(rows, summarise(rows))
    text = "\n".join(lines)
    for metric in METRICS:
        assert f"2-D {metric}: grid needs 16 trials" in text
        for other in ("sobol", "tpe"):
            assert f"2-D {metric}: boundary better than {other} at" in text


def test_the_boundary_samplers_trials_say_why_and_the_placement_counts_them(tiny_run):
    _, points = tiny_run
    reasons = points.filter(pl.col("sampler") == "boundary")["proposal"]
    assert reasons.null_count() == 0
    assert set(reasons) <= {"seed design", "uncertain", "explore"}
    assert reasons.head(8).to_list() == ["seed design"] * 8
    bald = points.filter(pl.col("sampler") == "boundary-bald")["proposal"]
    assert bald.null_count() == 0 and set(bald) <= {
        "seed design",
        "uncertain",
        "replicate",
        "explore",
    }
    others = points.filter(~pl.col("sampler").str.starts_with("boundary"))
    assert others["proposal"].null_count() == others.height
    placed = placement(points, {2: 60})
    assert placed.filter(pl.col("sampler") == "boundary")["trials"].sum() == 16
    assert placed["trials"].sum() == points.height
    for share in ("near_face", "near_truth", "near_truth_2sigma", "face_not_truth"):
        assert placed[share].is_between(0, 1).all()
