"""Regimes and the transient flag recomputed from a hand-built trials frame."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.classify import classify, regime_counts, regime_expr, transient_expr
from study.config import Thresholds


@pytest.fixture
def trials() -> pl.DataFrame:
    # icl.structural (headline = paper), its peak, iwl.head, and the matched protocol's values
    return pl.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e"],
            "icl/structural": [0.7, 0.8, 0.1, 0.2, None],
            "summary/structural_peak": [0.7, 0.9, 0.6, 0.3, None],
            "summary/structural_start": [0.0, 0.0, 0.0, 0.0, None],
            "summary/structural_matched_start": [0.0, 0.0, 0.0, 0.0, None],
            "icl/structural_matched": [0.9, 0.8, 0.55, 0.2, None],
            "summary/structural_matched_peak": [0.9, 0.9, 0.7, 0.6, None],
            "iwl/head": [0.9, 0.2, 0.8, 0.1, 0.5],
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
    # transience is relative to the trial's own curve, not to the ICL threshold
    assert strict["transient"].to_list()[:4] == [False, False, True, False]
    loose = classify(trials, Thresholds(transience_drop=0.1))
    assert loose["transient"].to_list()[:4] == [False, True, True, True]


def test_protocol_picks_the_structural_metric(trials):
    matched = classify(trials, Thresholds(), protocol="matched")
    # c ends at 0.55 under `matched`: dual instead of iwl; d peaked at 0.6 there and fell: transient
    assert matched["regime"].cast(pl.String).to_list()[:4] == ["dual", "icl", "dual", "none"]
    assert matched["transient"].to_list()[:4] == [False, False, False, True]
    assert regime_counts(matched) == {"dual": 2, "icl": 1, "iwl": 0, "none": 1, "uncertain": 0}


def test_unknown_protocol_and_missing_columns_are_clear(trials):
    with pytest.raises(ValueError, match="protocol must be one of"):
        classify(trials, protocol="bogus")
    with pytest.raises(KeyError, match="icl/structural_init"):
        classify(trials, protocol="init")


def test_presence_is_read_with_the_evaluation_size(trials):
    """0.55 on 200 sequences (Wilson 95% [0.48, 0.62]) cannot clear 0.5; on 10,000 it does.
    A trial whose call is undecided is `uncertain`, and its presence probabilities say how
    undecided."""
    small = classify(trials.with_columns(pl.lit(200).alias("eval.n_examples")), protocol="matched")
    large = classify(
        trials.with_columns(pl.lit(10_000).alias("eval.n_examples")), protocol="matched"
    )
    assert small["regime"].cast(pl.String).to_list()[:4] == ["dual", "icl", "uncertain", "none"]
    assert large["regime"].cast(pl.String).to_list()[:4] == ["dual", "icl", "dual", "none"]
    c_small, c_large = small.row(2, named=True), large.row(2, named=True)
    assert 0.7 < c_small["p_icl"] < 0.95 and c_large["p_icl"] > 0.99
    assert c_small["p_iwl"] > 0.99  # 0.8 on 200 is clearly above 0.5
    assert regime_counts(small)["uncertain"] == 1


def test_the_scalar_and_column_rules_agree():
    """The trial's summary (scalar) and analysis (columns) call the same regimes."""
    from study.regimes import presence_probability, regime, transient

    grid = [
        (i / 20, w / 20, n) for i in range(21) for w in range(0, 21, 5) for n in (50, 300, 10_000)
    ]
    frame = pl.DataFrame(
        {
            "icl/structural": [g[0] for g in grid],
            "summary/structural_peak": [g[0] for g in grid],
            "iwl/head": [g[1] for g in grid],
            "eval.n_examples": [g[2] for g in grid],
        }
    )
    out = classify(frame, Thresholds())
    scalar = [regime(i, w, 0.5, 0.5, n, 0.95) for i, w, n in grid]
    assert out["regime"].cast(pl.String).to_list() == scalar
    assert out["p_icl"].to_list() == pytest.approx(
        [presence_probability(i, 0.5, n) for i, _, n in grid]
    )
    curves = [
        (a / 10, b / 10, c / 10, n)
        for a in range(4)
        for b in range(11)
        for c in range(0, 11, 2)
        for n in (50, 2000)
    ]
    frame = pl.DataFrame(
        {
            "summary/structural_start": [c[0] for c in curves],
            "summary/structural_peak": [max(c[:3]) for c in curves],
            "icl/structural": [c[2] for c in curves],
            "iwl/head": [0.0] * len(curves),
            "eval.n_examples": [c[3] for c in curves],
        }
    )
    flags = classify(frame, Thresholds())["transient"].to_list()
    assert flags == [transient(a, max(a, b, c), c, n) for a, b, c, n in curves]
    assert 0 < sum(flags) < len(flags)
