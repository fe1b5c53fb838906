"""`scripts/mechanisms.py`: a forgetting point of a spec beside its control, plain training and
the mechanism controls, with `--embed-lr-scale match` scaling the `embed_lr` control towards the
forgetting run's embedding drift. Real tiny training, one process."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from tests.science.scripts import SCRIPTS, load_script

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPEC = """
name: mechanisms-tiny
seed: 42
base:
  preset: tiny
  set: {forgetting.kind: active, forgetting.forget_every: 20}
space:
  task.zipf_exponent: {kind: float, low: 0.0, high: 2.0}
sampler: {kind: random}
objective: map
n_trials: 2
"""


def table(output: str) -> dict[str, list[str]]:
    """The printed table's rows by run name (seed 42 only)."""
    rows = [line.strip("|").split("|") for line in output.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows[1:]}


def test_match_scales_the_embedding_lr_towards_the_forgetting_drift(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))  # the script imports its sibling `science`
    mechanisms = load_script("mechanisms")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    args = [str(spec), "--point", "task.zipf_exponent=1.0", "--jobs", "1"]
    result = CliRunner().invoke(
        mechanisms.mechanisms, [*args, "--out", str(tmp_path / "runs"), "--match-rounds", "2"]
    )
    assert result.exit_code == 0, result.output
    rows = table(result.output)
    assert {"forgetting", "control", "plain", "frozen", "single_reset"} <= set(rows)
    matched = [name for name in rows if name.startswith("embed_lr ×")]
    assert 1 <= len(matched) <= 2
    drift = {name: float(cells[6]) for name, cells in rows.items()}  # the `embed/drift` column
    target, last = drift["forgetting"], drift[matched[-1]]
    assert drift["frozen"] == 0.0
    assert abs(last - target) < abs(drift["control"] - target)  # closer than the unscaled control
    assert float(re.sub(".*×", "", matched[-1])) > 1


def test_a_bad_scale_exits_2_naming_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    mechanisms = load_script("mechanisms")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    args = [str(spec), "--point", "task.zipf_exponent=1.0", "--embed-lr-scale", "fast"]
    result = CliRunner().invoke(mechanisms.mechanisms, args)
    assert result.exit_code == 2
    assert "--embed-lr-scale" in result.output and "'fast'" in result.output
    assert "'match'" in result.output
