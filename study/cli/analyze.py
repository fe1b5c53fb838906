"""`dpl analyze phase|effects|curves|table`: a finished study → phase diagram, forgetting-effect
map, learning curves, table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from study.cli.analyze_effects import effects
from study.cli.common import UsageExit, echo_json
from study.cli.options import slice_option
from study.cli.study_options import parse_thresholds, study_options

if TYPE_CHECKING:
    import polars as pl

    from study.tracking.store import Store


def _load(
    study: str,
    tracking_uri: str | None,
    thresholds: str | None,
    protocol: str | None,
    *,
    controls: bool = False,
) -> tuple[Store, pl.DataFrame]:
    from analysis.classify import classify
    from analysis.runs import StudyNotFound, load_trials
    from study.tracking.store import Store

    store = Store.resolve(tracking_uri)
    limits = parse_thresholds(thresholds)
    try:
        trials = load_trials(store, study, controls=controls)
        return store, classify(trials, limits, protocol)
    except StudyNotFound as err:
        raise UsageExit(str(err)) from None
    except KeyError as err:
        raise UsageExit(str(err).strip("'\"")) from None


@click.group()
def analyze() -> None:
    """Analyse a finished study: phase diagrams, learning curves, the trials table."""


@analyze.command("phase")
@study_options
@click.option(
    "--x",
    "x",
    required=True,
    metavar="KEY",
    help="Swept param on the x axis, e.g. task.zipf_exponent.",
)
@click.option(
    "--y",
    "y",
    required=True,
    metavar="KEY",
    help="Swept param on the y axis, or `step`: training time (each trial at every evaluation).",
)
@click.option(
    "--at", "at", multiple=True, metavar="KEY=VALUE", help="Fix another swept param (repeatable)."
)
@click.option(
    "--at-step",
    "at_step",
    type=click.IntRange(min=0),
    metavar="STEP",
    help="Classify each trial at its last evaluation at or before STEP, not at its end.",
)
@slice_option
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output folder [default: figures/STUDY/X__Y]."
)
@click.option(
    "--no-log", is_flag=True, help="Do not log the files to the study's MLflow parent run."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def phase(
    study: str,
    tracking_uri: str | None,
    protocol: str | None,
    thresholds: str | None,
    x: str,
    y: str,
    at: tuple[str, ...],
    at_step: int | None,
    slice_at: str | None,
    out: str | None,
    no_log: bool,
    as_json: bool,
) -> None:
    """Phase diagram of STUDY over two swept params: regime map with boundaries and uncertainty,
    continuous maps, boundary points and grid probabilities (PNG, SVG, CSV, Parquet). With
    `--y step` the map is over x × training step, and the steps where the most likely regime
    changes are printed (`transitions`)."""
    from analysis.axes import PhaseError, parse_at, parse_slice
    from analysis.report import phase_report
    from analysis.runs import StudyNotFound
    from analysis.time_axis import STEP
    from study.tracking.store import Store

    if x == STEP:
        raise UsageExit(f"--x {x}: training time goes on the y axis (--y {STEP})")
    if y == STEP and at_step is not None:
        raise UsageExit(
            f"--at-step {at_step} with --y {STEP}: the time axis classifies every trial at every "
            "step already; use one or the other"
        )
    store = Store.resolve(tracking_uri)
    try:
        report = phase_report(
            store,
            study,
            x,
            y,
            at=parse_at(at),
            thresholds=parse_thresholds(thresholds),
            protocol=protocol,
            out=out,
            log_artifacts=not no_log,
            step=at_step,
            slices=parse_slice(slice_at) if slice_at else None,
        )
    except (PhaseError, StudyNotFound) as err:
        raise UsageExit(str(err)) from None
    except KeyError as err:
        raise UsageExit(str(err).strip("'\"")) from None
    if as_json:
        fit = report.fit
        echo_json(
            {
                "study": study,
                "out": str(report.out),
                "files": [str(p) for p in report.files],
                "regimes": report.counts,
                "note": report.note or None,
                "parent_run_id": report.logged_to,
                "crossings": fit.crossings().rows(named=True) if fit is not None else [],
                "at_step": at_step,
                "transitions": (
                    report.transitions.rows(named=True) if report.transitions is not None else None
                ),
            }
        )
    else:
        click.echo(report.text)


@analyze.command("curves")
@study_options
@click.option(
    "--by", metavar="KEY", help="One line per value of this param [default: the first swept one]."
)
@click.option(
    "--controls",
    is_flag=True,
    help="Also draw the study's control runs (no forgetting, embeddings at the reset std), "
    "each as its own line: `control` when --by is forgetting.kind, else `<value> · control`.",
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output folder [default: figures/STUDY/curves]."
)
def curves(
    study: str,
    tracking_uri: str | None,
    protocol: str | None,
    thresholds: str | None,
    by: str | None,
    controls: bool,
    out: str | None,
) -> None:
    """Learning curves by setting (structural ICL, head and tail ICL/IWL against step) and
    accuracy against the training frequency of the token, as PNG and SVG."""
    import polars as pl

    from analysis.axes import line_param, swept_params
    from analysis.classify import structural_column
    from analysis.figures import accuracy_by_frequency, learning_curves
    from analysis.figures.save import save_figure
    from analysis.runs import is_control, label_controls, load_curves
    from study.metric_names import DECILE_PREFIX, ICL_STRUCTURAL

    store, trials = _load(study, tracking_uri, thresholds, protocol, controls=controls)
    runs = trials.filter(~is_control())
    by = by or line_param(runs, trials)
    if by is None or by not in trials.columns:
        swept = ", ".join(swept_params(runs)) or "none"
        what = f"--by {by}: not a param of these trials" if by else "--by: nothing varies"
        raise UsageExit(f"{what} (swept: {swept}); pass --by KEY")
    if controls:
        trials = label_controls(trials, by)
    data = load_curves(store, study)
    if protocol is not None:  # plot the chosen protocol's structural ICL as the headline
        data = data.filter(pl.col("metric") != ICL_STRUCTURAL).with_columns(
            metric=pl.when(pl.col("metric") == structural_column(protocol))
            .then(pl.lit(ICL_STRUCTURAL))
            .otherwise(pl.col("metric"))
        )
    out_dir = Path(out) if out else Path("figures") / study / "curves"
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    figures = {"learning_curves": learning_curves(data, trials, by)}
    if data.filter(pl.col("metric").str.starts_with(DECILE_PREFIX)).height:
        figures["accuracy_by_frequency"] = accuracy_by_frequency(data, trials, by)
    for name, fig in figures.items():
        written += save_figure(fig, out_dir / name)
    click.echo(f"{trials.height} trials, {data.height} points, one line per {by}")
    for path in written:
        click.echo(f"wrote {path}")


@analyze.command("table")
@study_options
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write every column to a .csv or .parquet file."
)
@click.option("--all-columns", is_flag=True, help="Print every column, not the summary ones.")
def table(
    study: str,
    tracking_uri: str | None,
    protocol: str | None,
    thresholds: str | None,
    out: str | None,
    all_columns: bool,
) -> None:
    """The trials of STUDY, one row each: params, summary metrics, regime (re-classified with
    --protocol/--thresholds), state, run id."""
    import polars as pl

    from analysis import tables
    from analysis.axes import swept_params
    from analysis.classify import structural_column, transience_column
    from study.metric_names import ICL_HEAD, ICL_TAIL, IWL_HEAD

    _, trials = _load(study, tracking_uri, thresholds, protocol)
    if out:
        path = Path(out)
        flat = tables.flat(trials)
        if path.suffix == ".parquet":
            flat.write_parquet(path)
        elif path.suffix == ".csv":
            flat.write_csv(path)
        else:
            raise UsageExit(f"--out {out}: expected a .csv or .parquet file")
        click.echo(f"wrote {trials.height} trials × {trials.width} columns to {path}")
        return
    metrics = [
        structural_column(protocol),
        IWL_HEAD,
        transience_column(protocol),
        ICL_HEAD,
        ICL_TAIL,
    ]
    shown = (
        trials
        if all_columns
        else trials.select(
            "trial",
            "state",
            pl.col("regime").cast(pl.String),
            "transient",
            *swept_params(trials),
            *[pl.col(m).round(3) for m in metrics if m in trials.columns],
        )
    )
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=1000,
        tbl_hide_dataframe_shape=True,
        fmt_str_lengths=40,
    ):
        click.echo(shown)


analyze.add_command(effects)
COMMANDS = [analyze]
