"""`dpl train` on each world (docs/design.md §9): `--preset ar_small` and `--set task.kind=…` run
end to end into a real MLflow store, logging the platform's metric names, the task's params and
a regime called at the task's chance levels."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from study.cli.main import cli
from study.regimes import CALLS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run_train(store, *args):
    base = ["train", "--json", "--device", "cpu", "--tracking-uri", store.tracking_uri]
    result = CliRunner().invoke(cli, [*base, *args])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    return out, store.client().get_run(out["run_id"])


def test_ar_small_logs_the_platform_metrics(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, run = run_train(
        store, "--preset", "ar_small", "--set", "train.steps=40", "--set", "eval.every=20"
    )
    assert run.info.status == "FINISHED" and out["regime"] in CALLS
    assert run.data.tags["regime"] == out["regime"] and out["final_step"] == 40
    params = run.data.params
    assert params["task.kind"] == "ar" and params["task.n_items"] == "200"
    assert float(params["eval.thresholds.iwl"]) == 1 / 200  # chance: one label of 200
    assert params["eval.thresholds.icl"] == "0.5"
    assert "model.causal" not in params  # the decoder is causal whatever the flag says
    stored = run.data.metrics
    for name in (
        "icl/structural_paper",
        "icl/head",
        "iwl/head",
        "acc/val",
        "loss/val",
        "loss/train",
    ):
        assert name in stored, name
        assert out["summary"][name] == stored[name], name
    assert "summary/structural_paper_peak" in stored and "summary/dual_score" in stored
    absent = ("icl/tail", "iwl/tail", "acc/tail", "icl/structural_init", "holdout/norm_ratio")
    assert not set(absent) & set(stored)  # not fed by this world: absent, not zero
    history = store.client().get_metric_history(out["run_id"], "icl/structural_paper")
    assert [m.step for m in history] == [0, 20, 40]


def test_kind_on_the_command_line_runs_that_world(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sets = ["--set", "task.n_items=60", "--set", "train.steps=20", "--set", "eval.every=10"]
    out, run = run_train(store, "--preset", "tiny", "--set", "task.kind=ar", *sets)
    assert run.data.params["task.kind"] == "ar" and run.data.params["model.d_model"] == "16"
    assert "iwl/head" in out["summary"]


def test_a_key_of_another_world_exits_2(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--preset", "ar_small", "--tracking-uri", store.tracking_uri]
    result = CliRunner().invoke(cli, [*args, "--set", "task.n_vocab=40"])
    assert result.exit_code == 2 and "task.n_vocab" in result.output and "n_items" in result.output
    result = CliRunner().invoke(cli, [*args, "--set", "task.kind=go"])
    assert result.exit_code == 2 and "task.kind" in result.output and "'ar'" in result.output


def test_bursty_small_logs_the_platform_metrics(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sets = ["--set", "train.steps=20", "--set", "eval.every=10"]
    sgd = ["--set", "train.optimizer=sgd"]  # the paper's; bursty_small trains with AdamW
    out, run = run_train(store, "--preset", "bursty_small", *sets, *sgd)
    params = run.data.params
    assert params["task.kind"] == "bursty" and params["train.optimizer"] == "sgd"
    assert float(params["eval.thresholds.icl"]) == 0.25  # B/N: a context label copied at random
    assert float(params["eval.thresholds.iwl"]) == 0.125  # 1/L
    assert "train.beta1" not in params  # Adam's, inert under SGD
    for name in ("icl/structural_paper", "icl/head", "iwl/head", "acc/val", "loss/val"):
        assert out["summary"][name] == run.data.metrics[name], name
    out, run = run_train(store, "--preset", "tiny", "--set", "task.kind=bursty", *sets)
    assert run.data.params["task.n_classes"] == "512" and "iwl/head" in out["summary"]
