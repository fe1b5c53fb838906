"""study/sweep/launch.py, worker.py, queue.py, mlflow_link.py: real journal storage and a real MLflow
SQLite store in tmp_path, the `tiny` preset trained for a few steps on the CPU."""

from __future__ import annotations

import copy
import json
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from study.sweep import attrs, queue
from study.sweep import optuna_private as private
from study.sweep.attrs import RUN as RUN_ATTR
from study.sweep.launch import prepare, run_sweep
from study.sweep.spec import parse_spec
from study.sweep.status import export_frame, status
from study.sweep.storage import StudyError, create_or_continue, open_storage
from study.tracking.schema import PARENT
from tests.sweep.conftest import FAST, GRID6, runs_of, spec_of, sweep_in


def test_grid_of_6_end_to_end(tmp_path, store):
    spec = spec_of()
    prepared, study = sweep_in(tmp_path, store, spec)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 6  # every grid point once

    runs = runs_of(store, spec)
    parent = [r for r in runs if r.info.run_id == prepared.parent_run_id][0]
    children = [r for r in runs if r.data.tags.get(PARENT) == prepared.parent_run_id]
    assert len(runs) == 7 and len(children) == 6
    assert parent.info.status == "FINISHED" and parent.data.tags["study"] == "grid6"
    assert "spec_hash" in parent.data.tags and not parent.data.params  # the spec is an artifact
    assert sum(v for k, v in parent.data.metrics.items() if k.startswith("regimes/")) == 6
    assert "Regimes:" in parent.data.tags["mlflow.note.content"]
    by_id = {r.info.run_id: r for r in children}
    for t in trials:  # cross-linked, params and summary metrics in both places
        run = by_id[t.user_attrs[RUN_ATTR]]
        assert run.info.status == "FINISHED"
        assert run.data.tags["trial_number"] == str(t.number) and run.data.tags["study"] == "grid6"
        assert run.data.tags["replicate_group"] == t.user_attrs["replicate_group"]
        for key, value in t.params.items():
            assert float(run.data.params[key]) == pytest.approx(float(value))
        # the same scalars, rounded the same way, under the same names
        assert run.data.metrics["summary/dual_score"] == t.user_attrs["summary/dual_score"]
        assert "summary.acc.val" not in t.user_attrs and "acc/val" in t.user_attrs
        assert run.data.tags["regime"] == t.user_attrs["regime"]
        # named and described by its point: α=1.5 · k=5 · s0 → its regime
        point = f"α={t.params['task.zipf_exponent']:g} · k={t.params['forgetting.forget_every']}"
        assert run.info.run_name == f"{point} · s{t.user_attrs['seed']}"
        assert run.data.tags["mlflow.note.content"].endswith(
            f"→ {t.user_attrs['regime']} (ICL {t.user_attrs['icl/structural']:.2f}, "
            f"head IWL {t.user_attrs['iwl/head']:.2f})"
        )
        assert json.loads(run.data.tags["dpl.swept"]) == list(spec.space)
    assert study.metric_names == ["summary/dual_score"]  # a map's objective: named, and real
    dual = [t.user_attrs["summary/dual_score"] for t in trials]
    assert [t.values[0] for t in trials] == pytest.approx(dual, abs=1e-4)
    st = status(study, spec)
    assert st.finished and st.states == {"complete": 6} and sum(st.regimes.values()) == 6

    frame = export_frame(study, spec)
    assert frame.height == 6 and {"task.zipf_exponent", "icl/structural", RUN_ATTR} <= set(
        frame.columns
    )

    again = prepare(spec, store, prepared.storage_url)  # a rerun of a finished study adds nothing
    assert again.parent_run_id == prepared.parent_run_id
    run_sweep(again)
    assert len(study.get_trials()) == 6


@pytest.mark.processes
def test_two_workers_run_each_grid_point_once(tmp_path, store):
    spec = spec_of(name="workers")
    _, study = sweep_in(tmp_path, store, spec, workers=2)
    trials = study.get_trials()
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["replicate_group"] for t in trials}) == 6
    assert len({t.user_attrs[RUN_ATTR] for t in trials}) == 6
    assert all(r.info.status == "FINISHED" for r in runs_of(store, spec))


