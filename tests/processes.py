"""Signalling a real process at a state the test needs, whatever the machine's load.

A test that polls for a state and then signals races the process: the trial it saw running may
end between the look and the signal, and a count it waited for ("2 COMPLETE") may be passed
over. `signal_when` closes the gap by freezing the process (SIGSTOP) before the deciding look:
it signals only a process that is, at that moment, in the state asked for, and only then lets
it go on (SIGCONT), so the signal is the first thing the process meets.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.2


def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `condition` until it returns something truthy (that value); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _look(condition)
        if found:
            return found
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def signal_when(
    proc: subprocess.Popen,
    ready: Callable[[], T | None],
    sig: int,
    timeout: float,
    what: str,
) -> T:
    """Send `sig` to `proc` once `ready()` holds while `proc` is frozen; returns what `ready`
    found then. `ready` reads the stores only (a look that fails, say a locked database, counts
    as not ready). Fails if `proc` ends first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {what}")
        if _look(ready):
            with _frozen(proc):
                found = _look(ready)
                if found:
                    os.kill(proc.pid, sig)  # delivered before it runs a single step more
                    return found
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def _frozen(proc: subprocess.Popen):
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)


def as_foreground() -> None:
    """`preexec_fn` for a child that a test interrupts: SIGINT at its default, as a terminal's
    foreground job has it, so that the child's Python turns it into KeyboardInterrupt. A child
    otherwise inherits this process's C-level disposition. Started from a background shell, a
    process's Python handler for SIGINT is SIG_IGN, and its first guarded write
    (`study.tracking.uninterrupted`) makes the C level ignore it too; a `dpl sweep run` started
    after that holds SIGINT only inside its guarded writes, hands it back to "ignored", and
    finishes its grid with exit 0, as the pack-3 interrupt test did once in CI. A script
    interrupting it as that test does, from a background shell, lost the SIGINT in 18 of 18
    runs after its first, and in none of 4 with this."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _look(condition: Callable[[], T | None]) -> T | None:
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import OperationalError

    try:
        return condition()
    # a store mid-write (a locked database, half a journal line) or not made yet: not ready
    except (OSError, ValueError, KeyError, OperationalError, MlflowException):
        return None
