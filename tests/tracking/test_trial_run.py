"""One trial = one MLflow run (study/tracking/trial_run.py), against a real SQLite store: what is logged, and
that the run always ends FINISHED, FAILED or KILLED — never RUNNING."""

from __future__ import annotations

import re

import pytest
import yaml

from analysis.figures.save import save_trial_figure
from study import __version__
from study.metric_names import (
    ACC_VAL,
    DUAL_SCORE,
    FINAL_STEP,
    IWL_HEAD,
    LOSS_TRAIN,
    NORM_RATIO,
    structural,
    transience,
)
from study.presets import build_config
from study.regimes import CALLS
from study.tracking.trial_run import run_trial
from study.trial.lane import NonFiniteLoss
from study.trial.schedule import eval_steps

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def only_run(store):
    client = store.client()
    runs = client.search_runs([store.experiment_id("dpl")])
    assert len(runs) == 1
    return client, runs[0]


def test_finished_run_has_params_metrics_tags_and_artifacts(store, tiny_cfg, tmp_path):
    seen: list[int] = []
    result = run_trial(
        tiny_cfg,
        store=store,
        device="cpu",
        tags={"sweep": "s1"},
        on_eval=lambda s, m: seen.append(s),
        curve_figure=save_trial_figure,
    )
    client, run = only_run(store)
    assert run.info.run_id == result.run_id
    assert run.info.status == "FINISHED" and run.info.end_time is not None

    params = run.data.params
    assert params["task.zipf_exponent"] == "1.5" and params["task.n_vocab"] == "40"
    assert params["forgetting.kind"] == "none" and params["eval.protocol"] == "paper"
    assert set(tiny_cfg.effective()) <= set(params)
    # the forgetting schedule does nothing under kind none: not logged as if it did
    assert tiny_cfg.inert_keys() == {
        "forgetting.forget_every",
        "forgetting.forget_until",
        "forgetting.reset_std",
        "forgetting.clear_optimizer",
    }
    assert not tiny_cfg.inert_keys() & set(params)
    for purpose in ("data", "eval", "init", "forgetting", "dropout", "holdout"):
        assert int(params[f"seed.{purpose}"]) >= 0

    steps = eval_steps(tiny_cfg)  # [0, 20, 40, 60]
    for name in (structural("paper"), structural("matched"), IWL_HEAD, ACC_VAL, NORM_RATIO):
        history = client.get_metric_history(run.info.run_id, name)
        assert sorted(m.step for m in history) == steps, name
    train_loss = client.get_metric_history(run.info.run_id, LOSS_TRAIN)
    assert sorted(m.step for m in train_loss) == steps[1:]  # no training loss before step 0

    metrics = run.data.metrics
    for name in (structural("paper", "peak"), transience("paper"), DUAL_SCORE, FINAL_STEP):
        assert name in metrics, name
    assert metrics[transience("paper")] == pytest.approx(
        metrics[structural("paper", "peak")] - metrics[structural("paper")], abs=1e-9
    )
    assert result.summary[DUAL_SCORE] == pytest.approx(metrics[DUAL_SCORE], abs=5e-5)
    assert metrics[FINAL_STEP] == tiny_cfg.train.steps

    tags = run.data.tags
    assert tags["regime"] == result.regime and tags["regime"] in CALLS
    assert tags["transient"] in {"true", "false"}
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", tags["git_commit"])
    assert tags["dpl_version"] == __version__
    assert tags["device"] == "cpu" and tags["protocol"] == "paper"
    assert tags["sweep"] == "s1"  # caller's tags join the run's own
    assert seen == steps  # the caller's on_eval sees every logged evaluation

    artifacts = {f.path: f for f in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "learning_curves.png"} <= set(artifacts)
    assert artifacts["learning_curves.png"].file_size > 1000
    local = client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_path))
    with open(local) as fh:
        assert yaml.safe_load(fh) == tiny_cfg.model_dump()


def test_diverging_run_ends_failed_with_a_reason(store):
    cfg = build_config("tiny", sets=["train.lr=1.0", "train.weight_decay=1e6"])
    with pytest.raises(NonFiniteLoss):
        run_trial(cfg, store=store, device="cpu")
    client, run = only_run(store)
    assert run.info.status == "FAILED" and run.info.end_time is not None
    assert run.data.tags["failure_reason"].startswith("NonFiniteLoss: training loss became nan")
    assert "regime" not in run.data.tags
    for values in (client.get_metric_history(run.info.run_id, k) for k in run.data.metrics):
        assert all(v.value == v.value for v in values)  # no NaN reached the store


def test_interrupted_run_ends_killed(store):
    cfg = build_config("tiny", sets=["train.steps=1000"])

    def interrupt(step: int) -> None:
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trial(cfg, store=store, device="cpu", on_step=interrupt)
    _, run = only_run(store)
    assert run.info.status == "KILLED" and run.info.end_time is not None
    assert "failure_reason" not in run.data.tags
