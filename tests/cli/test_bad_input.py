"""Bad input, table-driven: every malformed spec or option exits 2 with a message that names the
key (or option), before anything is written to either store."""

from __future__ import annotations

import contextlib
import copy
import os
import sqlite3

import pytest
import yaml
from click.testing import CliRunner

from study.cli.main import cli

GOOD = {
    "name": "bad-input",
    "base": {"preset": "tiny", "set": {"train.steps": 4}},
    "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.kind": ["none", "active"]},
    "sampler": {"kind": "grid"},
}


def _spec(**changes):
    tree = copy.deepcopy(GOOD)
    for dotted, value in changes.items():
        node, *path, last = [tree, *dotted.split("/")]
        for part in path:
            node = node[part]
        if value is _DROP:
            del node[last]
        else:
            node[last] = value
    return yaml.safe_dump(tree)


_DROP = object()

SPECS = [  # (id, spec text, what the message must name)
    ("unknown-key", _spec(n_trails=5), "n_trails"),
    ("name", _spec(name="bad name"), "name"),
    ("empty-space", _spec(space={}), "space"),
    ("space-unknown-config-key", _spec(space={"task.zipf": [1.0]}), "task.zipf"),
    ("space-value-out-of-range", _spec(space={"task.zipf_exponent": [-1.0]}), "task.zipf_exponent"),
    ("sampler-kind", _spec(sampler={"kind": "annealing"}), "sampler"),
    ("n-trials-zero", _spec(n_trials=0), "n_trials"),
    ("replicates-zero", _spec(replicates=0), "replicates"),
    ("preset", _spec(**{"base/preset": "huge"}), "preset"),
    ("base-set-unknown", _spec(**{"base/set": {"train.stepz": 5}}), "train.stepz"),
    ("base-set-bad-value", _spec(**{"base/set": {"train.lr": -1}}), "train.lr"),
    ("objective-word", _spec(objective="maximise"), "objective"),
    (
        "objective-direction",
        _spec(
            objective=[{"metric": "summary/dual_score", "direction": "up"}],
            sampler={"kind": "random"},
            n_trials=2,
        ),
        "direction",
    ),
    ("timeout-negative", _spec(trial_timeout_s=-1), "trial_timeout_s"),
    ("seed-negative", _spec(seed=-1), "seed"),
    (
        "controls-without-map",
        _spec(
            controls=True,
            objective=[{"metric": "summary/dual_score", "direction": "maximize"}],
            sampler={"kind": "random"},
            n_trials=2,
        ),
        "controls",
    ),
    (
        "objective-unknown-metric",
        _spec(
            objective=[{"metric": "icl.structurall", "direction": "maximize"}],
            sampler={"kind": "random"},
            n_trials=2,
        ),
        ("objective[0].metric", "'icl.structurall'", "closest: icl/structural"),
    ),
    (
        "second-objective-unknown-metric",
        _spec(
            objective=[
                {"metric": "acc/val", "direction": "maximize"},
                {"metric": "iwl/heads", "direction": "minimize"},
            ],
            sampler={"kind": "random"},
            n_trials=2,
        ),
        ("objective[1].metric", "'iwl/heads'", "iwl/head"),
    ),
    (
        "pruner-unknown-metric",
        _spec(
            objective=[{"metric": "acc/val", "direction": "maximize"}],
            pruner={"kind": "median", "metric": "acc.vall"},
            sampler={"kind": "random"},
            n_trials=2,
        ),
        ("pruner.metric", "'acc.vall'", "acc/val"),
    ),
    (
        "pruner-summary-only-metric",  # a feature of the whole curve: no evaluation reports it
        _spec(
            objective=[{"metric": "summary/transience", "direction": "maximize"}],
            pruner={"kind": "hyperband", "metric": "summary/transience"},
            sampler={"kind": "random"},
            n_trials=2,
        ),
        ("pruner.metric", "'summary/transience'"),
    ),
    ("empty-file", "", ("name: missing", "space: missing")),
    ("yaml-syntax", "name: [unclosed\n", "bad.yaml"),
    ("yaml-repeated-key", "name: a\n" + _spec(), "name"),
    ("not-a-mapping", "- just\n- a list\n", "bad.yaml"),
]

