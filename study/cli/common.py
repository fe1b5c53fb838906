"""Shared CLI plumbing: exit codes, error reporting, JSON output, progress display."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    import optuna

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class UsageExit(click.ClickException):
    """A usage or config error (`study.errors.UsageError`) on its way out: printed without a
    traceback, exit code 2."""

    exit_code = EXIT_USAGE


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """Turn the package's usage errors (ConfigError, SpecError, ...) into exit code 2."""
    from study.errors import UsageError

    try:
        yield
    except UsageError as err:
        raise UsageExit(str(err)) from None


@contextlib.contextmanager
def runtime_failures() -> Iterator[None]:
    """A `RuntimeFailure` (a server that does not answer, a worker that gave up): its message
    on stderr, exit 1, no traceback."""
    from study.errors import RuntimeFailure

    try:
        yield
    except RuntimeFailure as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(EXIT_FAILURE) from None


def install_sigterm_as_interrupt() -> None:
    """SIGTERM raises KeyboardInterrupt so that runs end KILLED and the CLI exits 143."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, _raise)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt (exit 143 instead of 130)."""


def exit_interrupted(err: KeyboardInterrupt) -> NoReturn:
    click.echo("interrupted", err=True)
    sys.exit(EXIT_SIGTERM if isinstance(err, Terminated) else EXIT_SIGINT)


def report_failures(study: optuna.Study, since: datetime, pid: int | None = None) -> None:
    """After a sweep's summary: why this run's failed trials failed, on stderr; exit 1 when
    every trial it ran failed (`study.sweep.outcomes`)."""
    from study.sweep.outcomes import outcomes_since

    outcomes = outcomes_since(study, since, pid)
    if outcomes.n_failed:
        click.echo(outcomes.text(), err=True)
    if outcomes.all_failed:
        sys.exit(EXIT_FAILURE)


JSON_SIGNIFICANT = 6  # digits of a float in --json: float32 noise (0.6700000166893005) goes


def echo_json(obj: object) -> None:
    """`obj` as indented JSON for machines; every float to JSON_SIGNIFICANT digits (values from
    the trial are rounded by what they measure before they get here, `tracking.logger.rounded`)."""
    click.echo(json.dumps(_short_floats(obj), indent=2, sort_keys=True, default=str))


def _short_floats(obj: object) -> object:
    if isinstance(obj, float):
        return float(f"{obj:.{JSON_SIGNIFICANT}g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: _short_floats(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_short_floats(v) for v in obj]
    return obj


def show_progress() -> bool:
    """Progress bars only on a terminal."""
    return sys.stderr.isatty()
