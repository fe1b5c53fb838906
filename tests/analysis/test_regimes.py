"""Regimes and the transient flag recomputed from a hand-built trials frame."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.regimes import classify, regime_counts, regime_expr, transient_expr
from study.config import Thresholds


@pytest.fixture
def trials() -> pl.DataFrame:
    # icl.structural (headline = paper), its peak, iwl.head, and the matched protocol's values
    return pl.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e"],
            "icl.structural": [0.7, 0.8, 0.1, 0.2, None],
            "icl.structural.peak": [0.7, 0.9, 0.6, 0.3, None],
            "icl.structural.matched": [0.9, 0.8, 0.55, 0.2, None],
            "icl.structural.matched.peak": [0.9, 0.9, 0.7, 0.6, None],
            "iwl.head": [0.9, 0.2, 0.8, 0.1, 0.5],
            "eval.thresholds.icl": [0.5, 0.5, 0.5, 0.5, 0.5],
            "eval.thresholds.iwl": [0.5, 0.5, 0.5, 0.5, 0.5],
            "regime": ["dual", "icl", "iwl", "none", None],
            "transient": [False, False, True, False, False],
        }
    )


def test_regime_table_under_default_thresholds(trials):
    out = trials.select(regime=regime_expr(Thresholds()), transient=transient_expr(Thresholds()))
    assert out["regime"].cast(pl.String).to_list() == ["dual", "icl", "iwl", "none", None]
    assert out["transient"].to_list() == [False, False, True, False, None]


def test_classify_reproduces_the_stored_tags_with_stored_thresholds(trials):
    out = classify(trials)
    assert out["regime"].cast(pl.String).to_list() == trials["regime"].to_list()
    assert out["stored_regime"].to_list() == trials["regime"].to_list()


def test_thresholds_move_trials_between_regimes(trials):
    strict = classify(trials, Thresholds(icl=0.85, iwl=0.85))
    assert strict["regime"].cast(pl.String).to_list()[:4] == ["iwl", "none", "none", "none"]
    assert strict["transient"].to_list()[:4] == [False, True, False, False]


def test_protocol_picks_the_structural_metric(trials):
    matched = classify(trials, Thresholds(), protocol="matched")
    # c ends at 0.55 under `matched`: dual instead of iwl; d peaked at 0.6 there and fell: transient
    assert matched["regime"].cast(pl.String).to_list()[:4] == ["dual", "icl", "dual", "none"]
    assert matched["transient"].to_list()[:4] == [False, False, False, True]
    assert regime_counts(matched) == {"dual": 2, "icl": 1, "iwl": 0, "none": 1}


def test_unknown_protocol_and_missing_columns_are_clear(trials):
    with pytest.raises(ValueError, match="protocol must be one of"):
        classify(trials, protocol="bogus")
    with pytest.raises(KeyError, match="icl.structural.init"):
        classify(trials, protocol="init")
