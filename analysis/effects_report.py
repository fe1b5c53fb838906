"""A study's forgetting-effect map as files: what `dpl analyze effects` (and the end of a sweep
with controls) leaves.

    report = effects_report(store, "quickstart")
    print(report.text)   # per point: run, control, run − control, how many seeds beat the control

Writes into `out` (default `figures/<study>/effects/`): `effects.png|svg`, `effects.csv` (one row
per forgetting point), `pairs.csv` (one row per run and its control), `summary.txt`; then logs the
folder as artifacts of the study's MLflow parent run. Where both axes are numeric and there are
enough pairs, the effect is also a map: the phase model fitted to each pair's label (beats its
control or falls short, at its seed) over the spec's bounds, with the boundary of "forgetting
beats its control" — `contrast.png|svg` and `contrast_boundaries.csv`. A study that samples a
third continuous axis (the reset std, say) pools it in that map, and also gets the map fitted
over all three axes and drawn in slices of the third (`slices`; by default its low, middle and
high bounds) — `contrast_slices.png|svg` and `contrast_slices_boundaries.csv`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analysis.axes import PhaseError, select_trials, swept_params, world_of
from analysis.cells import axis_order
from analysis.effects import (
    CONTRAST,
    KIND,
    NoControls,
    contrast_labels,
    effect_metrics,
    forgetting_effects,
    pair_controls,
)
from analysis.figures import MAX_CELLS, effect_map, effect_scatter, phase_diagram
from analysis.figures.labels import format_value, symbol
from analysis.figures.save import save_figure
from analysis.phase import MIN_TRIALS, PhaseFit, fit_phase
from analysis.runs import load_curves, load_study
from analysis.slices import default_slices, sliced_map
from analysis.spec_bounds import Bounds, study_bounds
from analysis.tables import write_table
from study.controls import BEATS, CONTRAST_MARGIN, CONTRASTS
from study.metric_names import CONTROL_SUFFIX as CONTROL
from study.metric_names import EFFECT_SUFFIX as EFFECT
from study.tracking import schema
from study.tracking.store import Store

FORGETTING = "forgetting."


@dataclass
class EffectsReport:
    study: str
    out: Path
    points: pl.DataFrame
    files: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    logged_to: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def beating(self) -> int:
        return int(self.points["beats_control"].sum())


def default_axes(pairs: pl.DataFrame) -> tuple[str, str | None]:
    """x: the first varied axis outside `forgetting.*` (else the first varied one); y: the first
    other varied axis, a forgetting one first (the schedule is what the effect is of)."""
    swept = swept_params(pairs)
    if not swept:
        return "forgetting.kind", None
    plain = [p for p in swept if not p.startswith(FORGETTING)]
    x = (plain or swept)[0]
    rest = [p for p in swept if p != x]
    rest = [p for p in rest if p.startswith(FORGETTING)] + [
        p for p in rest if not p.startswith(FORGETTING)
    ]
    return x, (rest[0] if rest else None)


def effects_report(
    store: Store,
    study: str,
    x: str | None = None,
    y: str | None = None,
    *,
    at: Mapping[str, object] | None = None,
    slices: tuple[str, list[float]] | None = None,
    protocol: str | None = None,
    out: str | Path | None = None,
    log_artifacts: bool = True,
) -> EffectsReport:
    """Pair, aggregate, draw, write and log the forgetting-effect map of `study`; `slices`
    (param, values) chooses the third axis of the sliced map and where to cut it. Raises
    PhaseError for axes the pairs do not vary, NoControls when the study has no controls."""
    loaded = load_study(store, study)
    curves = load_curves(store, study, effect_metrics(protocol))  # to pair at one step
    pairs = select_trials(pair_controls(loaded.trials, loaded.controls, protocol, curves), at)
    dx, dy = default_axes(pairs)
    x = x or dx
    y = y or (dy if dy != x else None)
    for key in (k for k in (x, y, slices[0] if slices else None) if k):
        if key not in pairs.columns:
            raise PhaseError(
                "axis", key, "a param of these trials", message=f"no param {key!r} in these trials"
            )
    # a param sampled on a continuum has one value a point: pooling it would only hide it
    sampled = [
        k
        for k in swept_params(pairs, exclude=tuple(k for k in (x, y) if k))
        if pairs.schema[k].is_numeric() and pairs[k].n_unique() > MAX_CELLS
    ]
    keys = [k for k in (x, y) if k] + sampled
    points = forgetting_effects(pairs, keys, protocol)
    metrics = effect_metrics(protocol)
    out_dir = Path(out) if out is not None else Path("figures") / study / "effects"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = EffectsReport(study, out_dir, points)
    bounds, log_scales = study_bounds(store, loaded.parent_run_id), loaded.log_scales()
    if y is not None and _to_scale(points, (x, y)):
        figure = effect_scatter(
            points, x, y, metrics, bounds=bounds, log_scales=log_scales, world=world_of(pairs)
        )
    else:
        orders = {k: axis_order(pairs, k) for k in (x, y) if k}
        figure = effect_map(points, x, y, metrics, orders=orders, world=world_of(pairs))
    report.files += save_figure(figure, out_dir / "effects")
    for name, frame in (("effects", points), ("pairs", pairs)):
        path = out_dir / f"{name}.csv"
        report.files.append(write_table(frame, path))
    report.lines = _lines(report, pairs, keys, metrics, loaded.controls.height)
    if y is not None:
        labelled = contrast_labels(pairs, protocol)
        report.lines += _contrast_map(report, labelled, x, y, bounds, log_scales)
        third = slices or default_slices(
            labelled, (x, y, *(at or {})), bounds, log_scales, MAX_CELLS
        )
        if third is not None:
            report.lines += _contrast_slices(report, labelled, (x, y), third, bounds, log_scales)
    (out_dir / "summary.txt").write_text(report.text + "\n")
    report.files.append(out_dir / "summary.txt")
    report.lines.append(f"files: {out_dir}/ ({', '.join(p.name for p in report.files)})")
    if log_artifacts and loaded.parent_run_id is not None:
        store.client().log_artifacts(
            loaded.parent_run_id, str(out_dir), artifact_path=f"{schema.ANALYSIS_DIR}/effects"
        )
        report.logged_to = loaded.parent_run_id
        report.lines.append(f"logged to MLflow parent run {report.logged_to}")
    return report


def _to_scale(points: pl.DataFrame, axes: tuple[str, str]) -> bool:
    """Draw the points to scale (a sampled study) rather than as cells (a grid): both axes are
    numeric and one has more distinct values than cells can show."""
    numeric = all(points.schema[k].is_numeric() for k in axes)
    return numeric and any(points[k].n_unique() > MAX_CELLS for k in axes)


def _contrast_map(
    report: EffectsReport,
    labelled: pl.DataFrame,
    x: str,
    y: str,
    bounds: Bounds,
    log_scales: Mapping[str, bool],
) -> list[str]:
    """The effect as a map with its boundary, where it can be fitted; else why not. An axis the
    spec sampled on a log scale is fitted and drawn on one (guessed from the values, lr over
    1e-4 … 3e-3 was drawn linear, its points crowded at the bottom)."""
    numeric = all(labelled.schema[k].is_numeric() for k in (x, y))
    if not numeric or labelled.height < MIN_TRIALS:
        return []
    try:
        fit = fit_phase(
            labelled,
            x,
            y,
            regime=CONTRAST,
            bounds=bounds,
            log_x=log_scales.get(x),
            log_y=log_scales.get(y),
        )
    except PhaseError as err:
        return [f"no effect map: {err}"]
    pooled = f"; pooled over {', '.join(map(symbol, fit.pooled_over))}" if fit.pooled_over else ""
    title = (
        f"Where forgetting beats its control: {symbol(x)} × {symbol(y)} "
        f"({fit.n_trials} pairs{pooled})"
    )
    report.files += save_figure(phase_diagram(fit, title=title), report.out / "contrast")
    edges = fit.boundaries()
    path = report.out / "contrast_boundaries.csv"
    edges.write_csv(path)
    report.files.append(path)
    return [
        f"effect map: forgetting beats its control over {beating_share(fit):.0%} of the map "
        f"({fit.n_trials} pairs{pooled})"
    ]


def beating_share(fit: PhaseFit) -> float:
    """The share of the map where forgetting more likely beats its control than not."""
    if BEATS not in fit.regimes:
        return 0.0
    return float((fit.proba[..., fit.regimes.index(BEATS)] > 0.5).mean())


def _contrast_slices(
    report: EffectsReport,
    labelled: pl.DataFrame,
    axes: tuple[str, str],
    third: tuple[str, list[float]],
    bounds: Bounds,
    log_scales: Mapping[str, bool],
) -> list[str]:
    """The effect map fitted over the two axes and a third, drawn at `third`'s values."""
    (x, y), z = axes, third[0]
    if labelled.height < MIN_TRIALS:
        return []
    try:
        files, fits = sliced_map(
            labelled,
            (x, y),
            third,
            report.out,
            "contrast_slices",
            what="Where forgetting beats its control",
            unit="pairs",
            log_scales=dict(log_scales),
            regime=CONTRAST,
            bounds=bounds,
        )
    except PhaseError as err:
        return [f"no sliced effect map: {err}"]
    report.files += files
    shares = ", ".join(
        f"{beating_share(f):.0%} at {symbol(z)} = {format_value(v)}" for v, f in fits.items()
    )
    return [
        f"effect map in slices of {symbol(z)} (one 3-axis fit): forgetting beats it over {shares}"
    ]


