"""Trial config (study/config.py) and its composition from presets, files and `--set`
(study/presets.py): every mistake is a ConfigError naming the key and the value."""

from __future__ import annotations

import pytest

from study.cli.options import PRESETS
from study.config import TaskConfig, TrialConfig
from study.dotted import nest
from study.errors import ConfigError
from study.presets import build_config, parse_assignment, preset_names


def test_cli_preset_choices_are_the_preset_files():
    assert list(PRESETS) == preset_names()


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads(name):
    cfg = build_config(name)
    assert isinstance(cfg, TrialConfig)
    if isinstance(cfg.task, TaskConfig):  # the POS task's presets; another world's check theirs
        assert cfg.task.n_vocab % 2 == 0 and cfg.task.n_holdout >= 2
    else:
        assert cfg.task.output_size > 1  # another world's preset: its own part validated


def test_tiny_preset_layers_on_paper():
    cfg = build_config("tiny")
    assert (cfg.task.n_vocab, cfg.task.n_holdout, cfg.model.n_layers, cfg.train.steps) == (
        40,
        6,
        1,
        60,
    )
    assert (
        cfg.forgetting.reset_std == 1.0 and cfg.forgetting.clear_optimizer == "paper"
    )  # from paper
    assert cfg.model.d_ff == 32 and cfg.model.n_heads == 1  # 1 head: the component default


def test_defaults_are_the_papers():
    cfg = TrialConfig()
    assert (cfg.task.n_vocab, cfg.task.n_holdout, cfg.task.p_ambiguous) == (10_000, 1000, 0.1)
    assert (cfg.model.n_layers, cfg.model.d_model, cfg.model.d_ff, cfg.model.init_std) == (
        6,
        64,
        128,
        0.02,
    )
    assert (cfg.train.lr, cfg.train.batch_size, cfg.train.steps) == (5e-5, 128, 62_500)


def test_overrides_apply_in_order_preset_file_set(tmp_path):
    path = tmp_path / "over.yaml"
    path.write_text("task:\n  zipf_exponent: 0.5\n  p_ambiguous: 0.2\n")
    cfg = build_config("tiny", path, ["task.zipf_exponent=1.0001"])
    assert cfg.task.zipf_exponent == 1.0001  # --set beats the file
    assert cfg.task.p_ambiguous == 0.2  # the file beats the preset
    assert cfg.task.n_vocab == 40  # the preset beats the defaults


@pytest.mark.parametrize(
    ("assignment", "key", "value"),
    [
        ("task.zipf_exponnt=1.5", "task.zipf_exponnt", "1.5"),  # unknown key
        ("model.flavour=big", "model.flavour", "big"),  # unknown key
        ("task.zipf_exponent=-1", "task.zipf_exponent", "-1"),  # out of range
        ("train.lr=0", "train.lr", "0"),  # out of range
        ("eval.protocol=scaled", "eval.protocol", "scaled"),  # not one of the choices
        ("train.steps=many", "train.steps", "many"),  # wrong type
        ("model.causal=[1, 2]", "model.causal", "[1, 2]"),  # wrong type
        ("task.n_vocab=41", "task.n_vocab", "41"),  # odd vocabulary
    ],
)
def test_bad_values_name_key_and_value(assignment, key, value):
    with pytest.raises(ConfigError) as err:
        build_config("tiny", sets=[assignment])
    message = str(err.value)
    assert key in message and value in message, message


def test_unknown_key_lists_what_is_allowed():
    with pytest.raises(ConfigError, match="zipf_exponent") as err:
        build_config("tiny", sets=["task.zipf=1"])
    assert "unknown key 'task.zipf'" in str(err.value)


def test_unknown_section():
    with pytest.raises(ConfigError, match="optimiser"):
        build_config("tiny", sets=["optimiser.lr=0.1"])


