"""study/cli/sweep.py: `dpl sweep run|status|list|export` on a real journal and MLflow store,
and how a sweep with failed trials ends. (An interrupt and the rerun: test_sweep_interrupt.py;
killed workers: tests/cluster/.)"""

from __future__ import annotations

import json
import os

import optuna
import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from study.cli.main import cli
from study.sweep.storage import open_storage

FAST = {"train.steps": 12, "eval.every": 6, "eval.n_examples": 40, "train.batch_size": 16}


def write_spec(path, name, **changes):
    tree = {
        "name": name,
        "base": {"preset": "tiny", "set": dict(FAST)},
        "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_every": [3, 5, 7]},
        "sampler": {"kind": "grid"},
        **changes,
    }
    path.write_text(yaml.safe_dump(tree))
    return path


@pytest.fixture
def in_store(tmp_path, store, monkeypatch):
    """Commands run in tmp_path, whose ./mlruns is the test's MLflow store (and journal)."""
    import torch

    import study.tracking.trial_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(
        study.tracking.trial_run, "_log_artifacts", lambda *args: None
    )  # figure: slow, not ours
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared CPUs: one thread is faster than two contending
    yield store
    torch.set_num_threads(threads)


def invoke(*args):
    """`dpl sweep ARGS` in this process; a run with one worker unless told (the default, one
    per core, would spawn processes: `test_default_workers_are_one_per_core`)."""
    one = ["--workers", "1"] if args[0] == "run" and "--workers" not in args else []
    return CliRunner().invoke(cli, ["sweep", *args, *one], catch_exceptions=False)


def test_run_in_parts_then_status_list_export(tmp_path, in_store):
    spec = write_spec(
        tmp_path / "grid.yaml",
        "cli-grid",
        space={"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_every": [3, 5]},
    )
    first = invoke("run", str(spec), "--n-trials", "3")
    assert first.exit_code == 0, first.output
    assert "study cli-grid" in first.output and "1 left" in first.output

    partial = json.loads(invoke("status", "cli-grid", "--json").output)
    assert partial["states"] == {"complete": 3, "waiting": 1} and not partial["finished"]

    second = invoke("run", str(spec))
    assert second.exit_code == 0 and "finished" in second.output
    final = json.loads(invoke("status", "cli-grid", "--json").output)
    assert final["states"] == {"complete": 4} and final["finished"] and final["budget_left"] == 0
    assert sum(final["regimes"].values()) == 4 and final["best"] == []  # a map has no best trial

    listed = invoke("list", "--json")
    assert [s["name"] for s in json.loads(listed.output)] == ["cli-grid"]
    assert "cli-grid" in invoke("list").output

    out = tmp_path / "out" / "trials.parquet"
    assert invoke("export", "cli-grid", "--out", str(out)).exit_code == 0
    frame = pl.read_parquet(out)
    assert frame.height == 4 and frame["mlflow_run_id"].null_count() == 0
    assert {
        "task.zipf_exponent",
        "forgetting.forget_every",
        "icl/structural",
        "summary/transience",
        "state",
    } <= set(frame.columns)

    changed = write_spec(
        tmp_path / "grid.yaml",
        "cli-grid",
        seed=7,
        space={"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_every": [3, 5]},
    )
    refused = invoke("run", str(changed))
    assert refused.exit_code == 2 and "--force" in refused.output
    assert invoke("status", "no-such-study").exit_code == 2


def test_objective_status_table_shows_the_best_trial(tmp_path, in_store):
    spec = write_spec(
        tmp_path / "random.yaml",
        "cli-random",
        space={"train.lr": {"kind": "float", "low": 1e-4, "high": 1e-2, "log": True}},
        sampler={"kind": "random", "seed": 1},
        objective=[{"metric": "acc/val", "direction": "maximize"}],
        n_trials=5,
    )
    assert invoke("run", str(spec)).exit_code == 0
    shown = invoke("status", "cli-random").output
    assert "best #" in shown and "maximize acc/val" in shown and "complete 5" in shown


