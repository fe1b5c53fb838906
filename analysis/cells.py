"""A phase diagram for discrete axes: one cell per grid point, coloured by the regime its trials
ended in.

    cells = fit_cells(trials, "task.zipf_exponent", "forgetting.kind")
    cells.frame       # x, y, n, regime (most common), share, p_<regime>, mean metrics
    cells.boundaries()  # adjacent cells whose regimes differ

For a categorical axis (a forgetting schedule) or a grid too small for a smooth fit (the
quickstart's 3 × 3), interpolating between grid points would invent what no trial measured; a
cell shows exactly what its replicates did, and the share of them that agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from analysis.axes import PhaseError, select_trials, world_of
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD, TRANSIENCE
from study.regimes import CALLS

# Natural orders of categorical params (an axis reads from less to more of the thing).
KNOWN_ORDERS: dict[str, tuple[str, ...]] = {
    "forgetting.kind": ("none", "temporary", "active"),
}
CELL_METRICS = (ICL_STRUCTURAL, IWL_HEAD, TRANSIENCE)


@dataclass
class CellMap:
    x: str
    y: str
    x_values: list[object]  # axis order
    y_values: list[object]
    frame: pl.DataFrame  # one row per (x, y) cell with trials
    points: pl.DataFrame  # run_id, trial, x, y, regime
    conditions: dict[str, object]
    world: str = "pos"  # whose words name the metrics

    def boundaries(self) -> pl.DataFrame:
        """Adjacent cells (sharing an edge) whose most common regimes differ: pair, and the two
        cells' coordinates."""
        regime = {(r[self.x], r[self.y]): r["regime"] for r in self.frame.iter_rows(named=True)}
        rows = []
        for i, xv in enumerate(self.x_values):
            for j, yv in enumerate(self.y_values):
                here = regime.get((xv, yv))
                for ni, nj in ((i + 1, j), (i, j + 1)):
                    if ni >= len(self.x_values) or nj >= len(self.y_values):
                        continue
                    there = regime.get((self.x_values[ni], self.y_values[nj]))
                    if here and there and here != there:
                        a, b = sorted((here, there), key=CALLS.index)
                        rows.append((f"{a}|{b}", xv, yv, self.x_values[ni], self.y_values[nj]))
        schema = ["pair", f"{self.x}_a", f"{self.y}_a", f"{self.x}_b", f"{self.y}_b"]
        return (
            pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
        )


def axis_order(
    trials: pl.DataFrame, key: str, order: Sequence[object] | None = None
) -> list[object]:
    present = trials.get_column(key).drop_nulls().unique().to_list()
    if order is None and key in KNOWN_ORDERS:
        order = KNOWN_ORDERS[key]
    if order is not None:
        return [v for v in order if v in present] + sorted(v for v in present if v not in order)
    return sorted(present)


def fit_cells(
    trials: pl.DataFrame,
    x: str,
    y: str,
    *,
    at: Mapping[str, object] | None = None,
    orders: Mapping[str, Sequence[object]] | None = None,
    regime: str = "regime",
) -> CellMap:
    """Cells of the finished trials over params `x` and `y` (any type); raises PhaseError for an
    unknown or unvaried axis or no trials."""
    chosen = select_trials(trials, at)
    for key in (x, y):
        if key not in chosen.columns:
            raise PhaseError(
                "axis", key, "a param of these trials", message=f"no param {key!r} in these trials"
            )
        if chosen.get_column(key).drop_nulls().n_unique() < 2:
            raise PhaseError(
                "axis",
                key,
                "a param the trials vary",
                message=f"axis {key!r} was not varied in these trials",
            )
    data = chosen.filter(pl.col(regime).is_not_null()).with_columns(
        pl.col(regime).cast(pl.String).alias("regime")
    )
    if not data.height:
        raise PhaseError(
            "trials", 0, "a finished trial with a regime", message="no finished trial has a regime"
        )
    metrics = [m for m in CELL_METRICS if m in data.columns]
    frame = (
        data.group_by(x, y)
        .agg(
            n=pl.len(),
            regime=pl.col("regime").mode().sort().first(),
            **{f"p_{r}": (pl.col("regime") == r).mean() for r in CALLS},
            **{m: pl.col(m).mean() for m in metrics},
        )
        .with_columns(share=pl.max_horizontal(*[pl.col(f"p_{r}") for r in CALLS]))
    )
    orders = orders or {}
    points = data.select(*[c for c in ("run_id", "trial") if c in data.columns], x, y, "regime")
    return CellMap(
        x,
        y,
        axis_order(data, x, orders.get(x)),
        axis_order(data, y, orders.get(y)),
        frame,
        points,
        dict(at or {}),
        world_of(data),
    )
