"""`dpl analyze effects`: the forgetting-effect map of a sweep run with controls."""

from __future__ import annotations

import click

from study.cli.common import UsageExit, echo_json
from study.cli.options import slice_option
from study.cli.study_options import study_options


@click.command("effects")
@study_options
@click.option("--x", "x", metavar="KEY", help="Param on the x axis [default: the first swept one].")
@click.option("--y", "y", metavar="KEY", help="Param on the y axis [default: the schedule].")
@click.option(
    "--at", "at", multiple=True, metavar="KEY=VALUE", help="Fix another swept param (repeatable)."
)
@slice_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output folder [default: figures/STUDY/effects].",
)
@click.option(
    "--no-log", is_flag=True, help="Do not log the files to the study's MLflow parent run."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def effects(
    study: str,
    tracking_uri: str | None,
    protocol: str | None,
    thresholds: str | None,
    x: str | None,
    y: str | None,
    at: tuple[str, ...],
    slice_at: str | None,
    out: str | None,
    no_log: bool,
    as_json: bool,
) -> None:
    """The effect of forgetting beyond the embedding scale: each forgetting point's final
    structural ICL and head IWL minus its control's (no forgetting, embeddings at the reset std),
    as a map, a table and files. Needs a sweep run with controls (`controls: true` in the spec,
    or `dpl sweep run --with-controls`)."""
    from analysis.axes import PhaseError, parse_at, parse_slice
    from analysis.effects_report import NoControls, effects_report
    from analysis.runs import StudyNotFound
    from study.tracking.store import Store

    del thresholds  # the contrast reads metrics, not regime calls
    try:
        report = effects_report(
            Store.resolve(tracking_uri),
            study,
            x,
            y,
            at=parse_at(at),
            slices=parse_slice(slice_at) if slice_at else None,
            protocol=protocol,
            out=out,
            log_artifacts=not no_log,
        )
    except (PhaseError, StudyNotFound, NoControls) as err:
        raise UsageExit(str(err)) from None
    if as_json:
        echo_json(
            {
                "study": study,
                "out": str(report.out),
                "files": [str(p) for p in report.files],
                "points": report.points.rows(named=True),
                "beating": report.beating,
                "parent_run_id": report.logged_to,
            }
        )
    else:
        click.echo(report.text)