def test_objective_spec_has_a_best_trial_and_replicates(tmp_path, store):
    spec = parse_spec(
        {
            "name": "tpe",
            "base": {"preset": "tiny", "set": FAST},
            "space": {"train.lr": {"kind": "float", "low": 1e-4, "high": 1e-2, "log": True}},
            "sampler": {"kind": "tpe", "options": {"n_startup_trials": 2}},
            "objective": [{"metric": "acc/val", "direction": "maximize"}],
            "n_trials": 6,
            "replicates": 2,
        }
    )
    _, study = sweep_in(tmp_path, store, spec)
    trials = study.get_trials()
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)
    groups = Counter(t.user_attrs["replicate_group"] for t in trials)
    assert sorted(groups.values()) == [2, 2, 2]  # three points, two seeds each
    for group in groups:
        pair = [t for t in trials if t.user_attrs["replicate_group"] == group]
        assert {t.user_attrs["seed"] for t in pair} == {0, 1} and pair[0].params == pair[1].params
    st = status(study, spec)
    assert st.finished and len(st.best) == 1
    assert st.best[0]["values"]["acc/val"] == max(t.value for t in trials)
    assert st.objective == "maximize acc/val"


def test_failing_timed_out_and_pruned_trials_end_in_both_places(tmp_path, store, monkeypatch):
    import study.sweep.worker
    import study.tracking.trial_run
    from study.errors import ConfigError
    from study.trial.lane import NonFiniteLoss

    real_train, real_config = study.tracking.trial_run.train, study.sweep.worker.point_config

    def train(cfg, device, on_eval=None, on_step=None):
        if cfg.model.init_std == 0.03:
            raise RuntimeError("boom")
        if cfg.model.init_std == 0.04:
            raise NonFiniteLoss("loss nan at step 3")
        return real_train(cfg, device, on_eval=on_eval, on_step=on_step)

    def point_config(spec, point):
        if point["model.init_std"] == 0.06:  # a sampled point the trial config rejects
            raise ConfigError("model.init_std", 0.06, "not today", source="config")
        return real_config(spec, point)

    monkeypatch.setattr(study.tracking.trial_run, "train", train)
    monkeypatch.setattr(study.sweep.worker, "point_config", point_config)
    monkeypatch.setattr(
        optuna.Trial, "should_prune", lambda self: self.params["model.init_std"] == 0.05
    )
    spec = parse_spec(
        {
            **copy.deepcopy(GRID6),
            "name": "failing",
            "space": {"model.init_std": [0.02, 0.03, 0.04, 0.05, 0.06]},
            "objective": [{"metric": "acc/val", "direction": "maximize"}],
            "pruner": {"kind": "median", "metric": "acc/val"},
            "trial_timeout_s": 60,
        }
    )
    prepared, st = sweep_in(tmp_path, store, spec)
    by_std = {t.params["model.init_std"]: t for t in st.get_trials()}
    assert by_std[0.02].state == TrialState.COMPLETE
    assert (
        by_std[0.03].state == TrialState.FAIL
        and "boom" in by_std[0.03].user_attrs["failure_reason"]
    )
    assert by_std[0.05].state == TrialState.PRUNED
    runs = {r.info.run_id: r for r in runs_of(store, spec)}
    failed = runs[by_std[0.03].user_attrs[RUN_ATTR]]
    assert failed.info.status == "FAILED" and "boom" in failed.data.tags["failure_reason"]
    pruned = runs[by_std[0.05].user_attrs[RUN_ATTR]]
    assert pruned.info.status == "KILLED" and pruned.data.tags["pruned"] == "true"
    assert by_std[0.04].user_attrs["failure_reason"].startswith("non-finite loss")
    assert runs[by_std[0.04].user_attrs[RUN_ATTR]].info.status == "FAILED"
    rejected = runs[by_std[0.06].user_attrs[RUN_ATTR]]  # no training, still a FAILED run
    assert (
        by_std[0.06].state == TrialState.FAIL
        and "not today" in by_std[0.06].user_attrs["failure_reason"]
    )
    assert rejected.info.status == "FAILED" and "not today" in rejected.data.tags["failure_reason"]
    assert rejected.data.tags[PARENT] == prepared.parent_run_id
    assert status(st, spec).finished  # the sweep went on past both


