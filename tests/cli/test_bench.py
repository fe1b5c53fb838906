"""`dpl bench train`: every field of its JSON, from a real (tiny) run on this machine."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from study.cli.main import cli


def test_bench_tiny_json_emits_every_field_and_projects_the_paper_sweeps(monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[2])  # sweeps/paper
    args = ["bench", "train", "--preset", "tiny", "--steps", "3", "--evals", "1"]
    result = CliRunner().invoke(cli, [*args, "--packs", "1,2", "--pack-steps", "2", "--pack-impl", "both", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out["result"]) == {
        "device", "threads", "precision", "allocator_tuned", "step_s", "steps_per_s", "eval_s",
        "sample_8m_s", "sequences_per_s",
    }  # fmt: skip
    assert all(v is not None for v in out["result"].values())
    assert [(p["impl"], p["pack"]) for p in out["packs"]] == [("vmap", 1), ("vmap", 2), ("bmm", 1), ("bmm", 2)]  # fmt: skip
    for p in out["packs"]:
        assert set(p) == {"pack", "impl", "step_s", "trial_steps_per_s", "eval_s_per_trial", "peak_memory_mb", "vs_pack_1", "vs_alone"}  # fmt: skip
        assert p["step_s"] > 0 and p["peak_memory_mb"] > 0
    assert out["packs"][0]["vs_pack_1"] == 1.0
    names = {p["study"] for p in out["projections"]}
    assert names == {"paper-active-forgetting", "paper-temporary-forgetting", "paper-transience"}
    # tiny is not the paper's shape: nothing is projected from its timings
    assert all(p["seconds"] is None and p["note"] for p in out["projections"])


def test_a_study_of_the_benched_shape_is_projected_from_the_measured_pieces(tmp_path):
    spec = tmp_path / "three.yaml"
    spec.write_text(
        "name: three\nbase: {preset: tiny}\nspace: {task.zipf_exponent: [0, 1, 2]}\n"
        "sampler: {kind: grid}\nobjective: map\n"
    )
    args = ["bench", "train", "--preset", "tiny", "--steps", "3", "--evals", "1", "--packs", "1,2"]
    result = CliRunner().invoke(cli, [*args, "--pack-steps", "2", "--project", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    (projection,) = out["projections"]
    step_s = {p["pack"]: p["step_s"] for p in out["packs"]}  # one impl: vmap
    best = max(step_s, key=lambda k: k / step_s[k])
    assert projection["pack"] == best and projection["trials"] == 3 and projection["steps"] == 60
    want = (
        math.ceil(3 / best) * 60 * step_s[best]
        + 3 * projection["evaluations"] * out["result"]["eval_s"]
    )
    assert projection["seconds"] == pytest.approx(want)
