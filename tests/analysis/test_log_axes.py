"""Which axes are drawn on a log scale when no spec says: a log-uniform sample, or a grid of
values in a geometric progression (K = 64, 256, 1,024), but not an even grid or a narrow one."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.axes import is_log_scaled


@pytest.mark.parametrize(
    ("values", "log"),
    [
        ([64, 256, 1024] * 3, True),
        ([100, 1000, 10_000], True),
        ([0.02, 0.04, 0.08, 0.16], True),
        ([500, 1000, 1500, 2000], False),
        ([0.0, 0.5, 1.0], False),
        ([1.0, 1.5, 2.25], False),  # geometric, but a ratio under 2
        ([64, 256], False),  # two values say nothing
        (list(10 ** np.random.default_rng(0).uniform(2, 4, 30)), True),
        (list(np.random.default_rng(0).uniform(0.01, 2, 30)), False),
    ],
)
def test_log_scale_is_guessed_from_the_values(values, log):
    assert is_log_scaled(pl.Series(values)) is log
