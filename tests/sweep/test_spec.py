"""study/sweep/spec.py: every kind of spec mistake exits 2 naming the key; shipped specs validate."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from study.cli.main import cli
from study.errors import SpecError
from study.sweep.points import grid_points, replicate_group
from study.sweep.spec import load_spec, parse_spec, spec_hash

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "sweeps").rglob("*.yaml"))

GOOD = {
    "name": "demo",
    "base": {"preset": "tiny", "set": {"train.steps": 20}},
    "space": {
        "task.zipf_exponent": [0, 1.5],
        "forgetting.kind": {"kind": "categorical", "choices": ["none", "active"]},
    },
    "sampler": {"kind": "grid"},
}


def _with(**changes):
    tree = copy.deepcopy(GOOD)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


# (spec, text the message must contain)
MISTAKES = {
    "unknown top-level key": (_with(n_trial=3), "n_trial"),
    "unknown sampler": (_with(sampler={"kind": "annealing"}), "sampler"),
    "unknown sampler option": (
        _with(sampler={"kind": "tpe", "options": {"n_startup": 3}}, n_trials=4),
        "sampler.options.n_startup",
    ),
    "bad sampler option value": (
        _with(sampler={"kind": "tpe", "options": {"n_startup_trials": -1}}, n_trials=4),
        "sampler.options.n_startup_trials",
    ),
    "not a config key": (_with(**{"space/task.zipf": [1.0]}), "space.task.zipf"),
    "bad axis value": (_with(**{"space/task.zipf_exponent": [-1, 1]}), "space.task.zipf_exponent"),
    "range without step on a grid": (
        _with(**{"space/train.lr": {"kind": "float", "low": 1e-4, "high": 1e-3}}),
        "space.train.lr",
    ),
    "unknown range key": (
        _with(**{"space/train.lr": {"kind": "float", "low": 1e-4, "hi": 1e-3}}),
        "space.train.lr.hi",
    ),
    "high below low": (
        _with(**{"space/train.steps": {"kind": "int", "low": 30, "high": 10}}),
        "space.train.steps",
    ),
    "bad objective": (_with(objective="mapp"), "objective"),
    "bad direction": (
        _with(
            objective={"metric": "summary/dual_score", "direction": "up"},
            sampler={"kind": "tpe"},
            n_trials=2,
        ),
        "objective.direction",
    ),
    "map with tpe": (_with(sampler={"kind": "tpe"}, n_trials=4), "sampler.kind"),
    "unknown preset": (_with(base={"preset": "huge"}), "base.preset"),
    "bad base override": (_with(base={"preset": "tiny", "set": {"train.stpes": 3}}), "train.stpes"),
    "budget above grid": (_with(n_trials=5), "n_trials"),
    "no budget for random": (_with(sampler={"kind": "random"}), "n_trials"),
    "budget not multiple of replicates": (
        _with(sampler={"kind": "random"}, n_trials=5, replicates=2),
        "n_trials",
    ),
    "seed in space": (_with(**{"space/train.seed": [1, 2]}), "space.train.seed"),
    "pruner on a map": (
        _with(pruner={"kind": "median", "metric": "icl/structural"}),
        "pruner.kind",
    ),
    "pruner without metric": (_with(pruner={"kind": "median"}), "pruner.metric"),
    "missing sampler": ({k: v for k, v in GOOD.items() if k != "sampler"}, "sampler"),
    "bad name": (_with(name="has space"), "name"),
    "bad timeout": (_with(trial_timeout_s=0), "trial_timeout_s"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_each_mistake_exits_2_naming_file_and_key(case, tmp_path):
    tree, key = MISTAKES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(tree))
    result = CliRunner().invoke(
        cli, ["sweep", "run", str(path), "--storage", str(tmp_path / "j.journal")]
    )
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and key in result.output, result.output
    assert "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["sweep", "run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "nope.yaml" in result.output


def test_good_spec_shorthands_and_roundtrip():
    spec = parse_spec(copy.deepcopy(GOOD))
    assert spec.is_map and spec.budget == 4 and spec.experiment_name == "demo"
    assert spec.space["task.zipf_exponent"].kind == "grid"  # a bare list is a grid axis
    again = type(spec).model_validate(spec.to_json())  # how a study stores and reloads it
    assert again == spec and spec_hash(again) == spec_hash(spec)
    assert spec_hash(parse_spec(_with(description="reworded"))) == spec_hash(spec)
    assert spec_hash(parse_spec(_with(seed=1))) != spec_hash(spec)


def test_yaml_exponent_strings_become_numbers():
    spec = parse_spec(_with(**{"space/train.lr": ["1e-4", "2.5e-4"]}))
    assert spec.space["train.lr"].values == [1e-4, 2.5e-4]


def test_grid_points_cover_the_product_once_in_a_seeded_order():
    spec = parse_spec(
        _with(
            **{"space/forgetting.forget_every": {"kind": "int", "low": 10, "high": 30, "step": 10}}
        )
    )
    points = grid_points(spec)
    assert len(points) == 2 * 2 * 3 == spec.grid_size()
    assert len({replicate_group(p) for p in points}) == len(points)
    assert points == grid_points(spec)  # same seed, same order


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_specs_validate(path):
    spec = load_spec(path)
    assert spec.budget >= 1


def test_shipped_specs_exist():
    names = {str(p.relative_to(REPO)) for p in SHIPPED}
    expected = {
        "quickstart.yaml",
        "grid_quickstart.yaml",
        "optimize_dual.yaml",
        "paper/transience.yaml",
        "paper/active_forgetting.yaml",
        "paper/temporary_forgetting.yaml",
    }
    assert {f"sweeps/{n}" for n in expected} <= names


def test_spec_error_is_a_config_error():
    with pytest.raises(SpecError):
        parse_spec(_with(seed=-1), source="x.yaml")


def test_a_spec_sweeps_the_axes_of_its_presets_world():
    """The keys a space may vary are those of the world the base chooses (its preset or
    `task.kind`), not only the POS task's; another world's key fails, naming it."""
    ar = {
        "name": "ar",
        "base": {"preset": "ar_small"},
        "space": {"task.bursty_ratio": [0, 1]},
        "sampler": {"kind": "grid"},
    }
    assert parse_spec(ar).grid_size() == 2
    on_pos = {**ar, "base": {"preset": "ar_small", "set": {"task.kind": "pos"}}}
    with pytest.raises(SpecError) as err:
        parse_spec(on_pos, source="x.yaml")
    assert err.value.key == "space.task.bursty_ratio" and "task.n_vocab" in str(err.value)
    pos_key = {**ar, "space": {"task.n_vocab": [40, 80]}}
    with pytest.raises(SpecError) as err:
        parse_spec(pos_key, source="x.yaml")
    assert err.value.key == "space.task.n_vocab" and "n_items" in str(err.value)
