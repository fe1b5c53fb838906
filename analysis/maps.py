"""Continuous maps of a metric over two swept axes: the gradients a threshold would hide (§5).

    maps = fit_maps(trials, "task.zipf_exponent", "forgetting.forget_until")
    maps["icl/structural"].frame()   # x, y, metric, mean, sd

Gaussian-process regression on the axes mapped onto [0, 1] (log10 first on a log axis) — over
the spec's bounds when given, as the phase map — with an anisotropic RBF kernel plus a
white-noise term (replicate seeds disagree), hyperparameters by maximum marginal likelihood,
targets normalised. The posterior sd widens away from the trials, which is the honesty the phase
fit gets from its bootstrap. O(n³): fine to a few thousand trials; beyond `max_points`,
replicates of one grid cell are averaged first.

Each axis's length scale is kept at or above the phase model's finest, 0.2 of the axis
(`study.phase_model.LENGTH_SCALES`): a map resolves no finer than the phase map beside it. A
sharp change along one axis (structural ICL jumping where forgetting first happens) otherwise
pulls that length scale down to the gap between two sampled values; a stationary kernel then
applies it everywhere, the posterior falls back to the mean between the sampled rows, and the
map shows stripes along them: an artefact of the fit, not a feature of the data (seen on the
quickstart's 20 trials at ℓ_N = 0.05–0.11).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from threadpoolctl import threadpool_limits

from analysis.axes import Axis, PhaseError, make_axis, select_trials, widen, world_of
from analysis.classify import structural_column, transience_column
from study.metric_names import IWL_HEAD
from study.phase_model import LENGTH_SCALES

MIN_POINTS = 5
FINEST = min(LENGTH_SCALES)  # the shortest length scale a map may have, as a share of each axis


def map_metrics(protocol: str | None = None) -> tuple[str, str, str]:
    """The three mapped metrics under a held-out protocol (None: the headline)."""
    return (structural_column(protocol), IWL_HEAD, transience_column(protocol))


@dataclass
class ContinuousMap:
    """GP posterior of `metric` on the grid; arrays indexed [y, x]."""

    metric: str
    x: Axis
    y: Axis
    grid_x: np.ndarray
    grid_y: np.ndarray
    mean: np.ndarray  # (ny, nx)
    sd: np.ndarray  # (ny, nx)
    points: pl.DataFrame  # x, y, value of the trials fitted
    kernel: str
    conditions: dict[str, object] = field(default_factory=dict)
    world: str = "pos"  # whose words name the metric (`analysis.figures.labels.WORLD_METRICS`)

    def frame(self) -> pl.DataFrame:
        gx, gy = np.meshgrid(self.grid_x, self.grid_y)
        return pl.DataFrame(
            {
                self.x.key: gx.ravel(),
                self.y.key: gy.ravel(),
                "metric": self.metric,
                "mean": self.mean.ravel(),
                "sd": self.sd.ravel(),
            }
        )


def fit_map(
    trials: pl.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    at: Mapping[str, object] | None = None,
    log_x: bool | None = None,
    log_y: bool | None = None,
    n_grid: int = 60,
    max_points: int = 1500,
    seed: int = 0,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> ContinuousMap:
    """The GP posterior of `metric` over x × y: over the spec's `bounds` {param: (low, high)}
    where given (and always over the trials' range)."""
    chosen = select_trials(trials, at)
    ax, ay = (widen(make_axis(chosen, k, log), bounds) for k, log in ((x, log_x), (y, log_y)))
    if metric not in chosen.columns:
        raise PhaseError(
            "metric",
            metric,
            "a metric of these trials",
            message=f"no metric {metric!r} in these trials",
        )
    data = (
        chosen.select(x, y, value=pl.col(metric).cast(pl.Float64))
        .drop_nulls()
        .filter(pl.col("value").is_finite())
    )
    if data.height > max_points:
        data = data.group_by(x, y).agg(pl.col("value").mean())
    if data.height < MIN_POINTS:
        raise PhaseError(
            "trials",
            data.height,
            f"≥ {MIN_POINTS}",
            message=f"only {data.height} trials with {metric}; a map needs ≥ {MIN_POINTS}",
        )
    unit = np.column_stack([ax.to_unit(data[x].to_numpy()), ay.to_unit(data[y].to_numpy())])
    scales = RBF([0.3, 0.3], (FINEST, 5.0))
    kernel = ConstantKernel(0.1, (1e-3, 10.0)) * scales + WhiteKernel(0.01, (1e-6, 0.5))
    model = GaussianProcessRegressor(
        kernel, normalize_y=True, n_restarts_optimizer=0, random_state=seed
    )
    with warnings.catch_warnings(), threadpool_limits(1):  # small matrices: threads only contend
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(unit, data["value"].to_numpy())
    ticks = np.linspace(0, 1, n_grid)
    grid = np.stack(np.meshgrid(ticks, ticks), axis=-1).reshape(-1, 2)
    with threadpool_limits(1):
        mean, sd = model.predict(grid, return_std=True)
    return ContinuousMap(
        metric=metric,
        x=ax,
        y=ay,
        grid_x=ax.grid(n_grid),
        grid_y=ay.grid(n_grid),
        mean=mean.reshape(n_grid, n_grid),
        sd=sd.reshape(n_grid, n_grid),
        points=data.rename({"value": metric}),
        kernel=str(model.kernel_),
        conditions=dict(at or {}),
        world=world_of(chosen),
    )


def fit_maps(
    trials: pl.DataFrame,
    x: str,
    y: str,
    metrics: Sequence[str] | None = None,
    *,
    protocol: str | None = None,
    **kwargs: Any,
) -> dict[str, ContinuousMap]:
    """A map per metric (default: structural ICL, head IWL, transience under `protocol`); metrics
    the trials lack are skipped."""
    wanted = metrics or map_metrics(protocol)
    return {m: fit_map(trials, x, y, m, **kwargs) for m in wanted if m in trials.columns}
