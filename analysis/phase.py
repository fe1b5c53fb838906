"""Fit a probabilistic map of regimes over two swept axes (docs/design.md §5).

    fit = fit_phase(trials, "task.zipf_exponent", "forgetting.forget_until")
    fit.grid()        # x, y, regime (most likely), p_dual … p_none, p_max, agreement, uncertain
    fit.boundaries()  # pair, segment, x, y: the edges between the most-likely regions

The model, and why
------------------
A finite-basis Gaussian-process classifier (`study.phase_model`): softmax regression of the
regime on the two axes (mapped onto [0, 1], log10 first for log-scaled params) plus a Gaussian
radial basis on a regular grid of centres, with a Gaussian prior on every weight.
- *smooth enough for 20–200 irregular points*: the (weakly penalised) linear terms carry a
  straight boundary and extrapolate it; the RBF terms bend it only as far as the data ask. The
  length scale and the RBF amplitude maximise the Laplace-approximated evidence over a small grid,
  whose Occam factor gives a sparse or noisy study a stiff map — no cross-validation folds to
  starve at 20 trials;
- *honest about uncertainty where trials are sparse*: the posterior over the weights is sampled
  exactly (`n_draws`, elliptical slice sampling from the MAP); away from the trials the RBF
  weights keep their prior spread, so the draws there disagree on the most likely regime.
  (Laplace draws, tried first, fall back towards the prior where trials nearly separate the
  regimes: on the quickstart's reference grid they called 35% of the map sure, right 99.6% of
  the time against 85% claimed; the exact draws call 71% sure, right 95.7% against 95.2%.)
  `proba` is the posterior-mean probability, `proba_sd` its spread, `agreement` the share of
  draws that pick `proba`'s most likely regime; the uncertainty band is `agreement < band_level`;
- fast and deterministic given `seed`: 12 convex Newton fits and a slice-sampling chain, a few
  seconds; every number that shaped the map is a field of `PhaseFit`.
A bootstrap of a penalised logistic regression, tried first, kept the boundary's extrapolation
into sparse regions nearly as tight as in dense ones, understating the uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from analysis.axes import Axis, PhaseError, make_axis, select_trials, swept_params, widen
from analysis.classify import soft_labels
from analysis.phase_fit import PhaseFit
from study.phase_model import Classifier, fit_classifier
from study.regimes import REGIMES, UNCERTAIN

MIN_TRIALS = 10
ONE_REGIME = "regimes"  # a PhaseError's key when every trial is in one regime: nothing to fit


def fit_phase(
    trials: pl.DataFrame,
    x: str,
    y: str,
    *,
    at: Mapping[str, object] | None = None,
    through: tuple[str, float] | None = None,
    log_x: bool | None = None,
    log_y: bool | None = None,
    log_through: bool | None = None,
    regime: str = "regime",
    n_grid: int = 80,
    n_draws: int = 400,
    band_level: float = 0.8,
    min_trials: int = MIN_TRIALS,
    seed: int = 0,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> PhaseFit:
    """Fit the regime map of `trials` over params `x` and `y` (dotted keys).

    Trials are the finished ones, fixed at `at` {param: value}; other swept params are pooled,
    except `through` (param, value): a third continuous axis the model is fitted over too, and
    the map is its slice at that value (`fit_phase_through` draws several slices of one fit).
    `log_x`/`log_y`/`log_through` None guess the scale from the values (pass the sweep spec's
    when known). `bounds` {param: (low, high)}, the spec's (`analysis.spec_bounds`): the map
    covers them (and the trials, should any lie outside); without, it covers the trials' range.
    Raises PhaseError for an unknown or unvaried axis, fewer than `min_trials`, or one regime.
    """
    fitted = _fit(
        trials,
        x,
        y,
        through[0] if through else None,
        at=at,
        log_x=log_x,
        log_y=log_y,
        log_through=log_through,
        regime=regime,
        min_trials=min_trials,
        bounds=bounds,
    )
    value = None if through is None else through[1]
    return fitted.evaluate(value, n_grid=n_grid, n_draws=n_draws, band_level=band_level, seed=seed)


class FitOptions(TypedDict, total=False):
    """How a map is fitted: `fit_phase`'s keywords of the same names and meanings."""

    at: Mapping[str, object] | None
    log_x: bool | None
    log_y: bool | None
    log_through: bool | None
    regime: str
    min_trials: int
    bounds: Mapping[str, tuple[float, float]] | None


class DrawOptions(TypedDict, total=False):
    """How a fitted map is drawn: `fit_phase`'s keywords of the same names and meanings."""

    n_grid: int
    n_draws: int
    band_level: float
    seed: int


def fit_phase_through(
    trials: pl.DataFrame,
    x: str,
    y: str,
    z: str,
    values: list[float],
    *,
    drawn: DrawOptions | None = None,
    **fit: Unpack[FitOptions],
) -> dict[float, PhaseFit]:
    """The map over `x` × `y` at each of `values` of a third continuous axis `z`: one fit over
    all three (a study sampled in 3-D has no two trials at one value of `z`, so slicing by `at`
    would find none), drawn at each value. Each slice's `points` hold every fitted trial, with
    `through`: its signed distance from the slice in units of `z`'s range."""
    fitted, options = _fit(trials, x, y, z, **fit), drawn or DrawOptions()
    return {v: fitted.evaluate(v, **options) for v in values}