OPTIONS = [  # (id, extra arguments of `dpl sweep run`, what the message must name)
    ("pack-zero", ["--pack", "0"], "--pack"),
    ("pack-word", ["--pack", "many"], "--pack"),
    ("workers-zero", ["--workers", "0"], "--workers"),
    ("n-trials-zero", ["--n-trials", "0"], "--n-trials"),
    ("device", ["--device", "tpu"], "--device"),
    ("heartbeat-zero", ["--heartbeat", "0"], "--heartbeat"),
    ("max-failures-negative", ["--max-failures", "-1"], "--max-failures"),
    ("storage-scheme", ["--storage", "ftp://user:hunter2@host/db"], "--storage"),
    ("tracking-uri-scheme", ["--tracking-uri", "ftp://user:hunter2@host/x"], "--tracking-uri"),
]

OTHER = [  # (id, full command line after `dpl`, what the message must name)
    ("slurm-time", ["sweep", "slurm", "bad.yaml", "--workers", "2", "--time", "soon"], "--time"),
    ("slurm-workers", ["sweep", "slurm", "bad.yaml", "--workers", "0"], "--workers"),
    (
        "slurm-partition",
        ["sweep", "slurm", "bad.yaml", "--workers", "2", "--partition", "a;rm"],
        "--partition",
    ),
    ("worker-no-study", ["sweep", "worker", "bad.yaml"], "dpl sweep create"),
    ("missing-spec-file", ["sweep", "run", "nowhere.yaml"], "nowhere.yaml"),
]


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DPL_OPTUNA_STORAGE", raising=False)
    (tmp_path / "bad.yaml").write_text(_spec())
    return tmp_path


def _nothing_stored(root) -> None:
    journal = root / "mlruns" / "optuna.journal"
    assert not journal.exists() or journal.stat().st_size == 0, "a study was written"
    db = root / "mlruns" / "mlflow.db"
    if db.exists():
        with sqlite3.connect(db) as con:
            assert con.execute("select count(*) from runs").fetchone() == (0,), "a run was written"


def _check(result, names: str | tuple[str, ...]) -> None:
    assert result.exit_code == 2, result.output
    for name in (names,) if isinstance(names, str) else names:
        assert name in result.output, result.output
    assert "Traceback" not in result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize("text,names", [c[1:] for c in SPECS], ids=[c[0] for c in SPECS])
@pytest.mark.parametrize("command", ["run", "create"])
def test_malformed_spec_exits_2_naming_the_key(here, command, text, names):
    (here / "bad.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["sweep", command, "bad.yaml"])
    _check(result, names)
    _nothing_stored(here)


@pytest.mark.parametrize("args,names", [c[1:] for c in OPTIONS], ids=[c[0] for c in OPTIONS])
def test_malformed_option_exits_2_naming_it(here, args, names):
    result = CliRunner().invoke(cli, ["sweep", "run", "bad.yaml", *args])
    _check(result, names)
    _nothing_stored(here)


@pytest.mark.parametrize("argv,names", [c[1:] for c in OTHER], ids=[c[0] for c in OTHER])
def test_other_bad_commands_exit_2(here, argv, names):
    _check(CliRunner().invoke(cli, argv), names)
    _nothing_stored(here)


@contextlib.contextmanager
def _unreadable(path):
    """`path` with no read permission for this process. Root reads any file, so as root the
    block runs with the effective uid of `nobody` (the modules it needs are imported first)."""
    path.chmod(0)
    as_root = os.geteuid() == 0
    if as_root:
        os.seteuid(NOBODY)
    try:
        yield
    finally:
        if as_root:
            os.seteuid(0)
        path.chmod(0o644)


NOBODY = 65534
FILES = [  # (id, how bad.yaml is made unreadable as a spec, what the message must name)
    ("binary", "binary", ("bad.yaml", "not UTF-8")),
    ("directory", "directory", ("bad.yaml", "directory")),
    ("no-permission", "no-permission", ("bad.yaml", "ermission denied")),
]


@pytest.mark.parametrize("how,names", [c[1:] for c in FILES], ids=[c[0] for c in FILES])
@pytest.mark.parametrize("command", ["run", "create", "worker"])
def test_unreadable_spec_exits_2_naming_the_file_and_why(here, command, how, names):
    spec = here / "bad.yaml"
    argv = ["sweep", command, "bad.yaml"]
    if how == "binary":
        spec.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe name: x")
        result = CliRunner().invoke(cli, argv)
    elif how == "directory":
        spec.unlink()
        spec.mkdir()
        result = CliRunner().invoke(cli, argv)
    else:
        CliRunner().invoke(cli, ["sweep", command, "nowhere.yaml"])  # its imports, as root
        with _unreadable(spec):
            result = CliRunner().invoke(cli, argv)
    _check(result, names)
    _nothing_stored(here)
