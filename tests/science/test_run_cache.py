"""`scripts/science.py` caches each run under a name of its config *and* the code that trains it:
a change to the source of `study/` names a new run instead of reading back an old result."""

from __future__ import annotations

import shutil
from pathlib import Path

import study
from study.controls import control_overrides, mechanism_overrides
from study.presets import build_config
from tests.science.scripts import load_script


def test_a_change_to_the_training_code_changes_the_cache_name(tmp_path):
    science = load_script("science")
    source = tmp_path / "study"
    shutil.copytree(
        Path(study.__file__).parent, source, ignore=shutil.ignore_patterns("__pycache__")
    )
    cfg = build_config("tiny")
    before = science.run_key(cfg, code=science.code_digest(source))
    assert science.run_key(cfg, code=science.code_digest(source)) == before  # deterministic
    train = source / "trial" / "train.py"
    train.write_text(train.read_text() + "\n# a change\n")
    after = science.run_key(cfg, code=science.code_digest(source))
    assert after != before
    # the same code and another config: another name too; the default is today's study/
    assert science.run_key(build_config("tiny", sets={"train.seed": 1}), code=after) != after
    assert science.run_key(cfg) == science.run_key(cfg, code=science.code_digest())


def test_a_mechanism_control_is_named_for_what_it_is():
    science = load_script("science")
    run = build_config("tiny", sets={"forgetting.kind": "active", "forgetting.forget_every": 20})
    names = {
        name: science.run_key(build_config("tiny", sets=overrides), code="x").split("_a")[0]
        for name, overrides in {
            "forgetting": {"forgetting.kind": "active", "forgetting.forget_every": 20},
            "control": control_overrides(run),
            "frozen": mechanism_overrides(run, "frozen"),
            "embed_lr": mechanism_overrides(run, "embed_lr", 4.0),
            "single_reset": {
                "forgetting.forget_every": 20,
                **mechanism_overrides(run, "single_reset"),
            },
        }.items()
    }
    assert names == {
        "forgetting": "active",
        "control": "control",
        "frozen": "frozen",
        "embed_lr": "embedlr4",
        "single_reset": "single_reset",
    }
