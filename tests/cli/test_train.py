"""`dpl train`, `dpl data sample` and the CLI shell (study/cli/): exit codes, JSON output,
written files, lazy imports, and SIGTERM ending a run KILLED."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import polars as pl
import pytest
from click.testing import CliRunner

from study.cli.main import cli
from study.metric_names import kind
from study.regimes import CALLS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[2]
SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
SUBPROCESS_ENV.pop("MLFLOW_TRACKING_URI", None)
DPL = [sys.executable, "-c", "from study.cli.main import cli; cli()"]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in tmp_path (the default store is ./mlruns) and give back SIGTERM's handler, which
    `dpl train` replaces."""
    monkeypatch.chdir(tmp_path)
    handler = signal.getsignal(signal.SIGTERM)
    yield tmp_path
    signal.signal(signal.SIGTERM, handler)


def test_train_json(store, in_tmp):
    args = [
        "train",
        "--preset",
        "tiny",
        "--json",
        "--device",
        "cpu",
        "--tracking-uri",
        store.tracking_uri,
    ]
    result = CliRunner().invoke(cli, [*args, "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"run_id", "regime", "summary", "transient", "final_step"} <= set(out)
    assert out["regime"] in CALLS and out["final_step"] == 60
    assert {
        "icl/structural",
        "summary/structural_peak",
        "summary/transience",
        "summary/dual_score",
    } <= set(out["summary"])
    run = store.client().get_run(out["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["regime"] == out["regime"]
    assert run.data.params["train.seed"] == "3"  # --seed sets the root seed
    # numbers as a user reads them: what MLflow stored, no float32 noise (0.12549999356…)
    stored = run.data.metrics  # the final step's values, the curves' last points
    for name in ("icl/structural_paper", "iwl/head", "acc/val", "loss/val"):
        assert out["summary"][name] == stored[name], name
    shares = [v for k, v in out["summary"].items() if kind(k) == "share"]
    assert shares and all(v == round(v, 4) for v in shares)


@pytest.mark.parametrize(
    ("assignment", "key", "value"),
    [
        ("task.zipf_exponnt=1.5", "task.zipf_exponnt", "1.5"),
        ("task.zipf_exponent=-2", "task.zipf_exponent", "-2"),
        ("train.steps=lots", "train.steps", "lots"),
    ],
)
def test_train_bad_set_exits_2_naming_key_and_value(store, in_tmp, assignment, key, value):
    args = ["train", "--preset", "tiny", "--tracking-uri", store.tracking_uri, "--set", assignment]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert key in result.output and value in result.output, result.output
    assert "Traceback" not in result.output
    assert store.client().search_runs([store.experiment_id("dpl")]) == []  # nothing started


def test_train_unknown_preset_exits_2(in_tmp):
    result = CliRunner().invoke(cli, ["train", "--preset", "huge"])
    assert result.exit_code == 2 and "huge" in result.output


def test_train_diverging_exits_1(store, in_tmp):
    sets = ["--set", "train.lr=1.0", "--set", "train.weight_decay=1e6"]
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--preset",
            "tiny",
            "--device",
            "cpu",
            "--tracking-uri",
            store.tracking_uri,
            *sets,
        ],
    )
    assert result.exit_code == 1, result.output
    assert "became nan" in result.output
    (run,) = store.client().search_runs([store.experiment_id("dpl")])
    assert run.info.status == "FAILED"


SAMPLE_COLUMNS = {
    *(f"pos{i}" for i in range(7)),
    "query_position",
    *(f"target{i}" for i in (1, 2, 3)),
    *(f"swapped_target{i}" for i in (1, 2, 3)),
    "template",
    "query_is_after_copula",
    *(
        f"{role}_{fact}"
        for role in ("after_copula", "other")
        for fact in ("id", "class", "rank", "ambiguous")
    ),
    "query_rank",
}


def test_data_sample_writes_parquet(in_tmp):
    out = in_tmp / "x.parquet"
    args = [
        "data",
        "sample",
        "--preset",
        "tiny",
        "--split",
        "switch",
        "--n",
        "50",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(out)
    assert frame.height == 50
    assert set(frame.columns) == SAMPLE_COLUMNS
    # switch: a noun (class 0) after the copula, target 1 is it, targets 2–3 the query
    assert (frame["after_copula_class"] == 0).all() and (frame["other_class"] == 1).all()
    assert (frame["target1"] == frame["after_copula_id"]).all()
    assert (frame["swapped_target1"] == frame["other_id"]).all()
    assert (frame["pos4"] == 41).all()  # the mask id of the tiny vocabulary (V = 40)


def test_data_sample_bad_set_exits_2(in_tmp):
    args = ["data", "sample", "--preset", "tiny", "--set", "task.n_vocab=41", "--out", "x.parquet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "task.n_vocab" in result.output and "41" in result.output
    assert not (in_tmp / "x.parquet").exists()


def all_commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


def test_every_help_exits_0():
    runner = CliRunner()
    paths = [(), *all_commands(cli)]
    assert ("train",) in paths and ("data", "sample") in paths
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_help_imports_neither_torch_nor_mlflow():
    code = (
        "import sys\n"
        "from study.cli.main import cli\n"
        "try:\n"
        "    cli(['--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = [m for m in ('torch', 'mlflow', 'optuna', 'polars') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout


@pytest.mark.processes
def test_sigterm_ends_the_run_killed_and_exits_143(store, tmp_path):
    args = [
        "train",
        "--preset",
        "tiny",
        "--set",
        "train.steps=100000",
        "--device",
        "cpu",
        "--tracking-uri",
        store.tracking_uri,
    ]
    proc = subprocess.Popen(
        [*DPL, *args],
        cwd=tmp_path,
        env=SUBPROCESS_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = store.client()
        deadline = time.monotonic() + 90
        run = None
        while time.monotonic() < deadline and proc.poll() is None:
            found = client.search_experiments(filter_string="name = 'dpl'")
            runs = client.search_runs([found[0].experiment_id]) if found else []
            # wait for the step-0 evaluation: the run is inside the training loop
            if runs and client.get_metric_history(runs[0].info.run_id, "acc/val"):
                run = runs[0]
                break
            time.sleep(0.25)
        assert run is not None, (
            proc.stderr.read() if proc.poll() is not None else "no run within 90 s"
        )
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, stderr
    assert "interrupted" in stderr
    ended = client.get_run(run.info.run_id)
    assert ended.info.status == "KILLED" and ended.info.end_time is not None


def test_data_sample_split_choices_are_the_task_splits():
    from study.cli.data import SPLIT_CHOICES
    from study.trial.tasks import SPLITS

    assert SPLIT_CHOICES == SPLITS
