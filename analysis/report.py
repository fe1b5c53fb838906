"""A study's phase diagram as files: what `dpl analyze phase` and the end of `dpl sweep run` leave.

    report = phase_report(store, "alpha_x_N", "task.zipf_exponent", "forgetting.forget_until")
    print(report.text)   # regime counts, where the boundaries meet the diagram's edges, files

Writes into `out` (default `figures/<study>/<x>__<y>/`): `phase.png|svg` (regime map),
`maps.png|svg` (continuous maps), `boundaries.csv`, `grid.parquet|csv` (per-grid-point
probabilities, or per-cell regimes), `maps.parquet`, `trials.csv` (the classified trials),
`summary.txt`; then logs the folder as artifacts of the study's MLflow parent run.
Over training time (`y` = `analysis.time_axis.STEP`) also `evaluations.csv` (every classified
evaluation) and `transitions.csv` (where the most likely regime changes, `analysis.transitions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analysis.axes import PhaseError, select_trials
from analysis.captions import phase_caption
from analysis.cells import fit_cells
from analysis.classify import classify, regime_counts
from analysis.figures import (
    MAX_CELLS,
    cell_diagram,
    cell_maps,
    continuous_maps,
    phase_diagram,
    regime_scatter,
)
from analysis.figures.labels import format_value, symbol
from analysis.figures.save import save_figure
from analysis.maps import fit_maps
from analysis.phase import (
    MIN_TRIALS,
    ONE_REGIME,
    PhaseFit,
    fit_phase,
)
from analysis.report_lines import fit_lines, summary_lines
from analysis.runs import load_study
from analysis.slices import default_slices, sliced_map
from analysis.spec_bounds import Bounds, study_bounds
from analysis.tables import write_table
from analysis.time_axis import STEP, at_step, classified_when, fit_points, study_evaluations
from analysis.transitions import time_lines, transitions
from study.config import Thresholds
from study.tracking import schema
from study.tracking.store import Store


@dataclass
class PhaseReport:
    study: str
    out: Path
    files: list[Path]
    counts: dict[str, int]
    fit: PhaseFit | None
    note: str = ""
    logged_to: str | None = None  # the parent run id the files were logged to
    lines: list[str] = field(default_factory=list)
    transitions: pl.DataFrame | None = None  # over training time: where the regime changes

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def default_out(study: str, x: str, y: str, step: int | None = None) -> Path:
    name = f"{x.rsplit('.', 1)[-1]}__{y.rsplit('.', 1)[-1]}"
    return Path("figures") / study / (name if step is None else f"{name}__at_step_{step}")


def phase_report(
    store: Store,
    study: str,
    x: str,
    y: str,
    *,
    at: Mapping[str, object] | None = None,
    thresholds: Thresholds | None = None,
    protocol: str | None = None,
    log_scales: Mapping[str, bool] | None = None,
    out: str | Path | None = None,
    log_artifacts: bool = True,
    n_draws: int = 400,
    step: int | None = None,
    slices: tuple[str, list[float]] | None = None,
) -> PhaseReport:
    """Classify, fit, draw, write and log the phase diagram of `study` over `x` × `y`.

    Numeric axes with at least `MIN_TRIALS` finished trials get the fitted map (`analysis.phase`);
    a categorical axis or a smaller grid gets one cell per grid point (`analysis.cells`).
    `log_scales` {param: log} overrides the axes the sweep recorded on its parent run; a param in
    neither gets its scale guessed from the values. Raises PhaseError for axes the study cannot
    support; a study in a single regime still gets its trials plot and continuous maps, with a
    note instead of a boundary. `y` = STEP maps x × training step (log); `step` classifies each
    trial at its last evaluation at or before that step. A study sampled over a third continuous
    axis also gets the map fitted over all three, drawn at `slices` (param, values; by default
    that axis' low, middle and high bound).
    """
    loaded = load_study(store, study)
    timed = y == STEP or step is not None
    evals = study_evaluations(store, study, loaded.trials, protocol) if timed else None
    ended = loaded.trials if step is None or evals is None else at_step(evals, step)
    trials = classify(ended, thresholds, protocol)
    classified = classify(evals, thresholds, protocol) if y == STEP and evals is not None else None
    points = fit_points(classified) if classified is not None else trials
    scales = {
        STEP: True,
        **loaded.log_scales(),
        **{k: v for k, v in (log_scales or {}).items() if v is not None},
    }
    out_dir = Path(out) if out is not None else default_out(study, x, y, step)
    out_dir.mkdir(parents=True, exist_ok=True)
    finished = select_trials(points, at)
    numeric = all(k in points.columns and points.schema[k].is_numeric() for k in (x, y))
    caption = phase_caption(study, finished, x, y, thresholds, protocol, classified_when(y, step))
    if numeric and finished.height >= MIN_TRIALS:
        bounds = study_bounds(store, loaded.parent_run_id)
        report = _fitted(points, x, y, at, protocol, scales, out_dir, n_draws, caption, bounds)
        third = slices or default_slices(points, (x, y, *(at or {})), bounds, scales, MAX_CELLS)
        if third is not None and y != STEP and report.fit is not None:
            report.lines += _sliced(points, (x, y), third, at, scales, bounds, n_draws, report)
    else:  # a categorical axis, or a grid too small to fit: one cell per grid point
        report = _cells(points, x, y, at, out_dir, caption)
    report.study = study
    report.files.append(write_table(trials, out_dir / "trials.csv"))
    if classified is not None:  # over training time
        report.transitions = transitions(report.fit) if report.fit is not None else None
        report.files.append(write_table(classified, out_dir / "evaluations.csv"))
        if report.transitions is not None:
            report.files.append(write_table(report.transitions, out_dir / "transitions.csv"))
        report.lines += time_lines(report.fit, select_trials(classified, at).height)
    report.counts = regime_counts(select_trials(trials, at))
    report.lines = (
        summary_lines(study, report.counts, trials, x, y, protocol, thresholds, at, step)
        + report.lines
    )
    (out_dir / "summary.txt").write_text(report.text + "\n")
    report.files.append(out_dir / "summary.txt")
    report.lines.append(f"files: {report.out}/ ({', '.join(p.name for p in report.files)})")
    if log_artifacts:
        report.logged_to = _log(store, loaded.parent_run_id, out_dir)
        report.lines.append(
            f"logged to MLflow parent run {report.logged_to}"
            if report.logged_to
            else "no MLflow parent run: files not logged"
        )
    return report


def _fitted(
    trials: pl.DataFrame,
    x: str,
    y: str,
    at: Mapping[str, object] | None,
    protocol: str | None,
    scales: Mapping[str, bool],
    out_dir: Path,
    n_draws: int,
    caption: str,
    bounds: Bounds | None = None,
) -> PhaseReport:
    """The smooth regime map and continuous maps (numeric axes, enough trials)."""
    log_x, log_y = scales.get(x), scales.get(y)
    files: list[Path] = []
    lines: list[str] = []
    note = ""
    try:
        fit: PhaseFit | None = fit_phase(
            trials, x, y, at=at, log_x=log_x, log_y=log_y, n_draws=n_draws, bounds=bounds
        )
    except PhaseError as err:
        if err.key != ONE_REGIME:
            raise
        fit, note = None, str(err)
    maps = fit_maps(trials, x, y, protocol=protocol, at=at, log_x=log_x, log_y=log_y, bounds=bounds)
    if fit is not None:
        files += save_figure(phase_diagram(fit), out_dir / "phase", caption=caption)
        files.append(write_table(fit.boundaries(), out_dir / "boundaries.csv"))
        grid = fit.grid()
        files += [
            write_table(grid, out_dir / "grid.parquet"),
            write_table(grid, out_dir / "grid.csv"),
        ]
        lines += fit_lines(fit, x, y)
    else:
        points = select_trials(trials, at).select(x, y, pl.col("regime").cast(pl.String))
        scatter = regime_scatter(points, x, y, log_x=bool(log_x), log_y=bool(log_y), note=note)
        files += save_figure(scatter, out_dir / "phase", caption=caption)
        lines.append(f"no boundary: {note}")
    if maps:
        files += save_figure(continuous_maps(maps, fit), out_dir / "maps", caption=caption)
        files.append(
            write_table(pl.concat([m.frame() for m in maps.values()]), out_dir / "maps.parquet")
        )
    return PhaseReport("", out_dir, files, {}, fit, note, lines=lines)


def _sliced(
    points: pl.DataFrame,
    axes: tuple[str, str],
    third: tuple[str, list[float]],
    at: Mapping[str, object] | None,
    scales: Mapping[str, bool],
    bounds: Bounds,
    n_draws: int,
    report: PhaseReport,
) -> list[str]:
    """The regime map fitted over the two axes and a third, drawn at `third`'s values."""
    z = third[0]
    files, fits = sliced_map(
        points,
        axes,
        third,
        report.out,
        "phase_slices",
        what="Regimes",
        log_scales=dict(scales),
        at=at,
        bounds=bounds,
        drawn={"n_draws": n_draws},
    )
    report.files += files
    return [
        f"in slices of {symbol(z)} (one 3-axis fit): "
        + "; ".join(
            f"{format_value(v)}: "
            + ", ".join(f"{r} {share:.0%}" for r, share in f.shares().items())
            for v, f in fits.items()
        )
    ]


def _cells(
    trials: pl.DataFrame,
    x: str,
    y: str,
    at: Mapping[str, object] | None,
    out_dir: Path,
    caption: str,
) -> PhaseReport:
    """One cell per grid point (categorical axes, or too few trials for a smooth fit)."""
    cells = fit_cells(trials, x, y, at=at)
    files = save_figure(cell_diagram(cells), out_dir / "phase", caption=caption)
    files += save_figure(cell_maps(cells), out_dir / "maps", caption=caption)
    boundaries = cells.boundaries()
    files += [
        write_table(boundaries, out_dir / "boundaries.csv"),
        write_table(cells.frame, out_dir / "grid.parquet"),
    ]
    files.append(write_table(cells.frame, out_dir / "grid.csv"))
    lines = [
        f"cells: one per grid point ({len(cells.x_values)} × {len(cells.y_values)}); regime of each, by {symbol(y)}:"
    ]
    regime = {
        (r[x], r[y]): (r["regime"], r["n"], r["share"]) for r in cells.frame.iter_rows(named=True)
    }
    for yv in cells.y_values:
        row = []
        for xv in cells.x_values:
            found = regime.get((xv, yv))
            text = (
                "-"
                if found is None
                else found[0]
                + (f" ({round(found[2] * found[1])}/{found[1]})" if found[1] > 1 else "")
            )
            row.append(f"{symbol(x)}={format_value(xv)}: {text}")
        lines.append(f"  {symbol(y)}={format_value(yv)}: " + "; ".join(row))
    for pair, xa, ya, xb, yb in boundaries.iter_rows():
        a, b = pair.split("|")
        where = (
            f"{symbol(x)} = {format_value(xa)} → {format_value(xb)} at {symbol(y)} = {format_value(ya)}"
            if xa != xb
            else f"{symbol(y)} = {format_value(ya)} → {format_value(yb)} at {symbol(x)} = {format_value(xa)}"
        )
        lines.append(f"boundary {a} | {b}: between {where}")
    return PhaseReport("", out_dir, files, {}, None, lines=lines)


def _log(store: Store, parent: str | None, out_dir: Path) -> str | None:
    if parent is None:
        return None
    store.client().log_artifacts(
        parent, str(out_dir), artifact_path=f"{schema.ANALYSIS_DIR}/{out_dir.name}"
    )
    return parent
