"""A map fitted over three axes, drawn and written in slices of the third: what `dpl analyze
phase` and `dpl analyze effects` leave for a study sampled in 3-D (docs/design.md §5).

    files, fits = sliced_map(trials, ("task.zipf_exponent", "train.lr"),
                             ("forgetting.reset_std", [0.02, 0.14, 1.0]), out, "phase_slices",
                             what="Regimes")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Unpack

import polars as pl

from analysis.axes import swept_params
from analysis.figures import phase_slices
from analysis.figures.labels import symbol
from analysis.figures.save import save_figure
from analysis.phase import DrawOptions, FitOptions, PhaseFit, fit_phase_through
from analysis.scalars import to_float
from analysis.tables import write_table


def sliced_map(
    trials: pl.DataFrame,
    axes: tuple[str, str],
    third: tuple[str, list[float]],
    out: Path,
    name: str,
    *,
    what: str,
    unit: str = "trials",
    log_scales: dict[str, bool | None] | None = None,
    drawn: DrawOptions | None = None,
    **fit: Unpack[FitOptions],
) -> tuple[list[Path], dict[float, PhaseFit]]:
    """Fit `trials` over `axes` and `third`'s param (`fit_phase_through`, keywords `fit` and
    `drawn`), draw one panel per value of `third` into `out/name.png|svg` (titled `what`), and
    write the boundaries of every slice, with a column for the third param, to
    `out/name_boundaries.csv`."""
    (x, y), (z, values) = axes, third
    scales = log_scales or {}
    scaled: FitOptions = {
        **fit,
        "log_x": scales.get(x),
        "log_y": scales.get(y),
        "log_through": scales.get(z),
    }
    fits = fit_phase_through(trials, x, y, z, values, drawn=drawn, **scaled)
    n = next(iter(fits.values())).n_trials
    title = (
        f"{what}: {symbol(x)} × {symbol(y)} in slices of {symbol(z)} "
        f"(one fit over all three axes, {n} {unit})"
    )
    files = save_figure(phase_slices(fits, title=title), out / name)
    edges = [f.boundaries().with_columns(pl.lit(v).alias(z)) for v, f in fits.items()]
    files.append(
        write_table(pl.concat(edges, how="diagonal_relaxed"), out / f"{name}_boundaries.csv")
    )
    return files, fits


def default_slices(
    trials: pl.DataFrame,
    used: tuple[str, ...],
    bounds: Mapping[str, tuple[float, float]],
    log_scales: Mapping[str, bool],
    min_values: int,
) -> tuple[str, list[float]] | None:
    """The third axis of a study sampled in 3-D (a numeric param with more than `min_values`
    values, other than the map's axes and fixed ones) at its low, middle and high bound (middle
    on its own scale: geometric on a log axis); None when there is none."""
    for key in swept_params(trials, exclude=used):
        column = trials.get_column(key)
        if not column.dtype.is_numeric() or column.n_unique() <= min_values:
            continue
        low, high = bounds.get(key) or (to_float(column.min()), to_float(column.max()))
        middle = (low * high) ** 0.5 if log_scales.get(key) else (low + high) / 2
        return key, [low, float(f"{middle:.3g}"), high]
    return None
