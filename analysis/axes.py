"""The two axes of a phase diagram: which trials sit on them, on which scale, on which grid.

Shared by the regime fit (`analysis.phase`) and the continuous maps (`analysis.maps`). Models see
each axis mapped onto [0, 1] over the trials' range — through log10 when the param was sampled on
a log scale — so one length scale means the same on both axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from analysis.scalars import to_float
from study.errors import UsageError

# Params that vary between trials but are not axes of the science (replicates).
SEED_COLUMN = "train.seed"  # a trial's seed, as its run logs it
NOT_AXES_PREFIXES = ("seed.", SEED_COLUMN)  # seeds are replicates, not axes
TASK_KIND = "task.kind"  # the world a trial ran in


class PhaseError(UsageError):
    """The trials cannot support the requested phase diagram (message says why)."""


@dataclass(frozen=True)
class Axis:
    """One swept param: its dotted key, scale and the trials' range (in param units)."""

    key: str
    log: bool
    low: float
    high: float

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        """Param units → [0, 1] over the trials' range (log10 first on a log axis)."""
        v = np.log10(values) if self.log else np.asarray(values, dtype=float)
        lo, hi = (np.log10(self.low), np.log10(self.high)) if self.log else (self.low, self.high)
        return (v - lo) / (hi - lo)

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        lo, hi = (np.log10(self.low), np.log10(self.high)) if self.log else (self.low, self.high)
        v = lo + np.asarray(unit, dtype=float) * (hi - lo)
        return 10**v if self.log else v

    def grid(self, n: int) -> np.ndarray:
        """`n` points spanning the trials' range, evenly on the axis' scale."""
        return self.from_unit(np.linspace(0.0, 1.0, n))


def swept_params(trials: pl.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Dotted params that take more than one value across the trials (seeds excluded)."""
    out = []
    for name in trials.columns:
        if "." not in name or name in exclude or name.startswith(NOT_AXES_PREFIXES):
            continue
        if name.split(".")[0] not in {"task", "model", "train", "forgetting", "eval"}:
            continue
        if trials.get_column(name).drop_nulls().n_unique() > 1:
            out.append(name)
    return out


def world_of(trials: pl.DataFrame) -> str:
    """The world the trials ran in (`task.kind`), 'pos' where they do not say or are mixed."""
    if TASK_KIND not in trials.columns:
        return "pos"
    kinds = trials.get_column(TASK_KIND).drop_nulls().unique().to_list()
    return str(kinds[0]) if len(kinds) == 1 else "pos"


def line_param(runs: pl.DataFrame, every: pl.DataFrame) -> str | None:
    """What a figure draws one line per where nobody says: α where it varies, else the first
    swept param of the forgetting `runs`, else of `every` run, controls included (a study whose
    only contrast is its controls), else the seed where there are several, else None."""
    for frame in (runs, every):
        swept = swept_params(frame)
        if swept:
            return "task.zipf_exponent" if "task.zipf_exponent" in swept else swept[0]
    if SEED_COLUMN in every.columns and every.get_column(SEED_COLUMN).n_unique() > 1:
        return SEED_COLUMN
    return None


def make_axis(trials: pl.DataFrame, key: str, log: bool | None = None) -> Axis:
    """Check `key` is a varied numeric param of `trials`; `log` None guesses from the values."""
    if key not in trials.columns:
        swept = ", ".join(swept_params(trials)) or "none"
        raise PhaseError(
            "axis",
            key,
            f"params that vary: {swept}",
            message=f"no param {key!r} in these trials (params that vary: {swept})",
        )
    column = trials.get_column(key)
    if not column.dtype.is_numeric():
        raise PhaseError(
            "axis",
            key,
            "a numeric param",
            message=f"param {key!r} is not numeric ({column.dtype}); it cannot be an axis",
        )
    values = column.drop_nulls().cast(pl.Float64)
    if values.n_unique() < 2:
        shown = values[0] if values.len() else None
        raise PhaseError(
            "axis",
            key,
            "a param the trials vary",
            message=f"axis {key!r} was not varied: every trial here has {key} = {shown}",
        )
    log = is_log_scaled(values) if log is None else log
    low, high = to_float(values.min()), to_float(values.max())
    if log and low <= 0:
        raise PhaseError(
            "axis",
            key,
            "a log scale needs values > 0",
            message=f"axis {key!r} cannot be log-scaled: it has values ≤ 0",
        )
    return Axis(key, bool(log), low, high)


def select_trials(
    trials: pl.DataFrame,
    at: Mapping[str, object] | None = None,
    *,
    states: tuple[str, ...] = ("complete",),
) -> pl.DataFrame:
    """Finished trials (by `state`), fixed at `at` {param: value} (floats compared with a
    relative tolerance of 1e-6); raises PhaseError when a key is unknown or no trial matches."""
    out = (
        trials.filter(pl.col("state").is_in(list(states))) if "state" in trials.columns else trials
    )
    for key, value in (at or {}).items():
        if key not in out.columns:
            raise PhaseError(
                "--at",
                key,
                "a param of these trials",
                message=f"--at {key}: no such param in these trials",
            )
        column = out.get_column(key)
        if column.dtype.is_numeric():
            target = to_float(value)
            match = (pl.col(key).cast(pl.Float64) - target).abs() <= 1e-6 * max(abs(target), 1e-12)
        else:
            match = pl.col(key).cast(pl.String) == str(value)
        fixed = out.filter(match)
        if not fixed.height:
            have = ", ".join(str(v) for v in column.drop_nulls().unique().sort().to_list()[:20])
            raise PhaseError(
                f"--at {key}",
                value,
                f"values: {have}",
                message=f"no finished trial has {key} = {value} (values: {have})",
            )
        out = fixed
    return out


def parse_at(pairs: list[str] | tuple[str, ...]) -> dict[str, object]:
    """['task.p_ambiguous=0.1', ...] → {'task.p_ambiguous': 0.1}; values parsed as numbers when
    they are numbers."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise PhaseError(
                "--at", pair, "KEY=VALUE", message=f"--at expects KEY=VALUE, got {pair!r}"
            )
        try:
            value: object = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        out[key.strip()] = value
    return out


