"""The task part of a config (study/task_config.py): `task.kind` picks the world, `pos` when
unset; a preset's task block belongs to its world; bad kinds and keys name themselves; regime
thresholds left unset are the world's chance levels."""

from __future__ import annotations

import pytest

from study.config import ArTaskConfig, TaskConfig, Thresholds, TrialConfig
from study.errors import ConfigError
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.presets import build_config
from study.task_config import TASK_KINDS


def test_a_config_without_kind_is_the_pos_task_as_before():
    cfg = build_config("tiny")
    assert isinstance(cfg.task, TaskConfig) and cfg.task.kind == "pos"
    assert cfg.flat()["task.kind"] == "pos" and cfg.task.n_vocab == 40
    again = TrialConfig.model_validate({"task": {"n_vocab": 40, "n_holdout": 6}})
    assert again.task == TaskConfig(n_vocab=40, n_holdout=6)
    assert TrialConfig.model_validate(cfg.model_dump()) == cfg  # a dumped config round-trips


def test_kind_picks_the_world_and_the_preset_task_block_steps_aside():
    cfg = build_config("tiny", sets=["task.kind=ar"])
    assert isinstance(cfg.task, ArTaskConfig)
    assert cfg.task == ArTaskConfig()  # tiny's n_vocab / n_holdout belong to the POS task
    assert cfg.model.d_model == 16 and cfg.train.steps == 60  # the rest of tiny still applies
    assert build_config("tiny", sets={"task.kind": "ar", "task.n_items": 50}).task.n_items == 50


@pytest.mark.parametrize(
    ("sets", "key", "says"),
    [
        (["task.kind=chess"], "task.kind", "'pos', 'ar', 'bursty'"),
        (["task.kind=ar", "task.n_vocab=40"], "task.n_vocab", "n_items"),
        (["task.bursty_ratio=0.5"], "task.bursty_ratio", "n_vocab"),
        (["task.kind=ar", "task.bursty_ratio=1.5"], "task.bursty_ratio", "1"),
        (["task.kind=ar", "eval.protocol=matched"], "eval.protocol", "allowed: paper"),
    ],
)
def test_bad_task_values_name_key_value_and_what_is_allowed(sets, key, says):
    with pytest.raises(ConfigError) as err:
        build_config("tiny", sets=sets)
    message = str(err.value)
    assert key in message and says in message, message


def test_unknown_kind_is_reported_at_task_kind():
    with pytest.raises(ConfigError) as err:
        build_config("tiny", sets=["task.kind=chess"])
    assert (err.value.key, err.value.value) == ("task.kind", "chess")


def test_thresholds_left_unset_are_the_worlds_chance_levels():
    pos = build_config("tiny")
    assert (pos.eval.thresholds.icl, pos.eval.thresholds.iwl) == (0.5, 0.5)  # as before
    ar = build_config("tiny", sets={"task.kind": "ar", "task.n_items": 400})
    chance = ar.task.chance()
    assert chance[ICL_STRUCTURAL] == 0.5 and chance[IWL_HEAD] == 1 / 400
    assert (ar.eval.thresholds.icl, ar.eval.thresholds.iwl) == (0.5, 1 / 400)
    assert ar.flat()["eval.thresholds.iwl"] == 1 / 400  # what the run logs
    kept = build_config("tiny", sets={"task.kind": "ar", "eval.thresholds.iwl": 0.3})
    assert kept.eval.thresholds.iwl == 0.3  # a threshold the config sets is kept
    assert TrialConfig.model_validate(ar.model_dump()) == ar
    assert Thresholds().iwl == 0.5  # alone, the POS defaults


def test_every_kind_has_a_world():
    from study.trial.worlds import WORLDS, World

    assert tuple(WORLDS) == TASK_KINDS
    for kind, world in WORLDS.items():
        assert issubclass(world, World) and world.kind == kind
        fed = {m for metrics in world.feeds.values() for m in metrics}
        assert {ICL_STRUCTURAL.replace("structural", "structural_paper"), IWL_HEAD} <= fed
        assert set(world.feeds) == set(world.eval_sets)


def test_task_kind_is_a_sweep_axis_like_any_other():
    from study.errors import SpecError
    from study.sweep.spec import parse_spec

    tree = {
        "name": "worlds",
        "base": {"preset": "tiny", "set": {"train.steps": 20}},
        "space": {"task.kind": ["pos", "ar", "bursty"], "task.zipf_exponent": [0.0, 1.0]},
        "sampler": {"kind": "grid"},
    }
    assert parse_spec(tree).space["task.kind"].kind == "grid"
    clash = {**tree, "space": {"task.kind": ["pos", "ar"], "task.n_vocab": [40, 60]}}
    with pytest.raises(SpecError, match="task.n_vocab"):  # a POS key is no AR key
        parse_spec(clash)
