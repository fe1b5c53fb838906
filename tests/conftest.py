"""Shared fixtures: seeded generators, tiny configs, real MLflow stores in tmp_path."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from study.presets import build_config
from study.tracking.store import Store
from study.trial.seeds import generator


def pytest_configure(config):
    """A test runner started in the background (`cmd &`) inherits SIGINT ignored, and so would
    every process the tests start: the interrupt tests would then see nothing arrive. Python
    gives a caught SIGINT back to its children as the default on exec."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def rng() -> torch.Generator:
    return generator(1234)


@pytest.fixture
def tiny_cfg():
    return build_config("tiny")


@pytest.fixture(scope="session")
def _template_store(tmp_path_factory) -> Store:
    """One real SQLite MLflow store with its schema created (slow: alembic migrations), copied
    into each test's tmp_path by `store`."""
    store = Store.resolve(root=tmp_path_factory.mktemp("template") / "mlruns")
    store.client().search_experiments()
    return store


@pytest.fixture(scope="session")
def new_store(_template_store) -> Callable[[Path], Store]:
    """Make a fresh, real MLflow store at a root (SQLite + artifacts folder) from the template."""

    def make(root: Path) -> Store:
        fresh = Store.resolve(root=root)
        fresh.prepare()
        shutil.copy(_template_store.sqlite_path, fresh.sqlite_path)
        return fresh

    return make


@pytest.fixture
def store(tmp_path, new_store) -> Store:
    """A fresh, real MLflow store under tmp_path/mlruns (SQLite + artifacts folder)."""
    return new_store(tmp_path / "mlruns")


SCIENCE = "science"  # the user property a science line travels in (from xdist workers too)
_SCIENCE_LINES: list[str] = []


@pytest.fixture
def science_report(request):
    """Append a line to the science report printed at the end of the test session. The line
    rides on the test's report, so it reaches the session's summary from any xdist worker."""
    return lambda line: request.node.user_properties.append((SCIENCE, line))


def pytest_runtest_logreport(report):
    if report.when == "teardown":  # the last report of a test carries all its properties
        _SCIENCE_LINES.extend(value for key, value in report.user_properties if key == SCIENCE)


def pytest_terminal_summary(terminalreporter):
    if _SCIENCE_LINES:
        terminalreporter.section("science: what the runs measured")
        for line in _SCIENCE_LINES:
            terminalreporter.write_line(line)


@pytest.fixture
def one_torch_thread():
    """Tiny models run op by op: on a shared 2-core machine torch's thread pool spins far longer
    than the ops take (≈ 25× slower), so trial-running tests use one intra-op thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL on 127.0.0.1 for the cluster tests (role dpl with a password; databases
    optuna and mlflow); skipped where it cannot start, failed under CI=true."""
    from tests.servers import skip_or_fail, start_postgres, unavailable_reason

    reason = unavailable_reason()
    if reason:
        skip_or_fail(f"PostgreSQL unavailable: {reason}")
    try:
        pg = start_postgres(tmp_path_factory.mktemp("postgres"))
    except Exception as e:
        skip_or_fail(f"PostgreSQL did not start: {e}")
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def mlflow_server(postgres, tmp_path_factory):
    """A real `mlflow server` whose backend is the PostgreSQL `mlflow` database and whose
    artifacts are proxied to a tmp folder; skipped where it cannot start, failed under CI=true."""
    from tests.mlflow_server import start_mlflow_server
    from tests.servers import skip_or_fail

    root = tmp_path_factory.mktemp("mlflow-server")
    try:
        server = start_mlflow_server(postgres.url("mlflow"), root / "artifacts")
    except Exception as e:
        skip_or_fail(f"MLflow server did not start: {e}")
    yield server
    server.stop()
