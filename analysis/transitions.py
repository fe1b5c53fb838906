"""Where along training the most likely regime changes, read off a fit over (x, step).

    table = transitions(fit)    # x, from, to, step, step_low, step_high: one row per change
    spans = regime_spans(fit)   # x, regime, begins, ends: each regime's stretch of training

For each x value of the fitted trials, the fit's posterior-mean probabilities are read along the
step axis (interpolated between grid columns at that x). A change is where the most likely
regime switches between two grid rows; its `step` is where the two are equally likely
(interpolated linearly on the axis' scale, log10 for steps), and `step_low`–`step_high` is the
uncertainty band around it (posterior draws agreeing < `fit.band_level`), or the two grid rows
when the band is narrower than they are. A regime that holds throughout gives no row: a study
that never changes regime over time has an empty table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from analysis.phase import PhaseFit


def transitions(fit: PhaseFit, values: Sequence[float] | None = None) -> pl.DataFrame:
    """One row per change of the most likely regime along the y axis, at each x of `values`
    (default: the fitted trials' x values), by x then step."""
    rows = []
    for value in _values(fit, values):
        proba, agreement = _column(fit, value)
        top = proba.argmax(-1)
        for i in np.flatnonzero(top[1:] != top[:-1]).tolist():
            a, b = top[i], top[i + 1]
            before, after = proba[i, a] - proba[i, b], proba[i + 1, a] - proba[i + 1, b]
            row = i + (before / (before - after) if before != after else 0.5)
            low, high = _band(agreement < fit.band_level, i)
            rows.append(
                (value, fit.regimes[a], fit.regimes[b], *_steps(fit, [row, low, high]).tolist())
            )
    schema = {
        fit.x.key: pl.Float64,
        "from": pl.String,
        "to": pl.String,
        fit.y.key: pl.Float64,
        f"{fit.y.key}_low": pl.Float64,
        f"{fit.y.key}_high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def regime_spans(fit: PhaseFit, values: Sequence[float] | None = None) -> pl.DataFrame:
    """Each most likely regime's stretch of the y axis at each x: x, regime, begins, ends (the
    axis' ends, or the change steps of `transitions`)."""
    table = transitions(fit, values)
    y, rows = fit.y.key, []
    for value in _values(fit, values):
        changes = table.filter(pl.col(fit.x.key) == value)
        regimes = [_first(fit, value), *changes.get_column("to").to_list()]
        bounds = [fit.y.low, *changes.get_column(y).to_list(), fit.y.high]
        rows += [(value, r, bounds[k], bounds[k + 1]) for k, r in enumerate(regimes)]
    schema = {fit.x.key: pl.Float64, "regime": pl.String, "begins": pl.Float64, "ends": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def time_lines(fit: PhaseFit | None, n_evaluations: int) -> list[str]:
    """A report's words for a map over training time: the transitions as a table (`fit` None:
    none could be fitted, so none)."""
    head = f"time axis: {n_evaluations} classified evaluations"
    if fit is None:
        return [f"{head}; no fitted map, so no transitions"]
    table = transitions(fit)
    if not table.height:
        return [f"{head}; the most likely regime never changes along training"]
    steps = [c for c in table.columns if c.startswith(fit.y.key)]
    shown = table.with_columns(pl.col(steps).round(0).cast(pl.Int64))
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_width_chars=200):
        return [
            f"{head}; where the most likely regime changes (band: draws agree < {fit.band_level:.0%}):",
            str(shown),
        ]


def _values(fit: PhaseFit, values: Sequence[float] | None) -> list[float]:
    chosen = fit.points.get_column(fit.x.key).unique() if values is None else pl.Series(values)
    sorted_values: list[float] = chosen.cast(pl.Float64).sort().to_list()
    return sorted_values


def _column(fit: PhaseFit, value: float) -> tuple[np.ndarray, np.ndarray]:
    """(ny, K) probabilities and (ny,) agreement along y at x = `value`, interpolated linearly
    between the two nearest grid columns (in the axis' unit coordinates)."""
    nx = fit.grid_x.size
    position = float(np.clip(fit.x.to_unit(np.array([value]))[0], 0, 1)) * (nx - 1)
    left = min(int(position), nx - 2)
    weight = position - left
    proba = (1 - weight) * fit.proba[:, left] + weight * fit.proba[:, left + 1]
    agreement = (1 - weight) * fit.agreement[:, left] + weight * fit.agreement[:, left + 1]
    return proba, agreement


def _band(uncertain: np.ndarray, i: int) -> tuple[int, int]:
    """Grid rows spanning the uncertainty band around a change between rows i and i + 1 (just
    those two rows where they are not in the band)."""
    low, high = i, i + 1
    while low > 0 and uncertain[low] and uncertain[low - 1]:
        low -= 1
    while high < uncertain.size - 1 and uncertain[high] and uncertain[high + 1]:
        high += 1
    return low, high


def _steps(fit: PhaseFit, rows: Sequence[float]) -> np.ndarray:
    """Fractional grid rows → y values (param units, through the axis' scale)."""
    return fit.y.from_unit(np.asarray(rows, dtype=float) / (fit.grid_y.size - 1))


def _first(fit: PhaseFit, value: float) -> str:
    """The most likely regime at the bottom of the y axis (the first evaluations) at x."""
    return fit.regimes[int(_column(fit, value)[0][0].argmax())]
