"""The real test servers work as the cluster tests assume: password auth on PostgreSQL, Optuna
storage on it, and an MLflow server that tracks runs and proxies artifacts."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.servers import skip_or_fail


def _connect(postgres, **auth):
    # imported here: without psycopg the `postgres` fixture skips (fails under CI=true)
    import psycopg

    return psycopg.connect(
        host=postgres.host,
        port=postgres.port,
        user=postgres.user,
        dbname="optuna",
        passfile=os.devnull,  # no ~/.pgpass may stand in for the password
        connect_timeout=10,
        **auth,
    )


def test_skip_or_fail_fails_only_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no server"):
        skip_or_fail("no server")
    for value in ("1", "false"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.skip.Exception, match="no server"):
            skip_or_fail("no server")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("no server")


def test_postgres_password_auth_is_on(postgres, monkeypatch):
    import psycopg

    monkeypatch.delenv("PGPASSWORD", raising=False)
    with _connect(postgres, password=postgres.password) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            "dpl",
            "optuna",
        )
    with pytest.raises(psycopg.OperationalError, match="password"):
        _connect(postgres)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(postgres, password=postgres.password + "x")


def test_postgres_urls_work_with_sqlalchemy_only_with_the_password(postgres, monkeypatch):
    import sqlalchemy

    monkeypatch.delenv("PGPASSWORD", raising=False)
    assert postgres.url("mlflow", password=False).startswith("postgresql+psycopg://dpl@")
    engine = sqlalchemy.create_engine(postgres.url("mlflow"))
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT current_database()")).scalar() == "mlflow"
    engine.dispose()
    engine = sqlalchemy.create_engine(postgres.url("mlflow", password=False))
    with pytest.raises(sqlalchemy.exc.OperationalError):
        engine.connect()
    engine.dispose()


def test_optuna_rdb_storage_on_postgres(postgres):
    import optuna

    url = postgres.create_database("t1")
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(storage=storage, study_name="servers", direction="minimize")
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    study.tell(trial, 0.25)
    storage.engine.dispose()

    again = optuna.storages.RDBStorage(url)
    loaded = optuna.load_study(study_name="servers", storage=again)
    assert [t.value for t in loaded.trials] == [0.25]
    assert set(loaded.trials[0].params) == {"lr"}
    again.engine.dispose()
    # create_database really is fresh: the study is gone
    fresh = optuna.storages.RDBStorage(postgres.create_database("t1"))
    assert optuna.get_all_study_names(storage=fresh) == []
    fresh.engine.dispose()


def test_mlflow_server_tracks_runs_and_proxies_artifacts(mlflow_server, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    exp_id = client.create_experiment(f"servers-{uuid.uuid4().hex[:8]}")
    assert client.get_experiment(exp_id).artifact_location.startswith("mlflow-artifacts:")
    run_id = client.create_run(exp_id).info.run_id
    client.log_metric(run_id, "loss", 0.5, step=3)
    client.log_text(run_id, "hello from the test\n", "notes/hello.txt")
    client.set_terminated(run_id)

    run = client.get_run(run_id)
    assert run.data.metrics == {"loss": 0.5}
    assert [(m.value, m.step) for m in client.get_metric_history(run_id, "loss")] == [(0.5, 3)]
    assert [a.path for a in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
    got = client.download_artifacts(run_id, "notes/hello.txt", str(tmp_path))
    assert Path(got).read_text() == "hello from the test\n"
    # the server wrote it, through its proxy, into the artifacts folder it was given
    on_disk = list(mlflow_server.artifacts.rglob("hello.txt"))
    assert len(on_disk) == 1 and on_disk[0].read_text() == "hello from the test\n"