def test_timeout_fails_the_trial_with_reason_timeout(tmp_path, store):
    spec = spec_of(name="slow", space={"task.zipf_exponent": [1.0]}, trial_timeout_s=1e-6)
    _, study = sweep_in(tmp_path, store, spec)
    (trial,) = study.get_trials()
    assert trial.state == TrialState.FAIL and trial.user_attrs["failure_reason"] == "timeout"
    (run,) = [r for r in runs_of(store, spec) if r.info.run_id == trial.user_attrs[RUN_ATTR]]
    assert run.info.status == "FAILED" and "timeout" in run.data.tags["failure_reason"]


# ---- the queue, without training ------------------------------------------------------------


def fresh_study(tmp_path, spec):
    return create_or_continue(spec, open_storage(str(tmp_path / "q.journal")))[0]


def test_fill_queues_each_point_once_and_requeues_released_trials(tmp_path):
    spec = spec_of(replicates=2, n_trials=10)
    study = fresh_study(tmp_path, spec)
    assert queue.fill(study, spec) == 10 and queue.fill(study, spec) == 0
    first = queue.claim(study)
    second = queue.claim(study)
    assert first.number != second.number
    queue.release(study, private.trial_id(first))  # an interrupt: its point goes back in the queue
    assert queue.fill(study, spec) == 0  # … once
    requeued = study.get_trials(states=(TrialState.WAITING,))[-1]
    assert attrs.key_of(requeued) == attrs.key_of(study.trials[first.number])
    keys = [attrs.key_of(t) for t in study.get_trials() if attrs.counts(t)]
    assert len(keys) == len(set(keys)) == 10


def test_claim_cancels_a_point_queued_twice(tmp_path):
    spec = spec_of(n_trials=2)
    study = fresh_study(tmp_path, spec)
    queue.fill(study, spec)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    queue.enqueue(study, waiting[0].system_attrs["fixed_params"], 0)  # a second invocation's fill
    claimed = [queue.claim(study), queue.claim(study), queue.claim(study)]
    assert claimed[2] is None
    states = Counter(
        t.user_attrs.get("failure_reason") for t in study.get_trials() if t.state == TrialState.FAIL
    )
    assert states == {"duplicate": 1}


def test_changed_spec_is_refused_unless_forced(tmp_path):
    spec = spec_of()
    fresh_study(tmp_path, spec)
    changed = spec_of(seed=3)
    with pytest.raises(StudyError, match="--force"):
        fresh_study(tmp_path, changed)
    study, _ = create_or_continue(changed, open_storage(str(tmp_path / "q.journal")), force=True)
    assert study.user_attrs["spec"]["seed"] == 3
    with pytest.raises(StudyError, match="directions"):
        objective = [{"metric": "acc/val", "direction": "minimize"}]
        create_or_continue(
            spec_of(objective=objective, sampler={"kind": "random"}, n_trials=2),
            open_storage(str(tmp_path / "q.journal")),
            force=True,
        )


def test_every_worker_runs_with_one_torch_thread_on_the_cpu(tmp_path, store, monkeypatch):
    """`work` is where every worker starts — `dpl sweep run`'s, a spawned one and `dpl sweep
    worker`'s — and it sets one torch thread on the CPU (unless DPL_THREADS says otherwise);
    a `dpl sweep worker` that kept torch's default ran 30 times slower beside another worker."""
    import torch

    from study.sweep.launch import prepare
    from study.sweep.loop import work

    monkeypatch.delenv("DPL_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    spec = spec_of(name="threads", n_trials=1)
    sweep = prepare(spec, store, str(tmp_path / "optuna.journal"), device="cpu")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert work(sweep, limit=1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