def _lines(
    report: EffectsReport,
    pairs: pl.DataFrame,
    keys: list[str],
    metrics: tuple[str, str],
    n_controls: int,
) -> list[str]:
    icl, iwl = metrics
    points = report.points
    lines = [
        f"study {report.study}: {pairs.height} forgetting runs paired with their control "
        f"({n_controls} control runs), {points.height} points",
        f"forgetting beats its control ({_rules(pairs)}, by ≥ {CONTRAST_MARGIN:g}, on the mean "
        f"over seeds) at {report.beating} of {points.height} points",
    ]
    others = swept_params(pairs, exclude=tuple(keys))
    if others:
        lines.append("pooled over: " + ", ".join(others))
    for row in points.iter_rows(named=True):
        where = ", ".join(f"{symbol(k)}={format_value(row[k])}" for k in keys)
        parts = [
            f"{name} {row[m]:.2f} − {row[m + CONTROL]:.2f} = {row[m + EFFECT]:+.2f}"
            + (f" (sd {row[m + EFFECT + '_sd']:.2f})" if row["n"] > 1 else "")
            for name, m in (("ICL", icl), ("IWL", iwl))
        ]
        verdict = "beats control" if row["beats_control"] else "falls short of its control"
        lines.append(
            f"  {where}: {'; '.join(parts)} — {verdict} ({row['seeds_beating']}/{row['n']} seeds)"
        )
    return lines


def _rules(pairs: pl.DataFrame) -> str:
    """The contrast of each kind of forgetting in the study, as `study.controls` states it."""
    kinds = pairs[KIND].unique(maintain_order=True).to_list() if KIND in pairs.columns else []
    return "; ".join(f"{kind}: {CONTRASTS[kind]}" for kind in kinds if kind in CONTRASTS)


__all__ = ["EffectsReport", "NoControls", "effects_report"]
