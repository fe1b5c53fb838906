"""`dpl bench train`: every field of its JSON, from a real (tiny) run on this machine."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from study.cli.main import cli

RESULT_FIELDS = {
    "device",
    "threads",
    "precision",
    "allocator_tuned",
    "step_s",
    "steps_per_s",
    "eval_s",
    "sample_8m_s",
    "sequences_per_s",
}
PACK_FIELDS = {
    "pack",
    "impl",
    "step_s",
    "trial_steps_per_s",
    "eval_s_per_trial",
    "peak_memory_mb",
    "vs_pack_1",
    "vs_alone",
    "step_ops",
    "step_syncs",
    "eval_ops",
    "eval_syncs",
}


def test_bench_tiny_json_emits_every_field_and_projects_the_paper_sweeps(monkeypatch):
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[2])  # sweeps/paper
    args = ["bench", "train", "--preset", "tiny", "--steps", "3", "--evals", "1"]
    packs = ["--packs", "1,2", "--pack-steps", "2", "--pack-impl", "both"]
    result = CliRunner().invoke(cli, [*args, *packs, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out["result"]) == RESULT_FIELDS
    assert all(v is not None for v in out["result"].values())
    measured = [(p["impl"], p["pack"]) for p in out["packs"]]
    assert measured == [("vmap", 1), ("vmap", 2), ("bmm", 1), ("bmm", 2)]
    for p in out["packs"]:
        assert set(p) == PACK_FIELDS
        assert p["step_s"] > 0 and p["peak_memory_mb"] > 0
        assert p["step_ops"] > 0 and p["eval_ops"] > 0
    bmm = [p for p in out["packs"] if p["impl"] == "bmm"]
    assert [p["step_syncs"] for p in bmm] == [0, 0]  # no host sync in a training step
    assert [p["eval_syncs"] for p in bmm] == [1, 1]  # one host read per evaluation of the pack
    assert out["packs"][0]["vs_pack_1"] == 1.0
    names = {p["study"] for p in out["projections"]}
    from study.sweep.spec import load_spec

    paper = {load_spec(p).name for p in __import__("glob").glob("sweeps/paper/*.yaml")}
    assert names == paper and "paper-transience" in names
    # tiny is not the paper's shape: nothing is projected from its timings
    assert all(p["seconds"] is None and p["note"] for p in out["projections"])


def test_bench_prints_each_pack_row_with_its_ops_and_syncs():
    args = ["bench", "train", "--preset", "tiny", "--steps", "2", "--evals", "1"]
    runner = CliRunner()
    with runner.isolated_filesystem():  # no sweeps/paper here: nothing to project
        result = runner.invoke(cli, [*args, "--packs", "1,2", "--pack-steps", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("pack  impl"))
    assert "ops/step" in lines[header] and "syncs/eval/trial" in lines[header]
    rows = [line.split() for line in lines[header + 1 : header + 3]]
    assert [(r[0], r[1]) for r in rows] == [("1", "bmm"), ("2", "bmm")]
    assert [r[-3] for r in rows] == ["0", "0"]  # syncs per step


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
    step_s = {p["pack"]: p["step_s"] for p in out["packs"]}  # one impl: bmm, the default
    assert {p["impl"] for p in out["packs"]} == {"bmm"}
    best = max(step_s, key=lambda k: k / step_s[k])
    assert projection["pack"] == best and projection["trials"] == 3 and projection["steps"] == 60
    want = (
        math.ceil(3 / best) * 60 * step_s[best]
        + 3 * projection["evaluations"] * out["result"]["eval_s"]
    )
    assert projection["seconds"] == pytest.approx(want, rel=1e-5)  # reported to 6 digits


def test_bench_of_another_world_is_a_usage_error():
    """`dpl bench` times the POS task's step, evaluation and packs: another world exits 2 and
    says so, without a traceback."""
    result = CliRunner().invoke(cli, ["bench", "train", "--preset", "ar_small", "--steps", "1"])
    assert result.exit_code == 2, result.output
    assert "task.kind" in result.output and "'ar'" in result.output
    assert "Traceback" not in result.output
