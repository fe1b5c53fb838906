"""Shared CLI plumbing: exit codes, error reporting, JSON output, progress display."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from typing import Any

import click

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

    def _raise(signum: int, frame: Any) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, _raise)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt (exit 143 instead of 130)."""


def exit_interrupted(err: KeyboardInterrupt) -> None:
    click.echo("interrupted", err=True)
    sys.exit(EXIT_SIGTERM if isinstance(err, Terminated) else EXIT_SIGINT)


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def show_progress() -> bool:
    """Progress bars only on a terminal."""
    return sys.stderr.isatty()
