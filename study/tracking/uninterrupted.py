"""Writes to the tracking store that an interrupt cannot cut in half.

A Ctrl-C or SIGTERM that lands inside an MLflow write raises in the middle of SQLAlchemy's
unit of work: with SQLite, the half-done transaction keeps the database locked while the
exception's traceback holds its connection, so the run cannot even be marked KILLED
("database is locked"), and the error that says so replaces the interrupt. Here SIGINT and
SIGTERM are held for the few milliseconds a write takes and delivered, to the handler that was
in place, as soon as it is done. Python has no such guard built in (`signal.pthread_sigmask`
delays delivery to the C level but Python still runs its handler at the next bytecode).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])
HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold SIGINT / SIGTERM for the block (main thread only; elsewhere signals never land)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, FrameType | None]] = []
    # by number, as a handler is given its signal
    before = {
        int(sig): signal.signal(sig, lambda s, frame: caught.append((s, frame))) for sig in HELD
    }
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for sig, frame in caught[:1]:  # one interrupt is enough to act on
            handler = before[sig]
            if callable(handler):
                handler(sig, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(sig)


def uninterrupted(fn: F) -> F:
    """`fn` runs with interrupts held (see the module doc)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with held_interrupts():
            return fn(*args, **kwargs)

    return cast(F, wrapper)  # `wraps` types its result as its own wrapper, not as `fn`'s type
