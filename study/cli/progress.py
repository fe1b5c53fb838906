"""Progress display for one training run: a rich bar with the latest metrics (off when not a tty)."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from typing_extensions import Self

from study.metric_names import ACC_VAL, ICL_STRUCTURAL, IWL_HEAD

SHOWN = (ICL_STRUCTURAL, IWL_HEAD, ACC_VAL)


class BarProgress:
    """A rich progress bar held for the length of a `with` block (subclasses make `self.bar`)."""

    bar: Progress

    def __enter__(self) -> Self:
        self.bar.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.__exit__(exc_type, exc, tb)


class TrainProgress(BarProgress):
    def __init__(self, total_steps: int, enabled: bool):
        self.enabled = enabled
        self.bar = Progress(
            TextColumn("train"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[latest]}"),
            disable=not enabled,
            transient=False,
        )
        self.task = self.bar.add_task("train", total=total_steps, latest="")

    def on_step(self, step: int) -> None:
        if self.enabled:
            self.bar.update(self.task, completed=step)

    def on_eval(self, step: int, metrics: dict[str, float]) -> None:
        if self.enabled:
            latest = "  ".join(f"{k} {metrics[k]:.2f}" for k in SHOWN if k in metrics)
            self.bar.update(self.task, latest=latest)