def test_with_controls_then_analyze_effects_reads_run_minus_control(tmp_path, in_store):
    """k = 6 with evaluations every 6 steps: the run's aligned final and its control's last
    evaluation are both step 12, so the effect is read there (`paired_step`)."""
    spec = write_spec(
        tmp_path / "ctl.yaml",
        "cli-ctl",
        base={"preset": "tiny", "set": {**FAST, "forgetting.forget_every": 6}},
        space={"task.zipf_exponent": [0.0, 1.5], "forgetting.kind": ["none", "active"]},
        objective="map",
    )
    result = invoke("run", str(spec), "--with-controls")
    assert result.exit_code == 0, result.output
    assert "2 forgetting runs paired with their control (2 control runs)" in result.output

    analyzed = CliRunner().invoke(cli, ["analyze", "effects", "cli-ctl", "--json", "--no-log"])
    assert analyzed.exit_code == 0, analyzed.output
    points = json.loads(analyzed.output)["points"]
    client = in_store.client()
    runs = client.search_runs([client.get_experiment_by_name("cli-ctl").experiment_id])

    def at(run, metric: str, step: int) -> float:  # a curve's value, straight from MLflow
        history = client.get_metric_history(run.info.run_id, metric)
        return next(m.value for m in history if m.step == step)

    def role(r) -> str:
        return r.data.tags.get("dpl.role", r.data.params.get("forgetting.kind"))

    by = {
        (role(r), float(r.data.params["task.zipf_exponent"])): r
        for r in runs
        if "trial_number" in r.data.tags
    }
    assert len(points) == 2
    for point in points:
        alpha, step = point["task.zipf_exponent"], point["paired_step"]
        run, control = by["active", alpha], by["control", alpha]
        assert step == run.data.metrics["summary/final_step"] == 12
        # the headline is stored under its protocol's name (`paper`, the default)
        for m, stored in (("icl/structural", "icl/structural_paper"), ("iwl/head", "iwl/head")):
            want = at(run, stored, step) - at(control, stored, step)
            assert point[f"{m}.effect"] == pytest.approx(want, abs=1e-6)

    plain = write_spec(tmp_path / "plain.yaml", "cli-plain", objective="map")
    assert invoke("run", str(plain)).exit_code == 0
    none = CliRunner().invoke(cli, ["analyze", "effects", "cli-plain", "--no-log"])
    assert none.exit_code == 2 and "--with-controls" in none.output


def test_default_workers_are_one_per_core():
    from study.trial.device import default_workers

    assert default_workers("cpu") == len(os.sched_getaffinity(0))
    assert default_workers("cuda:0") == 1


def test_a_trial_without_its_objective_fails_and_the_sweep_says_so(tmp_path, in_store):
    """α = 4 leaves the rarest deciles without queries, so `acc/decile_9` — a metric of the
    contract, which the spec check lets through — is absent from that trial's summary: the
    trial fails with that reason, said by the worker that failed it, and the sweep goes on to
    exit 0 naming the failure (some trials failed, not all)."""
    spec = write_spec(
        tmp_path / "decile.yaml",
        "cli-decile",
        space={"task.zipf_exponent": [0.0, 4.0]},
        objective=[{"metric": "acc/decile_9", "direction": "maximize"}],
    )
    result = CliRunner().invoke(
        cli, ["sweep", "run", str(spec), "--workers", "1"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "ended elsewhere" not in result.stderr
    assert "failed: objective metric(s) acc/decile_9 not in this trial's summary" in result.stderr
    assert "1 of 2 trials of this run failed:" in result.stderr
    states = json.loads(invoke("status", "cli-decile", "--json").output)["states"]
    assert states == {"complete": 1, "failed": 1}
    client = in_store.client()
    runs = client.search_runs([client.get_experiment_by_name("cli-decile").experiment_id])
    assert sorted(r.info.status for r in runs if "trial_number" in r.data.tags) == [
        "FAILED",
        "FINISHED",
    ]


def test_optuna_values_are_rounded_as_mlflow_stores_them(tmp_path, in_store):
    """Objective values and pruning reports carry no float32 noise: a share of 40 sequences
    has at most 4 decimals, as the run's stored metric."""
    spec = write_spec(
        tmp_path / "rounded.yaml",
        "cli-rounded",
        space={"task.zipf_exponent": [0.0, 1.5]},
        objective=[{"metric": "acc/val", "direction": "maximize"}],
        pruner={"kind": "median", "metric": "icl/structural"},
    )
    assert invoke("run", str(spec)).exit_code == 0
    study = optuna.load_study(
        study_name="cli-rounded", storage=open_storage("mlruns/optuna.journal")
    )
    client = in_store.client()
    for t in study.get_trials():
        [value] = t.values
        assert value == round(value, 4) and repr(value) == repr(round(value, 4))
        assert value == client.get_run(t.user_attrs["mlflow_run_id"]).data.metrics["acc/val"]
        reported = list(t.intermediate_values.values())
        assert reported and all(v == round(v, 4) for v in reported)
