"""Workers on one machine sharing the embedded journal file: kills, other hosts, SIGTERM."""

from __future__ import annotations

import pytest

from tests.cluster.scenarios import sigkill_one_of_three, sigterm_then_rerun

pytestmark = pytest.mark.processes  # signals, kills or races processes (scripts/stress_timing.py)


def _where(tmp_path, store):
    return str(tmp_path / "mlruns" / "optuna.journal"), store.tracking_uri


def test_sigkill_one_of_three_workers_on_the_journal(tmp_path, store, science_report):
    """The killed worker's pid is dead on this host: the others end its trial lost at once."""
    journal, uri = _where(tmp_path, store)
    seen = sigkill_one_of_three(tmp_path, journal, uri, store.client())
    science_report(f"fault: SIGKILL, journal, same host → {seen}")


def test_sigkill_of_a_worker_on_another_host_is_caught_by_its_missing_heartbeat(
    tmp_path, store, science_report
):
    """A worker that says it runs on `node-b`: no pid to check here, so only its silence
    (4 missed beats of 2 s) tells the others that its trial is lost."""
    journal, uri = _where(tmp_path, store)
    seen = sigkill_one_of_three(tmp_path, journal, uri, store.client(), other_host=True)
    science_report(f"fault: SIGKILL, journal, other host → {seen}")


def test_sigterm_releases_the_workers_trial_and_a_rerun_completes(tmp_path, store):
    journal, uri = _where(tmp_path, store)
    sigterm_then_rerun(tmp_path, journal, uri, store.client())
