"""What a learning-curve figure draws one line per when `--by` is not given
(`analysis.axes.line_param`): a study that sweeps only its controls, or nothing but seeds,
still gets a figure (it once stopped with '--by None: not a param')."""

from __future__ import annotations

import polars as pl

from analysis.axes import line_param


def _trials(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(columns)


def test_alpha_first_then_the_first_swept_param_of_the_forgetting_runs():
    runs = _trials(**{"train.lr": [1e-3, 2e-3], "task.zipf_exponent": [0.0, 1.0]})
    assert line_param(runs, runs) == "task.zipf_exponent"
    runs = _trials(**{"train.lr": [1e-3, 2e-3], "task.zipf_exponent": [1.0, 1.0]})
    assert line_param(runs, runs) == "train.lr"


def test_a_study_whose_only_contrast_is_its_controls_draws_one_line_per_kind():
    every = _trials(**{"forgetting.kind": ["active", "active", "none"], "train.seed": [42, 43, 42]})
    runs = every.head(2)
    assert line_param(runs, every) == "forgetting.kind"


def test_nothing_swept_but_seeds_draws_one_line_per_seed_and_one_run_none():
    every = _trials(**{"forgetting.kind": ["active"] * 3, "train.seed": [42, 43, 44]})
    assert line_param(every, every) == "train.seed"
    assert line_param(every.head(1), every.head(1)) is None
