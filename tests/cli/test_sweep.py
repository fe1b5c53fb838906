"""study/cli/sweep.py: `dpl sweep run|status|list|export` on a real journal and MLflow store;
the interrupt-and-resume path through a real process and a real SIGINT. (Killed workers:
tests/cluster/.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import optuna
import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from optuna.trial import TrialState

from study.cli.main import cli
from study.sweep.storage import open_storage
from tests.processes import signal_when

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

    import study.tracking.run

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(
        study.tracking.run, "_log_artifacts", lambda *args: None
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


def resume_sweep(tmp_path, steps: int, pack: int = 1):
    """The command, environment and journal of a `dpl sweep run` of the 6-point grid `resume`
    in its own process, with trials of `steps` steps, `pack` at a time."""
    spec = write_spec(
        tmp_path / "grid.yaml",
        "resume",
        base={"preset": "tiny", "set": {**FAST, "train.steps": steps}},
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable,
        "-c",
        "from study.cli.main import cli; cli()",
        "sweep",
        "run",
        str(spec),
        "--pack",
        str(pack),
        "--workers",
        "1",
    ]
    return command, env, tmp_path / "mlruns" / "optuna.journal"


@pytest.mark.parametrize("pack", [1, 3])
@pytest.mark.processes
def test_sigint_then_rerun_completes_the_grid_once(tmp_path, store, pack):
    """An interrupt releases every trial the worker holds — the running one, or the whole pack
    (FAIL `interrupted`, MLflow KILLED) — and the rerun finishes the grid, no point twice.

    The SIGINT lands at a state, not a time: a pack complete and the next `pack` trials under
    way (RUNNING in the journal, their runs open in MLflow and early in training), checked
    while the process is frozen (`tests.processes.signal_when`)."""
    command, env, journal = resume_sweep(tmp_path, steps=600, pack=pack)
    client = store.client()

    def next_ones_under_way():
        trials = _study(journal).get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING]
        if not done or len(done) % pack or len(running) != pack:  # a pack done, the next begun
            return None
        open_runs = _open_runs(client, "resume")
        early = [
            t.number
            for t in running
            if (run := open_runs.get(t.number)) is not None
            and len(client.get_metric_history(run.info.run_id, "acc/val")) < EVALUATIONS // 2
        ]
        return (sorted(t.number for t in done), sorted(early)) if len(early) == pack else None

    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        done, held = signal_when(
            proc, next_ones_under_way, signal.SIGINT, 240, f"trials {pack + 1}… under way"
        )
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    study = _study(journal)
    assert [t.number for t in study.get_trials() if t.state == TrialState.COMPLETE] == done
    released = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert [t.number for t in released] == held, err
    assert {t.user_attrs["failure_reason"] for t in released} == {"interrupted"}
    assert TrialState.RUNNING not in {t.state for t in study.get_trials()}
    killed = {int(r.data.tags["trial_number"]) for r in _child_runs(client, "resume", "KILLED")}
    assert killed == set(held)

    again = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr
    study = _study(journal)
    complete = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert len(complete) == 6
    assert len({t.user_attrs["replicate_group"] for t in complete}) == 6  # no grid point twice
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in study.get_trials())
    assert all(
        t.user_attrs["failure_reason"] == "interrupted"
        for t in study.get_trials()
        if t.state == TrialState.FAIL
    )

    runs = client.search_runs([client.get_experiment_by_name("resume").experiment_id])
    assert "RUNNING" not in {r.info.status for r in runs}, (
        [(r.info.run_name, r.info.status) for r in runs],
        [(t.number, t.state, t.user_attrs.get("failure_reason")) for t in study.get_trials()],
        err,
        again.stderr,
    )
    assert sum(r.info.status == "FINISHED" for r in runs) == 7  # 6 trials and the parent


EVALUATIONS = 600 // FAST["eval.every"]  # of a `resume_sweep` trial


def _child_runs(client, experiment: str, status: str) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs([found.experiment_id], filter_string=f"status = '{status}'")
    return [r for r in runs if "trial_number" in r.data.tags]


def _open_runs(client, experiment: str) -> dict[int, object]:
    """{trial number: its MLflow run} for the runs still RUNNING."""
    return {int(r.data.tags["trial_number"]): r for r in _child_runs(client, experiment, "RUNNING")}


def _study(journal):
    return optuna.load_study(study_name="resume", storage=open_storage(str(journal)))


def test_with_controls_then_analyze_effects_reads_run_minus_control(tmp_path, in_store):
    spec = write_spec(
        tmp_path / "ctl.yaml",
        "cli-ctl",
        base={"preset": "tiny", "set": {**FAST, "forgetting.forget_every": 5}},
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

    def at_final_step(run, metric: str) -> float:  # a curve's final value, straight from MLflow
        step = run.data.metrics["summary/final_step"]
        return next(m.value for m in client.get_metric_history(run.info.run_id, metric) if m.step == step)  # fmt: skip

    final = {  # (role, α) → run
        (r.data.tags.get("dpl.role", r.data.params.get("forgetting.kind")), float(r.data.params["task.zipf_exponent"])): r
        for r in runs
        if "trial_number" in r.data.tags
    }  # fmt: skip
    assert len(points) == 2
    for point in points:
        run, control = final["active", point["task.zipf_exponent"]], final["control", point["task.zipf_exponent"]]  # fmt: skip
        # the headline is stored under its protocol's name (`paper`, the default)
        for m, stored in (("icl/structural", "icl/structural_paper"), ("iwl/head", "iwl/head")):
            want = at_final_step(run, stored) - at_final_step(control, stored)
            assert point[f"{m}.effect"] == pytest.approx(want)

    plain = write_spec(tmp_path / "plain.yaml", "cli-plain", objective="map")
    assert invoke("run", str(plain)).exit_code == 0
    none = CliRunner().invoke(cli, ["analyze", "effects", "cli-plain", "--no-log"])
    assert none.exit_code == 2 and "--with-controls" in none.output


def test_default_workers_are_one_per_core():
    from study.device import default_workers

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