@dataclass
class _Fitted:
    """A fitted classifier over 2 or 3 axes, before it is drawn on a grid."""

    axes: tuple[Axis, ...]
    model: Classifier
    regimes: tuple[str, ...]
    data: pl.DataFrame
    regime: str
    conditions: dict[str, object]

    def evaluate(
        self,
        value: float | None,
        *,
        n_grid: int = 80,
        n_draws: int = 400,
        band_level: float = 0.8,
        seed: int = 0,
    ) -> PhaseFit:
        """The map on an `n_grid` square of the first two axes, at `value` of the third."""
        ax, ay = self.axes[:2]
        ticks = np.linspace(0, 1, n_grid)
        gu = np.stack(np.meshgrid(ticks, ticks), axis=-1).reshape(-1, 2)
        columns = [c for c in ("run_id", "trial") if c in self.data.columns]
        points = self.data.select(
            *columns,
            pl.col(ax.key),
            pl.col(ay.key),
            pl.col(self.regime).cast(pl.String).alias("regime"),
        )
        conditions = dict(self.conditions)
        if len(self.axes) == 3:
            az = self.axes[2]
            assert value is not None, "a fit over three axes is drawn at a value of the third"
            at_unit = float(az.to_unit(np.array([value]))[0])
            gu = np.column_stack([gu, np.full(len(gu), at_unit)])
            offset = az.to_unit(self.data[az.key].cast(pl.Float64).to_numpy()) - at_unit
            points = points.with_columns(through=pl.Series(offset))
            conditions[az.key] = value
        with threadpool_limits(1):
            draws = self.model.sample_proba(gu, n_draws, np.random.default_rng(seed))  # (S, G, K)
        proba = draws.mean(0)
        agreement = (draws.argmax(-1) == proba.argmax(-1)[None]).mean(0)
        shape = (n_grid, n_grid)
        keys = tuple(a.key for a in self.axes)
        return PhaseFit(
            x=ax,
            y=ay,
            regimes=self.regimes,
            grid_x=ax.grid(n_grid),
            grid_y=ay.grid(n_grid),
            proba=proba.reshape(*shape, -1),
            proba_sd=draws.std(0).reshape(*shape, -1),
            agreement=agreement.reshape(shape),
            points=points,
            length_scale=self.model.basis.length_scale,
            amplitude=self.model.amplitude,
            log_evidence=self.model.log_evidence,
            n_draws=n_draws,
            band_level=band_level,
            conditions=conditions,
            pooled_over=tuple(swept_params(self.data, exclude=(*keys, *self.conditions))),
            through=self.axes[2].key if len(self.axes) == 3 else None,
        )


def _fit(
    trials: pl.DataFrame,
    x: str,
    y: str,
    z: str | None,
    *,
    at: Mapping[str, object] | None = None,
    log_x: bool | None = None,
    log_y: bool | None = None,
    log_through: bool | None = None,
    regime: str = "regime",
    min_trials: int = MIN_TRIALS,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> _Fitted:
    chosen = select_trials(trials, at)
    keys = (x, y) if z is None else (x, y, z)
    if x == y:
        raise PhaseError(
            "y", y, f"a param other than x ({x!r})", message=f"x and y are the same param {x!r}"
        )
    if z in (x, y):
        raise PhaseError(
            "through", z, f"a param other than {x!r} and {y!r}", message=f"{z!r} is already an axis"
        )
    axes = tuple(
        widen(make_axis(chosen, k, log), bounds)
        for k, log in zip(keys, (log_x, log_y, log_through), strict=False)
    )
    data = chosen.filter(
        pl.all_horizontal(pl.col(k).is_not_null() for k in keys) & pl.col(regime).is_not_null()
    )
    where = f" at {', '.join(f'{k}={v}' for k, v in at.items())}" if at else ""
    if data.height < min_trials:
        raise PhaseError(
            "trials",
            data.height,
            f"≥ {min_trials}",
            message=f"only {data.height} finished trials with a regime{where}; "
            f"a phase fit needs ≥ {min_trials}",
        )
    labels = data.get_column(regime).cast(pl.String).to_numpy()
    decided = set(labels) - {UNCERTAIN}
    observed = tuple(r for r in REGIMES if r in decided) + tuple(sorted(decided - set(REGIMES)))
    if len(observed) < 2:
        n_sure = int((labels != UNCERTAIN).sum())
        which = (
            f"every decided trial{where} ({n_sure} of {data.height}; the rest uncertain) is in "
            if n_sure < data.height
            else f"all {data.height} trials{where} are in "
        )
        raise PhaseError(
            ONE_REGIME,
            observed,
            "two regimes or more",
            message=(
                f"{which}regime {observed[0]!r}" if observed else "no trial has a decided regime"
            )
            + ": there is no boundary to fit (the continuous maps still show the gradients)",
        )
    target = soft_labels(data, labels, observed)
    keep = target.sum(1) > 0  # an uncertain trial with no observed regime to lean towards
    data, target = data.filter(pl.Series(keep)), target[keep]
    unit = np.column_stack([a.to_unit(data[a.key].cast(pl.Float64).to_numpy()) for a in axes])
    model = fit_classifier(unit, target, len(observed), per_axis=True)
    return _Fitted(axes, model, observed, data, regime, dict(at or {}))


def fit_phase_slices(
    trials: pl.DataFrame, x: str, y: str, by: str, **kwargs: Any
) -> dict[object, PhaseFit]:
    """One fit per value of param `by` (a third swept axis), each with `by` fixed."""
    at = dict(kwargs.pop("at", None) or {})
    values = select_trials(trials, at).get_column(by).drop_nulls().unique().sort().to_list()
    return {v: fit_phase(trials, x, y, at={**at, by: v}, **kwargs) for v in values}


__all__ = [
    "MIN_TRIALS",
    "ONE_REGIME",
    "PhaseFit",
    "fit_phase",
    "fit_phase_through",
    "FitOptions",
    "DrawOptions",
    "fit_phase_slices",
]
