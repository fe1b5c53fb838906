"""A figure names a metric in the words of the world its trials ran in: structural ICL is on
held-out tokens in the POS task and on fresh classes in bursty classification."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.axes import world_of
from analysis.figures import continuous_maps
from analysis.maps import fit_map
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD

X, Y = "task.zipf_exponent", "task.p_bursty"


def trials(kind: str | None) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 2, 12), rng.uniform(0, 1, 12)
    frame = pl.DataFrame({X: x, Y: y, ICL_STRUCTURAL: y, IWL_HEAD: 1 - y, "state": "complete"})
    return frame if kind is None else frame.with_columns(pl.lit(kind).alias("task.kind"))


@pytest.mark.parametrize(
    ("kind", "icl_words", "iwl_words"),
    [
        ("bursty", "fresh classes", "query class absent from the context"),
        ("ar", "held-out items", "query absent from the context"),
        ("pos", "held-out tokens", "head (frequent) tokens"),
        (None, "held-out tokens", "head (frequent) tokens"),
    ],
)
def test_map_panels_are_titled_in_the_worlds_words(kind, icl_words, iwl_words):
    frame = trials(kind)
    maps = {
        m: fit_map(frame, X, Y, m, log_x=False, log_y=False) for m in (ICL_STRUCTURAL, IWL_HEAD)
    }
    titles = [ax.get_title() for ax in continuous_maps(maps).axes if ax.get_title()]
    assert any(icl_words in t for t in titles), titles
    assert any(iwl_words in t for t in titles), titles


def test_mixed_worlds_read_as_the_pos_task():
    mixed = pl.concat([trials("ar"), trials("bursty")])
    assert world_of(mixed) == "pos" and world_of(trials("bursty")) == "bursty"