def parse_slice(text: str) -> tuple[str, list[float]]:
    """'forgetting.reset_std=0.02,0.14,1' → ('forgetting.reset_std', [0.02, 0.14, 1.0])."""
    key, sep, raw = text.partition("=")
    try:
        values = [float(v) for v in raw.split(",")] if sep and key else []
    except ValueError:
        values = []
    if not values:
        raise PhaseError(
            "--slice",
            text,
            "KEY=V1,V2,… with numbers",
            message=f"--slice expects KEY=V1,V2,…, got {text!r}",
        )
    return key.strip(), values


# The paper's axes, in the order a diagram prefers them (x first).
PAPER_AXES = (
    "task.zipf_exponent",
    "forgetting.forget_until",
    "forgetting.forget_every",
    "task.p_ambiguous",
    "task.n_vocab",
)


def default_axes(trials: pl.DataFrame) -> tuple[str, str]:
    """Two numeric swept params for a diagram: the paper's axes first (α, N, k, ε, V), then any
    other; raises PhaseError when fewer than two numeric params vary."""
    swept = [p for p in swept_params(trials) if trials.schema[p].is_numeric()]
    ordered = [p for p in PAPER_AXES if p in swept] + [p for p in swept if p not in PAPER_AXES]
    if len(ordered) < 2:
        varied = ordered or "none"
        raise PhaseError(
            "axes",
            varied,
            "two varied numeric params",
            message=f"a phase diagram needs two varied numeric params; these trials vary {varied}",
        )
    return ordered[0], ordered[1]


def is_log_scaled(values: pl.Series) -> bool:
    """Heuristic when the sweep spec does not say (a grid of listed values never does): positive
    values spanning ≥ 50× and spread evenly in log space (about half below the geometric
    midpoint) — N from 100 to 10,000 sampled log-uniformly is log; α uniform on [0.01, 2] is
    not — or three or more distinct values in a geometric progression of ratio ≥ 2 (K = 64, 256,
    1,024 is log; N = 500, 1,000, 1,500, 2,000 is not)."""
    values = values.drop_nulls().cast(pl.Float64)
    if values.n_unique() < 3:
        return False
    low, high = to_float(values.min()), to_float(values.max())
    distinct = np.sort(values.unique().to_numpy())
    if low > 0:
        ratios = distinct[1:] / distinct[:-1]
        if ratios.min() >= 2 and np.allclose(ratios, ratios[0], rtol=0.05):
            return True
    if low <= 0 or high / low < 50:
        return False
    midpoint = (low * high) ** 0.5
    return 0.2 <= to_float((values < midpoint).mean()) <= 0.8


def widen(axis: Axis, bounds: Mapping[str, tuple[float, float]] | None) -> Axis:
    """The axis over its spec bounds and its trials' range (a log axis keeps a positive low)."""
    low, high = (bounds or {}).get(axis.key, (axis.low, axis.high))
    if axis.log and low <= 0:
        low = axis.low
    return Axis(axis.key, axis.log, min(axis.low, low), max(axis.high, high))