def test_temporary_forgetting_needs_forget_until():
    with pytest.raises(ConfigError) as err:
        build_config("tiny", sets=["forgetting.kind=temporary"])
    message = str(err.value)
    assert "forget_until" in message and "temporary" in message, message
    cfg = build_config("tiny", sets=["forgetting.kind=temporary", "forgetting.forget_until=10"])
    assert cfg.forgetting.forget_until == 10


def test_heads_must_divide_width():
    with pytest.raises(ConfigError, match="n_heads=3"):
        build_config("tiny", sets=["model.n_heads=3"])


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task:\n  zipf: 2\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*task\.zipf"):
        build_config("tiny", bad, source=str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        build_config("tiny", tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        build_config("tiny", broken)
    twice = tmp_path / "twice.yaml"  # PyYAML alone would keep the second block and drop the first
    twice.write_text("task:\n  n_vocab: 100\nmodel:\n  n_layers: 1\ntask:\n  zipf_exponent: 0\n")
    with pytest.raises(ConfigError, match=r"(?s)twice\.yaml.*key 'task' appears twice.*line 5"):
        build_config("tiny", twice)


def test_unknown_preset():
    with pytest.raises(ConfigError, match=r"'huge'.*tiny"):
        build_config("huge")


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("task.zipf_exponent=1.5", "task.zipf_exponent", 1.5),
        ("train.steps=100", "train.steps", 100),
        ("model.causal=true", "model.causal", True),
        ("forgetting.kind=active", "forgetting.kind", "active"),
        ("forgetting.forget_until=null", "forgetting.forget_until", None),
        ("forgetting.forget_until=", "forgetting.forget_until", None),
        (" train.lr =1.0e-3", "train.lr", 0.001),
        ("task.name=a=b", "task.name", "a=b"),  # only the first '=' splits
    ],
)
def test_set_values_are_read_as_yaml(text, key, value):
    assert parse_assignment(text) == (key, value)


def test_set_exponent_without_a_dot_still_becomes_a_float():
    """YAML 1.1 reads `1e-3` as a string; the typed config still takes it as a number."""
    assert parse_assignment("train.lr=1e-3") == ("train.lr", "1e-3")
    assert build_config("tiny", sets=["train.lr=1e-3"]).train.lr == 0.001


@pytest.mark.parametrize("text", ["task.zipf_exponent", "=3", "task.zipf_exponent: 3"])
def test_malformed_set(text):
    with pytest.raises(ConfigError, match="dotted.key=value"):
        parse_assignment(text)


def test_set_into_a_value_is_refused():
    with pytest.raises(ConfigError, match="task.n_vocab"):
        build_config("tiny", sets=["task.n_vocab=40", "task.n_vocab.x=1"])


def test_config_is_frozen_and_flattens_to_dotted_keys(tiny_cfg):
    with pytest.raises(ValueError, match="frozen"):
        tiny_cfg.task.n_vocab = 50
    flat = tiny_cfg.flat()
    assert flat["task.zipf_exponent"] == 1.5 and flat["eval.thresholds.icl"] == 0.5
    assert flat["forgetting.reset_std"] == 1.0
    assert all("." in key for key in flat)
    assert TrialConfig.model_validate(nest(flat)) == tiny_cfg


@pytest.mark.parametrize(
    "kind, inert",
    [
        ("none", {"forget_every", "forget_until", "reset_std", "clear_optimizer"}),
        ("active", {"forget_until"}),
        ("temporary", set()),
    ],
)
def test_inert_keys_are_left_out_of_the_logged_params(kind, inert):
    """A param that does nothing in a trial is not logged as if it acted: a phase fit over k
    or N must not pool runs in which the value had no effect."""
    sets = {"forgetting.kind": kind} | (
        {"forgetting.forget_until": 50} if kind == "temporary" else {}
    )
    cfg = build_config("tiny", sets=sets)
    assert cfg.inert_keys() == {f"forgetting.{key}" for key in inert}
    assert set(cfg.flat()) - set(cfg.effective()) == cfg.inert_keys()
