"""Transience measures on hand-built curves."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.transience import transience


def _curves(rows: dict[int, list[float]], metric: str = "icl/structural") -> pl.DataFrame:
    return pl.DataFrame(
        [(trial, 100 * (i + 1), metric, v) for trial, vs in rows.items() for i, v in enumerate(vs)],
        schema=["trial", "step", "metric", "value"],
        orient="row",
    )


def test_peak_final_decay_and_steps_to_decay():
    curves = _curves(
        {0: [0.1, 0.6, 0.6, 0.2, 0.1], 1: [0.1, 0.2, 0.3, 0.4], 2: [0.27, 0.2, 0.1, 0.0]}
    )
    # shuffled rows: the measures sort by step themselves
    out = transience(curves.sample(fraction=1.0, shuffle=True, seed=3)).sort("trial")
    assert out["peak"].to_list() == [0.6, 0.4, 0.27]
    assert out["peak_step"].to_list() == [200, 400, 100]  # the first of two equal maxima
    assert out["final"].to_list() == [0.1, 0.4, 0.0]
    assert out["decay"].to_list() == pytest.approx([0.5, 0.0, 0.27])
    # below half the peak: trial 0 at step 400 (0.2 < 0.3), trial 2 at step 300 (0.1 < 0.135)
    assert out["steps_to_decay"].to_list() == [200, None, 200]
    assert out["transient"].to_list() == [True, False, False]


def test_absolute_level_relative_criteria_and_metric_choice():
    curves = pl.concat(
        [_curves({0: [0.2, 0.8, 0.45]}), _curves({0: [0.2, 0.9, 0.85]}, "icl/structural_matched")]
    )
    paper = transience(curves, level=0.5)
    assert paper["steps_to_decay"].to_list() == [100]
    matched = transience(curves, "icl/structural_matched")
    assert matched["transient"].to_list() == [False]  # fell 0.05 of a 0.7 rise: not transient
    assert transience(curves, "icl/structural_matched", drop=0.05)["transient"].to_list() == [True]
    # the rule is relative: a peak far below 0.5 that falls back counts (the reference's 0.27)
    assert transience(_curves({0: [0.0, 0.27, 0.02]}))["transient"].to_list() == [True]
    with pytest.raises(KeyError, match="no 'icl/structural_init'"):
        transience(curves, "icl/structural_init")
