"""Sweeps with controls (study/sweep/control_trials.py, queue.py, worker.py): every forgetting point ×
replicate gets its control trial, linked by tags, outside the budget; real journal storage, a
real MLflow store and tiny real trials."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState

from study.controls import control_overrides
from study.errors import SpecError
from study.presets import build_config
from study.sweep import attrs, queue
from study.sweep.attrs import RUN as RUN_ATTR
from study.sweep.spec import parse_spec, spec_hash
from study.sweep.status import status
from study.tracking import schema
from tests.sweep.conftest import FAST, runs_of, sweep_in

SCHEDULE = {**FAST, "forgetting.forget_every": 5, "forgetting.forget_until": 8}


def controlled(**changes):
    tree = {
        "name": "ctl",
        "base": {"preset": "tiny", "set": SCHEDULE},
        "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.kind": ["none", "active"]},
        "sampler": {"kind": "grid"},
        "objective": "map",
        "controls": True,
    }
    return parse_spec({**tree, **changes})


def sampled(**changes):
    """Temporary forgetting over α sampled at random, with controls."""
    return controlled(
        space={"task.zipf_exponent": {"kind": "float", "low": 0.0, "high": 1.5}},
        base={"preset": "tiny", "set": {**SCHEDULE, "forgetting.kind": "temporary"}},
        sampler={"kind": "random"},
        **changes,
    )


def by_run(store, spec):
    return {r.info.run_id: r for r in runs_of(store, spec)}


def test_grid_runs_a_control_per_forgetting_point_and_seed_linked_by_tags(tmp_path, store):
    spec = controlled(replicates=2)
    _, study = sweep_in(tmp_path, store, spec)
    trials = study.get_trials()
    controls = [t for t in trials if attrs.is_control(t)]
    points = [t for t in trials if not attrs.is_control(t)]
    assert len(points) == 8 and len(controls) == 4  # (2 α × 2 kinds) × 2 seeds; 2 α × 2 seeds
    assert all(t.state == TrialState.COMPLETE for t in trials)
    st = status(study, spec)
    assert st.budget == 8 and st.budget_left == 0 and st.finished
    assert st.states == {"complete": 8} and st.controls == {"complete": 4}

    runs = by_run(store, spec)
    control_runs = {}
    for t in controls:
        run = runs[t.user_attrs[RUN_ATTR]]
        assert run.data.tags[schema.ROLE] == schema.ROLE_CONTROL
        assert run.data.params["forgetting.kind"] == "none"
        cfg = build_config("tiny", sets={**SCHEDULE, "forgetting.kind": "active"})
        assert float(run.data.params["model.embed_init_std"]) == cfg.reset_std != 0.02
        assert "forgetting.kind" not in t.params  # its params: the point's other axes
        control_runs[run.data.tags[schema.REPLICATE_GROUP], run.data.params["train.seed"]] = t
    for t in points:
        run = runs[t.user_attrs[RUN_ATTR]]
        if t.params["forgetting.kind"] == "none":
            assert schema.CONTROL not in run.data.tags
            continue
        paired = control_runs[run.data.tags[schema.CONTROL], run.data.params["train.seed"]]
        assert paired.params["task.zipf_exponent"] == t.params["task.zipf_exponent"]
        assert paired.user_attrs["replicate"] == t.user_attrs["replicate"]

    assert queue.fill(study, spec) == 0  # a rerun queues nothing more
    assert len(study.get_trials()) == len(trials)


def test_points_that_differ_only_in_their_schedule_share_one_control(tmp_path, store):
    spec = controlled(
        base={"preset": "tiny", "set": {**FAST, "forgetting.kind": "active"}},
        space={"forgetting.forget_every": [3, 5, 7]},
    )
    _, study = sweep_in(tmp_path, store, spec)
    controls = [t for t in study.get_trials() if attrs.is_control(t)]
    assert len(controls) == 1 and controls[0].state == TrialState.COMPLETE
    cfg = build_config("tiny", sets={**FAST, "forgetting.kind": "active"})
    assert controls[0].user_attrs[attrs.CONTROL] == control_overrides(cfg)


def test_a_sampled_point_queues_its_controls_with_its_replicates(tmp_path, store):
    spec = sampled(n_trials=4, replicates=2)
    _, study = sweep_in(tmp_path, store, spec)
    trials = study.get_trials()
    points = [t for t in trials if not attrs.is_control(t)]
    controls = [t for t in trials if attrs.is_control(t)]
    assert len(points) == 4 and len(controls) == 4  # 2 points × 2 seeds, each with its control
    assert all(t.state == TrialState.COMPLETE for t in trials)
    alphas = {t.params["task.zipf_exponent"] for t in points}
    assert {t.params["task.zipf_exponent"] for t in controls} == alphas


def test_controls_need_a_map_and_leave_the_points_hash_alone():
    objective = {"metric": "summary/dual_score", "direction": "maximize"}
    with pytest.raises(SpecError, match=r"controls: got True — controls belong to a map"):
        controlled(objective=objective, sampler={"kind": "tpe"}, n_trials=2)
    assert spec_hash(controlled(controls=False)) == spec_hash(controlled())


def test_controls_turned_on_later_continue_the_study_and_add_only_controls(tmp_path, store):
    _, study = sweep_in(tmp_path, store, controlled(controls=False))
    first = {t.number for t in study.get_trials()}
    assert len(first) == 4
    _, study = sweep_in(tmp_path, store, controlled())
    added = [t for t in study.get_trials() if t.number not in first]
    assert len(added) == 2 and all(attrs.is_control(t) for t in added)
    assert all(t.state == TrialState.COMPLETE for t in added)


def test_a_sampled_points_control_runs_before_the_next_point_is_sampled(tmp_path, store):
    """A sampler labelling by the contrast needs each control finished before it proposes again."""
    spec = sampled(n_trials=3)
    _, study = sweep_in(tmp_path, store, spec)
    started = sorted(study.get_trials(), key=lambda t: t.datetime_start)
    assert ["control" if attrs.is_control(t) else "point" for t in started] == [
        "point",
        "control",
    ] * 3
    for point, control in zip(started[::2], started[1::2], strict=True):
        assert control.params["task.zipf_exponent"] == point.params["task.zipf_exponent"]


def test_learning_curves_draw_the_controls_as_their_own_line(tmp_path, store):
    """`dpl analyze curves --controls`: the control runs join the figure, labelled `control`
    (by forgetting.kind) rather than by their own config's kind (`none`, which the plain points
    already use)."""
    from click.testing import CliRunner

    from study.cli.main import cli

    sweep_in(tmp_path, store, controlled())  # 2 α × {none, active}, 2 controls

    def curves(*extra: str) -> str:
        args = ["analyze", "curves", "ctl", "--by", "forgetting.kind", "--out", str(tmp_path)]
        env = {"MLFLOW_TRACKING_URI": store.tracking_uri}
        result = CliRunner().invoke(cli, [*args, *extra], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "4 trials" in curves()
    assert "6 trials" in curves("--controls")
    from analysis.runs import label_controls, load_trials

    trials = load_trials(store, "ctl", controls=True)
    labels = label_controls(trials, "forgetting.kind")
    assert (
        sorted(labels["forgetting.kind"].to_list())
        == ["active"] * 2 + ["control"] * 2 + ["none"] * 2
    )
    by_alpha = label_controls(trials, "task.zipf_exponent")
    assert sorted(set(by_alpha["task.zipf_exponent"])) == [
        "0.0",
        "0.0 · control",
        "1.5",
        "1.5 · control",
    ]
