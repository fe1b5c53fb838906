"""Figures build from frames without a display; the expected artists exist; files are non-empty."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from matplotlib.collections import PathCollection

from analysis.figures import (
    accuracy_by_frequency,
    continuous_maps,
    learning_curves,
    phase_diagram,
    protocol_comparison,
    regime_scatter,
    trial_learning_curves,
)
from analysis.maps import fit_maps
from analysis.phase import fit_phase
from analysis.protocols import regimes_by_protocol
from study.config import PROTOCOLS
from study.metric_names import decile, structural, transience

N = 30


@pytest.fixture(scope="module")
def trials() -> pl.DataFrame:
    """Trials on α × N whose regime follows made-up ICL and IWL scores."""
    rng = np.random.default_rng(0)
    alpha, until = rng.uniform(0, 2, N), 10 ** rng.uniform(2, 4, N)
    icl = 1 / (1 + np.exp(-4 * (np.log10(until) - 2.5 - 0.6 * alpha)))
    iwl = 1 / (1 + np.exp(-5 * (alpha - 1.0)))
    regime = np.select(
        [(icl >= 0.5) & (iwl >= 0.5), icl >= 0.5, iwl >= 0.5], ["dual", "icl", "iwl"], "none"
    )
    frame = {
        "run_id": [f"r{i}" for i in range(N)],
        "trial": np.arange(N),
        "state": "complete",
        "task.zipf_exponent": alpha.round(1),
        "forgetting.forget_until": until.round(),
        "regime": regime,
        "iwl/head": iwl,
    }
    for protocol in (None, *PROTOCOLS):
        frame[structural(protocol)] = icl
        frame[structural(protocol, "peak")] = icl + 0.1
        frame[transience(protocol)] = rng.uniform(0, 0.3, N)
    return pl.DataFrame(frame)


@pytest.fixture(scope="module")
def curves(trials) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    metrics = ["icl/structural", "icl/head", "iwl/head", "icl/tail", "iwl/tail"] + [
        decile(d) for d in range(10)
    ]
    steps = np.arange(100, 600, 100)
    rows = [
        (r, m, int(s), float(rng.random()))
        for r in trials["run_id"]
        for m in metrics
        for s in steps
    ]
    return pl.DataFrame(rows, schema=["run_id", "metric", "step", "value"], orient="row")


@pytest.fixture(scope="module")
def fit(trials):
    return fit_phase(trials, "task.zipf_exponent", "forgetting.forget_until", n_draws=50, n_grid=30)


def _saved(fig, tmp_path, name: str) -> None:
    for suffix in (".png", ".svg"):
        path = tmp_path / f"{name}{suffix}"
        fig.savefig(path)
        assert path.stat().st_size > 1000


def _trial_markers(ax) -> int:
    return sum(
        len(c.get_offsets())
        for c in ax.collections
        if isinstance(c, PathCollection) and (c.get_gid() or "").startswith("trials:")
    )


def test_phase_diagram_artists(fit, trials, tmp_path):
    fig = phase_diagram(fit)
    ax = fig.axes[0]
    assert any(c.get_gid() == "boundaries" for c in ax.collections)
    assert _trial_markers(ax) == trials.height  # one marker per trial
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "Zipf exponent α" and ax.get_ylabel() == "forgetting stops at step N"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "structural ICL only" in labels and "boundary" in labels
    _saved(fig, tmp_path, "phase")


def test_regime_scatter_without_a_fit(trials, tmp_path):
    fig = regime_scatter(
        trials, "task.zipf_exponent", "forgetting.forget_until", log_y=True, note="one regime"
    )
    assert _trial_markers(fig.axes[0]) == trials.height
    _saved(fig, tmp_path, "scatter")


def test_continuous_maps(trials, fit, tmp_path):
    maps = fit_maps(
        trials, "task.zipf_exponent", "forgetting.forget_until", n_grid=20, log_x=False, log_y=True
    )
    assert list(maps) == ["icl/structural", "iwl/head", "summary/transience"]
    fig = continuous_maps(maps, fit)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
    titles = [ax.get_title() for ax in panels]
    assert len(panels) == len(fit.regimes) + 3  # a probability panel per regime, then the maps
    assert all(t.startswith("P(") for t in titles[: len(fit.regimes)])
    _saved(fig, tmp_path, "maps")


def test_learning_curves_and_accuracy_by_frequency(trials, curves, tmp_path):
    binned = trials.with_columns(pl.col("task.zipf_exponent").round(0))
    fig = learning_curves(curves, binned, "task.zipf_exponent")
    n_alpha = binned["task.zipf_exponent"].n_unique()
    assert len(fig.axes) == 3
    assert (
        len([ln for ln in fig.axes[1].get_lines() if ln.get_linestyle() != ":"]) == 2 * n_alpha
    )  # ICL + IWL per α
    _saved(fig, tmp_path, "curves")
    # a world without tail tokens (the AR toy) logs no tail metrics: no empty tail panel
    no_tail = curves.filter(~pl.col("metric").str.ends_with("/tail"))
    assert len(learning_curves(no_tail, binned, "task.zipf_exponent").axes) == 2
    fig = accuracy_by_frequency(curves, binned, "task.zipf_exponent")
    assert len(fig.axes[0].containers) == n_alpha
    _saved(fig, tmp_path, "frequency")


def test_protocol_comparison(trials, tmp_path):
    fig = protocol_comparison(regimes_by_protocol(trials))
    bars, dots = fig.axes
    assert [t.get_text() for t in bars.get_yticklabels()] == ["paper", "init", "matched"]
    assert sum(len(c.get_offsets()) for c in dots.collections) == 3 * trials.height
    _saved(fig, tmp_path, "protocols")


@pytest.fixture
def one_trial_curves() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    metrics = [
        "icl/structural_paper",
        "icl/structural_init",
        "icl/structural_matched",
        "icl/head",
        "iwl/head",
        "icl/tail",
        "iwl/tail",
        "acc/val",
        "acc/tail",
        "loss/train",
    ]
    steps = np.arange(0, 1000, 100)
    return pl.DataFrame(
        {
            "step": np.tile(steps, len(metrics)),
            "metric": np.repeat(metrics, len(steps)),
            "value": rng.random(len(steps) * len(metrics)),
        }
    )


def test_trial_learning_curves_draws_one_line_per_metric(one_trial_curves, tmp_path):
    fig = trial_learning_curves(
        one_trial_curves, title="α=1.5 · active · s0 → dual", resets=[100, 200]
    )
    assert len(fig.axes) == 4  # a 2 × 2 grid
    curves = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(curves) == 9  # every plotted metric but loss.train, a marker at each evaluation
    assert fig._suptitle.get_text() == "α=1.5 · active · s0 → dual"
    assert {ax.get_xscale() for ax in fig.axes} == {"symlog"}
    labels = {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts}
    assert {"threshold 0.5", "embedding reset"} <= labels
    path = tmp_path / "curves.png"
    fig.savefig(path)
    assert path.stat().st_size > 0


def test_trial_learning_curves_headline_only_and_empty(tmp_path):
    curves = pl.DataFrame({"step": [0, 100], "metric": ["icl/structural"] * 2, "value": [0.1, 0.6]})
    fig = trial_learning_curves(curves)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2  # curve + threshold
    empty = trial_learning_curves(curves.head(0))
    empty.savefig(tmp_path / "empty.png")
