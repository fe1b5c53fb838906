"""Cells: the phase diagram of discrete axes (a schedule × α grid, as in the quickstart)."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib.collections import PathCollection

from analysis.axes import PhaseError
from analysis.cells import fit_cells
from analysis.figures import cell_diagram, cell_maps

# α × schedule, two replicates a cell; replicates disagree at (0.75, temporary)
REGIMES = {
    ("none", 0.0): ["none", "none"],
    ("none", 0.75): ["iwl", "iwl"],
    ("none", 1.5): ["iwl", "iwl"],
    ("temporary", 0.0): ["icl", "icl"],
    ("temporary", 0.75): ["dual", "icl"],
    ("temporary", 1.5): ["dual", "dual"],
    ("active", 0.0): ["icl", "icl"],
    ("active", 0.75): ["icl", "icl"],
    ("active", 1.5): ["icl", "icl"],
}


@pytest.fixture
def trials() -> pl.DataFrame:
    rows = []
    for (kind, alpha), regimes in REGIMES.items():
        for regime in regimes:
            n = len(rows)
            rows.append((f"r{n}", n, "complete", kind, alpha, regime, 0.1 * n, 0.5, 0.1))
    columns = ["run_id", "trial", "state", "forgetting.kind", "task.zipf_exponent", "regime"]
    return pl.DataFrame(
        rows, schema=[*columns, "icl/structural", "iwl/head", "summary/transience"], orient="row"
    )


def test_cells_regimes_shares_and_order(trials):
    cells = fit_cells(trials, "task.zipf_exponent", "forgetting.kind")
    assert cells.y_values == ["none", "temporary", "active"]  # the schedule's natural order
    assert cells.x_values == [0.0, 0.75, 1.5]
    split = cells.frame.filter(
        pl.col("forgetting.kind") == "temporary", pl.col("task.zipf_exponent") == 0.75
    )
    assert split["n"].item() == 2 and split["share"].item() == 0.5 and split["p_dual"].item() == 0.5
    boundaries = cells.boundaries()
    # none row: none | iwl between α 0 and 0.75; column α = 0: none | icl between none and temporary
    assert ("iwl|none", 0.0, "none", 0.75, "none") in boundaries.rows() or (
        "none|iwl",
        0.0,
        "none",
        0.75,
        "none",
    ) in boundaries.rows()
    assert boundaries.filter(pl.col("pair") == "icl|none").height == 1


def test_cell_figures(trials, tmp_path):
    cells = fit_cells(trials, "task.zipf_exponent", "forgetting.kind")
    fig = cell_diagram(cells)
    ax = fig.axes[0]
    markers = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert markers == trials.height
    assert [t.get_text() for t in ax.get_yticklabels()] == ["none", "temporary", "active"]
    assert ax.get_ylabel() == "forgetting schedule" and ax.get_xlabel() == "Zipf exponent α"
    fig.savefig(tmp_path / "cells.png")
    cell_maps(cells).savefig(tmp_path / "cell_maps.svg")
    assert (tmp_path / "cells.png").stat().st_size > 0 and (
        tmp_path / "cell_maps.svg"
    ).stat().st_size > 0


def test_unvaried_axis(trials):
    with pytest.raises(PhaseError, match="was not varied"):
        fit_cells(
            trials.filter(pl.col("forgetting.kind") == "none"),
            "task.zipf_exponent",
            "forgetting.kind",
        )
