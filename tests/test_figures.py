"""Figures build from frames without a display; the expected artists exist; files are non-empty."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.figures import trial_learning_curves


@pytest.fixture
def one_trial_curves() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    metrics = [
        "icl.structural.paper",
        "icl.structural.init",
        "icl.structural.matched",
        "icl.head",
        "iwl.head",
        "icl.tail",
        "iwl.tail",
        "acc.val",
        "acc.tail",
        "loss.train",
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
    fig = trial_learning_curves(one_trial_curves, title="trial 0")
    assert len(fig.axes) == 4
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(lines) == 9  # every plotted metric but loss.train
    path = tmp_path / "curves.png"
    fig.savefig(path)
    assert path.stat().st_size > 0


def test_trial_learning_curves_headline_only_and_empty(tmp_path):
    curves = pl.DataFrame({"step": [0, 100], "metric": ["icl.structural"] * 2, "value": [0.1, 0.6]})
    fig = trial_learning_curves(curves)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2  # curve + threshold
    empty = trial_learning_curves(curves.head(0))
    empty.savefig(tmp_path / "empty.png")
