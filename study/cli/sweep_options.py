"""Options shared by the commands that run a sweep's trials (`dpl sweep run`, `dpl sweep
worker`) and by those that open its storage."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

import click

from study.cli.options import P, R, store_options
from study.sweep.defaults import GRACE_BEATS, HEARTBEAT_S, MAX_FAILURES

storage_option = click.option(
    "--storage",
    envvar="DPL_OPTUNA_STORAGE",
    help="Optuna storage URL (postgresql://…, sqlite:///…, redis://…) or journal file "
    "[default: mlruns/optuna.journal; env DPL_OPTUNA_STORAGE].",
)


if TYPE_CHECKING:
    _PackParam: TypeAlias = click.ParamType[int | str]
else:  # click 8.1's ParamType is not generic, so it is not subscripted at run time
    _PackParam = click.ParamType


class PackType(_PackParam):
    """A positive number of trials, or `auto`."""

    name = "K|auto"

    # `value`: Any, as click types it (a string from the command line, or the default)
    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | str:
        if value == "auto":
            return "auto"
        if isinstance(value, int):
            return value
        try:
            k = int(value)
        except ValueError:
            k = 0
        if k < 1:
            self.fail(f"{value!r}: expected a positive number of trials or 'auto'", param, ctx)
        return k


class WorkerOptions(TypedDict):
    """What `worker_options` adds to a command's keyword arguments."""

    pack: int | str
    heartbeat_s: int
    max_failures: int
    no_figures: bool
    storage: str | None
    device: str
    tracking_uri: str | None


def worker_options(fn: Callable[P, R]) -> Callable[P, R]:
    """--pack, --heartbeat, --max-failures, --no-figures, --storage, --device, --tracking-uri."""

    @click.option(
        "--pack",
        type=PackType(),
        default="auto",
        show_default=True,
        help="Trials a worker trains together (same shapes), each still its own trial and run; "
        "auto: 1 on the CPU (packing does not pay there), up to 64 on a GPU.",
    )
    @click.option(
        "--heartbeat",
        "heartbeat_s",
        type=click.IntRange(min=1),
        default=HEARTBEAT_S,
        show_default=True,
        help=f"Seconds between a worker's beats; a trial of a worker silent for {GRACE_BEATS} beats "
        "is lost.",
    )
    @click.option(
        "--max-failures",
        type=click.IntRange(min=0),
        default=MAX_FAILURES,
        show_default=True,
        help="A worker stops (exit 1) after this many failed trials in a row; 0: never.",
    )
    @click.option(
        "--no-figures",
        is_flag=True,
        help="Skip each trial's learning-curve figure (its curves are logged all the same).",
    )
    @storage_option
    @store_options
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)

    return wrapper
