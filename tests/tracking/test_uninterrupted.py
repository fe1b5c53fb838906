"""Interrupts wait for a tracking write to finish, then arrive as they would have."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from study.tracking.uninterrupted import held_interrupts, uninterrupted

pytestmark = pytest.mark.processes  # signals, kills or races processes (scripts/stress_timing.py)


def test_sigint_inside_a_write_arrives_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("write finished")  # still runs: the interrupt is held
    assert done == ["write finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_sigterm_goes_to_the_handler_that_was_installed():
    seen = []
    before = signal.signal(signal.SIGTERM, lambda sig, frame: seen.append(sig))
    try:

        @uninterrupted
        def write():
            os.kill(os.getpid(), signal.SIGTERM)
            return len(seen)  # nothing delivered yet

        assert write() == 0
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, before)


def test_no_interrupt_no_effect_and_other_threads_pass_through():
    assert uninterrupted(lambda: 42)() == 42
    out = []
    worker = threading.Thread(target=lambda: out.append(uninterrupted(lambda: 7)()))
    worker.start()
    worker.join()
    assert out == [7]


def test_a_run_made_while_an_interrupt_was_held_ends_killed(store, monkeypatch):
    """Ctrl-C during `create_run`: the run exists, but the caller never got it to end, so
    `start_run` ends it KILLED before the interrupt goes on (a pack's SIGINT had left one
    RUNNING)."""
    from mlflow.tracking import MlflowClient

    from study.presets import build_config
    from study.tracking.trial_run import start_run

    made = []
    create = MlflowClient.create_run

    def create_then_interrupt(self, *args, **kwargs):
        run = create(self, *args, **kwargs)
        made.append(run.info.run_id)
        os.kill(os.getpid(), signal.SIGINT)  # lands inside the held write
        return run

    monkeypatch.setattr(MlflowClient, "create_run", create_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        start_run(store, build_config("tiny"), "interrupted", "cpu")
    (run_id,) = made
    assert store.client().get_run(run_id).info.status == "KILLED"
