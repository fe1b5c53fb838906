"""analysis/effects.py: pairing forgetting runs with their controls and the per-point effect,
on frames whose answer is computed here by hand."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.effects import NoControls, forgetting_effects, pair_controls
from study.controls import CONTRAST_MARGIN

ICL, IWL = "icl/structural", "iwl/head"


def frames():
    """Two forgetting points (k = 10, 100) sharing control group c0, three seeds each; a seed-9
    run without a control; a failed control that must not pair."""
    runs, controls = [], []
    for seed, (c_icl, c_iwl) in zip((0, 1, 2), ((0.5, 0.9), (0.4, 0.8), (0.6, 0.7)), strict=True):
        controls.append(("complete", "c0", seed, f"c{seed}", c_icl, c_iwl))
        runs.append(("complete", "c0", seed, "active", 10, f"a{seed}", c_icl + 0.02, c_iwl - 0.01))
        runs.append(("complete", "c0", seed, "active", 100, f"b{seed}", c_icl + 0.2 * seed, c_iwl))
    runs.append(("complete", "c0", 9, "active", 10, "lonely", 0.9, 0.1))
    controls.append(("failed", "c0", 9, "cfail", 0.0, 0.0))
    run_cols = [
        "state",
        "control_group",
        "train.seed",
        "forgetting.kind",
        "forgetting.forget_every",
        "run_id",
        ICL,
        IWL,
    ]
    control_cols = ["state", "replicate_group", "train.seed", "run_id", ICL, IWL]
    return (
        pl.DataFrame(runs, schema=run_cols, orient="row"),
        pl.DataFrame(controls, schema=control_cols, orient="row"),
    )


def test_pairs_join_a_run_to_its_finished_control_at_the_same_seed():
    runs, controls = frames()
    pairs = pair_controls(runs, controls)
    assert pairs.height == 6 and "lonely" not in pairs["run_id"].to_list()
    assert dict(zip(pairs["run_id"], pairs["control_run_id"], strict=True))["b2"] == "c2"
    row = pairs.filter(pl.col("run_id") == "b2").row(0, named=True)
    assert row[ICL + ".effect"] == pytest.approx(0.4) and row[IWL + ".effect"] == pytest.approx(0.0)


def test_effect_per_point_is_the_mean_over_seeds_and_the_contrast_rule_counts_seeds():
    pairs = pair_controls(*frames())
    points = forgetting_effects(pairs, ["forgetting.forget_every"]).sort("forgetting.forget_every")
    small, large = points.rows(named=True)
    assert small["n"] == large["n"] == 3
    assert small[ICL + ".effect"] == pytest.approx(0.02)
    assert small[IWL + ".effect"] == pytest.approx(-0.01)
    assert not small["beats_control"] and small["seeds_beating"] == 0
    # k = 100: effects 0.0, 0.2, 0.4 → mean 0.2, sd 0.2; seeds 1 and 2 clear the margin
    assert large[ICL + ".effect"] == pytest.approx(0.2)
    assert large[ICL + ".effect_sd"] == pytest.approx(0.2)
    assert large[ICL] == pytest.approx(0.7) and large[ICL + ".control"] == pytest.approx(0.5)
    assert large["beats_control"] and large["seeds_beating"] == 2
    assert large["margin"] == CONTRAST_MARGIN


def test_a_study_without_controls_says_how_to_get_them():
    runs, controls = frames()
    with pytest.raises(NoControls, match="--with-controls"):
        pair_controls(runs, controls.filter(pl.col("state") == "failed"))


def test_a_run_and_its_control_are_compared_at_one_step():
    """An active run (k = 1000) ends 500 steps after a reset: its final is its last aligned
    evaluation, 62,000; its control, evaluated every 2,500, ends at 62,500. Both are read at the
    last step each has, 60,000, not each at its own end."""
    run_curve = {60_000: (0.70, 0.10), 62_000: (0.80, 0.05), 62_500: (0.20, 0.00)}
    control_curve = {60_000: (0.50, 0.30), 62_500: (0.55, 0.25)}
    curves = pl.DataFrame(
        [
            (run_id, step, metric, values[i])
            for run_id, curve in (("a", run_curve), ("c", control_curve))
            for step, values in curve.items()
            for i, metric in enumerate((ICL, IWL))
        ],
        schema=["run_id", "step", "metric", "value"],
        orient="row",
    )
    final = "summary/final_step"
    keys = ["control_group", "train.seed", "forgetting.kind", "forgetting.forget_every"]
    runs = pl.DataFrame(
        [("complete", "c0", 42, "active", 1000, "a", 0.80, 0.05, 62_000)],
        schema=["state", *keys, "run_id", ICL, IWL, final],
        orient="row",
    )
    controls = pl.DataFrame(
        [("complete", "c0", 42, "c", 0.55, 0.25, 62_500)],
        schema=["state", "replicate_group", "train.seed", "run_id", ICL, IWL, final],
        orient="row",
    )
    row = pair_controls(runs, controls, curves=curves).row(0, named=True)
    assert row["paired_step"] == 60_000
    assert row[ICL] == pytest.approx(0.70) and row[ICL + ".control"] == pytest.approx(0.50)
    assert row[ICL + ".effect"] == pytest.approx(0.20)
    assert row[IWL + ".effect"] == pytest.approx(-0.20)


@pytest.mark.parametrize(
    ("kind", "icl", "iwl", "beats"),
    [
        ("active", 0.0, -0.3, True),  # active: head IWL disappears, beyond its control
        ("active", 0.2, 0.0, True),
        ("active", -0.13, -0.14, False),  # head IWL gone, but structural ICL lost with it
        ("active", -0.05, -0.2, True),  # head IWL gone, structural ICL kept (within the margin)
        ("temporary", 0.0, -0.3, False),  # temporary: losing head IWL is no dual process
        ("temporary", 0.2, -0.2, False),  # more ICL, but head IWL lost with it
        ("temporary", 0.2, -0.05, True),  # more ICL, head IWL kept (within the margin)
    ],
)
def test_each_kind_of_forgetting_beats_its_control_in_its_own_direction(kind, icl, iwl, beats):
    from study.science.findings import check_contrast

    pairs = pl.DataFrame(
        {
            "forgetting.kind": [kind],
            ICL + ".effect": [icl],
            IWL + ".effect": [iwl],
            ICL: [0.5 + icl],
            ICL + ".control": [0.5],
            IWL: [0.5 + iwl],
            IWL + ".control": [0.5],
            "replicate_group": ["g"],
        }
    )
    point = forgetting_effects(pairs, ["forgetting.kind"]).row(0, named=True)
    assert point["beats_control"] is beats and point["seeds_beating"] == int(beats)
    assert check_contrast(_measured(0.5 + icl, 0.5 + iwl), _measured(0.5, 0.5), kind).holds is beats


def _measured(icl: float, iwl: float):
    from study.metric_names import structural
    from study.science.reference import Measured

    final = {structural("paper"): icl, IWL: iwl}
    return Measured([(0, final)], {"paper": (icl, 0)}, final)


def test_the_effect_is_a_map_whose_boundary_lies_where_the_pairs_change():
    """Pairs over α × k that beat their control below α = 1 and fall short above (each seed's
    own pair decides): the fitted effect map says beats on the left, short on the right, and
    its boundary crosses α between the last point that beats and the first that does not."""
    from analysis.effects import CONTRAST, contrast_labels
    from analysis.phase import fit_phase
    from study.controls import BEATS, SHORT

    rows = []
    for alpha in (0.0, 0.4, 0.8, 1.2, 1.6, 2.0):
        for k in (10, 100, 1000):
            for seed in (0, 1):
                gain = 0.3 if alpha < 1.0 else 0.02
                rows.append(("active", alpha, k, seed, 0.4 + gain, 0.6, 0.4, 0.6))
    cols = ["forgetting.kind", "task.zipf_exponent", "forgetting.forget_every", "train.seed"]
    cols += [ICL, IWL, ICL + ".control", IWL + ".control"]
    pairs = pl.DataFrame(rows, schema=cols, orient="row").with_columns(
        (pl.col(ICL) - pl.col(ICL + ".control")).alias(ICL + ".effect"),
        (pl.col(IWL) - pl.col(IWL + ".control")).alias(IWL + ".effect"),
    )
    labelled = contrast_labels(pairs)
    by_alpha = labelled.group_by("task.zipf_exponent").agg(pl.col(CONTRAST).unique())
    assert {r[0]: r[1] for r in by_alpha.iter_rows()} == {
        0.0: [BEATS],
        0.4: [BEATS],
        0.8: [BEATS],
        1.2: [SHORT],
        1.6: [SHORT],
        2.0: [SHORT],
    }
    fit = fit_phase(
        labelled, "task.zipf_exponent", "forgetting.forget_every", regime=CONTRAST, n_draws=100
    )
    beats = fit.regimes.index(BEATS)
    left, right = fit.proba[:, 2, beats], fit.proba[:, -3, beats]  # every k, α near 0 and 2
    assert (left > 0.5).all() and (right < 0.5).all()
    crossings = fit.boundaries()
    assert crossings.height and crossings["task.zipf_exponent"].is_between(0.8, 1.2).all()


def test_a_sampled_studys_effects_are_drawn_to_scale_on_the_specs_bounds_and_log_axis():
    """12 sampled points (as `forgetting_effects` gives them): markers at their coordinates, the
    axes at the spec's bounds with lr on its log scale, outlined exactly where |effect| clears
    the margin; a 3 × 2 grid stays cells."""
    import numpy as np

    from analysis.effects_report import _to_scale
    from analysis.figures import effect_scatter

    rng = np.random.default_rng(0)
    alpha, lr = rng.uniform(0, 2, 12), 10 ** rng.uniform(-4, np.log10(3e-3), 12)
    icl_effect = np.linspace(-0.3, 0.3, 12)
    points = pl.DataFrame(
        {
            "task.zipf_exponent": alpha,
            "train.lr": lr,
            ICL + ".effect": icl_effect,
            IWL + ".effect": -icl_effect,
            "margin": CONTRAST_MARGIN,
        }
    )
    assert _to_scale(points, ("task.zipf_exponent", "train.lr"))
    grid = pl.DataFrame({"a": [0.0, 1.0, 2.0] * 2, "k": [10] * 3 + [100] * 3})
    assert not _to_scale(grid, ("a", "k"))

    bounds = {"task.zipf_exponent": (0.0, 2.0), "train.lr": (1e-4, 3e-3)}
    fig = effect_scatter(
        points,
        "task.zipf_exponent",
        "train.lr",
        [ICL, IWL],
        bounds=bounds,
        log_scales={"train.lr": True, "task.zipf_exponent": False},
    )
    ax = fig.axes[0]
    assert ax.get_xlim() == pytest.approx(bounds["task.zipf_exponent"])
    assert ax.get_ylim() == pytest.approx(bounds["train.lr"])
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    (markers,) = ax.collections
    assert np.allclose(markers.get_offsets(), np.column_stack([alpha, lr]))
    outlined = np.asarray(markers.get_linewidths()) == 2.0
    assert (outlined == (np.abs(icl_effect) >= CONTRAST_MARGIN)).all()
