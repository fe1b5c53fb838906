"""How a sweep looks on the terminal: a progress bar over trials and the closing tables."""

from __future__ import annotations

import sys

import optuna
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from study.cli.progress import BarProgress
from study.metric_names import DUAL_SCORE, ICL_STRUCTURAL, IWL_HEAD
from study.sweep.spec import SweepSpec
from study.sweep.status import StudyStatus, status, trial_rows

SHOWN_METRICS = (ICL_STRUCTURAL, IWL_HEAD, DUAL_SCORE)
MAX_ROWS = 40
SYMBOLS = {
    "complete": "✓",
    "pruned": "✂",
    "failed": "✗",
    "running": "▶",
    "waiting": "…",
    "released": "↺",
}


def counts_text(st: StudyStatus) -> str:
    states = "  ".join(f"{SYMBOLS[k]}{v}" for k, v in st.states.items())
    regimes = ", ".join(f"{k} {v}" for k, v in st.regimes.items()) or "-"
    best = ""
    if st.best and len(st.best) == 1 and isinstance(st.best[0]["values"], dict):
        best = "  best " + ", ".join(f"{v:.3g}" for v in st.best[0]["values"].values())
    return f"{states}  regimes: {regimes}{best}"


class SweepProgress(BarProgress):
    """A bar over the study's budget with state counts, best value and regimes seen. Off when
    stderr is not a terminal; then each finished trial is one line on stderr instead."""

    def __init__(self, spec: SweepSpec, enabled: bool):
        self.spec, self.enabled = spec, enabled
        self.console = Console(stderr=True)
        self.bar = Progress(
            TextColumn(f"sweep {spec.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[counts]}"),
            console=self.console,
            disable=not enabled,
        )
        self.task = self.bar.add_task("sweep", total=spec.budget, counts="")
        self.reported: set[int] = set()

    def update(self, study: optuna.Study) -> None:
        st = status(study, self.spec)
        done = sum(st.states.get(k, 0) for k in ("complete", "pruned", "failed"))
        if self.enabled:
            self.bar.update(self.task, completed=done, counts=counts_text(st))
            return
        for row in trial_rows(study, self.spec):
            if row["state"] in ("running", "released") or row["number"] in self.reported:
                continue
            self.reported.add(row["number"])
            what = row["regime"] or row["failure_reason"] or ""
            print(
                f"trial {row['number']}: {row['state']} {what} ({row['duration_s'] or 0:.1f} s)",
                file=sys.stderr,
            )


def trials_table(study: optuna.Study, spec: SweepSpec | None) -> Table:
    """One row per trial (the first MAX_ROWS): params, state, regime, headline metrics, run id."""
    rows = trial_rows(study, spec)
    axes = (
        list(spec.space)
        if spec is not None
        else sorted(
            {
                k
                for r in rows
                for k in r
                if "." in k and not k.startswith("objective.")  # metric names have no dot
            }
        )
    )
    table = Table(title=f"study {study.study_name}: {len(rows)} trials", title_justify="left")
    for column in (
        "#",
        *(a.rsplit(".", 1)[-1] for a in axes),
        "rep",
        "state",
        "regime",
        *SHOWN_METRICS,
        "run",
    ):
        table.add_column(
            column, justify="left" if column in ("state", "regime", "run") else "right"
        )
    for row in rows[:MAX_ROWS]:
        metrics = [_fmt(row.get(m)) for m in SHOWN_METRICS]
        run = (row["mlflow_run_id"] or "")[:8]
        # a control has no forgetting axes: say so where its point's schedule would be
        cells = [_fmt(row.get(a)) if a in row or not row["control"] else "control" for a in axes]
        table.add_row(
            str(row["number"]),
            *cells,
            _fmt(row["replicate"]),
            row["state"],
            row["regime"] or "",
            *metrics,
            run,
        )
    failed = [r for r in rows if r["failure_reason"]]
    notes = [f"#{r['number']} {r['state']}: {r['failure_reason'][:120]}" for r in failed[:10]]
    if len(rows) > MAX_ROWS:
        notes.append(f"… {len(rows) - MAX_ROWS} more trials; `dpl sweep export` writes them all")
    table.caption = "\n".join(notes) or None
    table.caption_justify = "left"
    return table


def status_table(st: StudyStatus) -> Table:
    table = Table(title=f"study {st.name}", show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("")
    progress = (
        f"{st.budget - st.budget_left}/{st.budget} started or done"
        if st.budget is not None and st.budget_left is not None  # both None without a spec
        else "?"
    )
    table.add_row("spec", f"{st.spec_file or '-'} (sampler {st.sampler}, objective {st.objective})")
    table.add_row(
        "budget", f"{progress}; {st.budget_left} left" + ("; finished" if st.finished else "")
    )
    table.add_row("trials", ", ".join(f"{k} {v}" for k, v in st.states.items()) or "none")
    table.add_row("regimes", ", ".join(f"{k} {v}" for k, v in st.regimes.items()) or "-")
    if st.controls:
        table.add_row("controls", ", ".join(f"{k} {v}" for k, v in st.controls.items()))
    for best in st.best[:5]:
        values = best["values"]
        shown = (
            ", ".join(f"{k} {v:.4g}" for k, v in values.items())
            if isinstance(values, dict)
            else str(values)
        )
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in best["params"].items())
        table.add_row(
            f"best #{best['number']}",
            f"{shown}  [{params}]  regime {best['regime']}  run {best['mlflow_run_id']}",
        )
    return table


def print_tables(*tables: Table) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)  # a log file is not 80 columns
    for table in tables:
        console.print(table)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
