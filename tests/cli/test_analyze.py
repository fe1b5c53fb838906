"""`dpl analyze phase|curves|table` on a study in a real MLflow store, and the end-of-sweep hook."""

from __future__ import annotations

import json
import sys

import polars as pl
import pytest
from click.testing import CliRunner

from benchmarks.synthetic import write_synthetic_study
from study.cli.main import cli
from study.cli.sweep import _after_sweep
from study.sweep.spec import parse_spec
from study.tracking.store import Store

STUDY = "alpha_n"
AXES = ["--x", "task.zipf_exponent", "--y", "forgetting.forget_until"]
TIME_AXES = ["--x", "task.zipf_exponent", "--y", "step"]


@pytest.fixture(scope="module")
def study_store(tmp_path_factory, new_store) -> Store:
    store = new_store(tmp_path_factory.mktemp("cli") / "mlruns")
    write_synthetic_study(store, STUDY, n_trials=30, n_steps=6, seed=2)
    return store


def _dpl(store: Store, *args: str):
    return CliRunner().invoke(
        cli, list(args), env={"MLFLOW_TRACKING_URI": store.tracking_uri}, catch_exceptions=False
    )


def test_phase_writes_files_prints_summary_and_logs_artifacts(study_store, tmp_path):
    out = tmp_path / "phase"
    result = _dpl(study_store, "analyze", "phase", STUDY, *AXES, "--out", str(out))
    assert result.exit_code == 0, result.output
    for name in (
        "phase.png",
        "phase.svg",
        "maps.png",
        "maps.svg",
        "boundaries.csv",
        "grid.parquet",
        "grid.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    assert "regimes (protocol headline" in result.output and "boundary " in result.output
    grid = pl.read_parquet(out / "grid.parquet")
    assert {"task.zipf_exponent", "forgetting.forget_until", "regime", "p_max", "agreement"} <= set(
        grid.columns
    )
    parent = result.output.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    logged = {a.path for a in study_store.client().list_artifacts(parent, "analysis/phase")}
    assert "analysis/phase/phase.png" in logged


def test_phase_protocol_and_thresholds(study_store, tmp_path):
    result = _dpl(
        study_store,
        "analyze",
        "phase",
        STUDY,
        *AXES,
        "--protocol",
        "matched",
        "--thresholds",
        "icl=0.4",
        "--out",
        str(tmp_path),
        "--no-log",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert '"regimes"' in result.output and '"parent_run_id": null' in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["analyze", "phase", STUDY, "--x", "task.zipf_exponent", "--y", "task.n_vocab"],
            "was not varied",
        ),
        (["analyze", "phase", "nope", *AXES], "no study, experiment or parent run named 'nope'"),
        (["analyze", "phase", STUDY, *AXES, "--thresholds", "icl=2"], "--thresholds"),
        (
            ["analyze", "phase", STUDY, *AXES, "--at", "task.n_vocab=7"],
            "no finished trial has task.n_vocab = 7",
        ),
        (["analyze", "table", STUDY, "--out", "trials.txt"], "expected a .csv or .parquet"),
        (["analyze", "phase", STUDY, *AXES, "--at-step", "-1"], "-1 is not in the range x>=0"),
        (
            ["analyze", "phase", STUDY, *TIME_AXES, "--at-step", "300"],
            "--at-step 300 with --y step: the time axis classifies every trial at every step",
        ),
        (
            ["analyze", "phase", STUDY, *AXES, "--at-step", "50"],
            "--at-step 50: no trial has an evaluation at or before step 50 (the first is at step 100)",
        ),
        (["analyze", "phase", STUDY, "--x", "step", "--y", "task.zipf_exponent"], "--x step"),
    ],
)
def test_usage_errors_exit_2(study_store, args, message):
    result = _dpl(study_store, *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_phase_over_training_time(study_store, tmp_path):
    """`--y step`: every trial at each of its 6 evaluations, a map over α × step, the change
    steps as a table (text) and as rows (--json), files beside the usual ones."""
    out = tmp_path / "time"
    text = _dpl(study_store, "analyze", "phase", STUDY, *TIME_AXES, "--out", str(out), "--no-log")
    assert text.exit_code == 0, text.output
    assert "time axis: 180 classified evaluations" in text.output and "step_low" in text.output
    assert "at every evaluation of each trial" in (out / "phase.svg").read_text()  # the caption
    steps = pl.read_csv(out / "evaluations.csv").get_column("step")
    assert steps.len() == 180 and steps.unique().sort().to_list() == [100, 200, 300, 400, 500, 600]
    table = pl.read_csv(out / "transitions.csv")
    assert table.columns == ["task.zipf_exponent", "from", "to", "step", "step_low", "step_high"]
    assert table.height and table["step"].is_between(100, 600).all()
    result = _dpl(study_store, "analyze", "phase", STUDY, *TIME_AXES, "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    rows = pl.DataFrame(json.loads(result.output)["transitions"])
    assert rows.select("from", "to").equals(table.select("from", "to"))
    # --json gives floats to 6 significant digits (study.cli.common.JSON_SIGNIFICANT)
    assert rows["step"].to_numpy() == pytest.approx(table["step"].to_numpy(), rel=1e-5)


def test_phase_at_step(study_store, tmp_path):
    """`--at-step` at the final step reproduces every trial's stored regime; earlier, the
    trials stand where they stood then, and the caption says so."""
    regimes = {}
    for name, extra in (
        ("stored", []),
        ("end", ["--at-step", "600"]),
        ("early", ["--at-step", "250"]),
    ):
        out = tmp_path / name
        result = _dpl(
            study_store, "analyze", "phase", STUDY, *AXES, *extra, "--out", str(out), "--no-log"
        )
        assert result.exit_code == 0, result.output
        trials = pl.read_csv(out / "trials.csv").sort("run_id")
        regimes[name] = trials.select("run_id", "regime")
    assert regimes["end"].equals(regimes["stored"])
    assert (trials["step"] == 200).all() and not regimes["early"].equals(regimes["stored"])
    rule = "at each trial's last evaluation at or before step 250"
    assert f"classified {rule}" in (tmp_path / "early" / "summary.txt").read_text()
    assert rule in (tmp_path / "early" / "phase.svg").read_text()  # the caption


def test_table_prints_and_writes(study_store, tmp_path):
    shown = _dpl(study_store, "analyze", "table", STUDY)
    assert (
        shown.exit_code == 0 and "task.zipf_exponent" in shown.output and "regime" in shown.output
    )
    for suffix in (".csv", ".parquet"):
        path = tmp_path / f"trials{suffix}"
        assert _dpl(study_store, "analyze", "table", STUDY, "--out", str(path)).exit_code == 0
        frame = pl.read_csv(path) if suffix == ".csv" else pl.read_parquet(path)
        assert frame.height == 30


def test_curves_writes_figures(study_store, tmp_path):
    result = _dpl(
        study_store,
        "analyze",
        "curves",
        STUDY,
        "--by",
        "task.zipf_exponent",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "learning_curves.png").stat().st_size > 0
    assert (tmp_path / "accuracy_by_frequency.svg").stat().st_size > 0


def test_sweep_hook_draws_the_phase_diagram_of_a_map_spec(study_store, tmp_path, monkeypatch):
    spec = parse_spec(
        {
            "name": STUDY,
            "base": {"preset": "tiny"},
            "space": {
                "task.zipf_exponent": {"kind": "float", "low": 0.0, "high": 2.0},
                "forgetting.forget_until": [100, 300, 1000, 3000, 10000],  # a grid: scale guessed
            },
            "sampler": {"kind": "sobol"},
            "objective": "map",
            "n_trials": 30,
        }
    )
    monkeypatch.chdir(tmp_path)
    _after_sweep(spec, None, study_store)
    assert (
        tmp_path / "figures" / STUDY / "zipf_exponent__forget_until" / "phase.png"
    ).stat().st_size > 0


def test_a_study_sampled_in_3d_also_gets_its_map_in_slices_of_the_third_axis(tmp_path, new_store):
    store = new_store(tmp_path / "mlruns")
    axes = {
        "task.zipf_exponent": (0.0, 2.0, False),
        "forgetting.forget_until": (100.0, 10_000.0, True),
        "task.p_ambiguous": (0.0, 0.5, False),
    }
    write_synthetic_study(store, "cube", n_trials=30, n_steps=4, axes=axes, seed=3)
    out = tmp_path / "phase"
    result = _dpl(store, "analyze", "phase", "cube", *AXES, "--out", str(out), "--no-log")
    assert result.exit_code == 0, result.output
    assert (out / "phase_slices.png").stat().st_size > 0
    edges = pl.read_csv(out / "phase_slices_boundaries.csv")
    low, middle, high = sorted(edges["task.p_ambiguous"].unique().to_list())
    # no spec on this study's parent run: the trials' range, its middle on a linear axis
    assert low < 0.01 and high > 0.49 and middle == pytest.approx((low + high) / 2, rel=1e-2)
    assert "in slices of ε (one 3-axis fit)" in result.output
    one = tmp_path / "one"
    args = ["--out", str(one), "--no-log", "--slice", "task.p_ambiguous=0.1"]
    result = _dpl(store, "analyze", "phase", "cube", *AXES, *args)
    assert result.exit_code == 0, result.output
    assert "in slices of ε (one 3-axis fit): 0.1: " in result.output
    bad = _dpl(store, "analyze", "phase", "cube", *AXES, "--no-log", "--slice", "task.nope=1")
    assert bad.exit_code == 2 and "task.nope" in bad.output


def test_an_analysis_that_cannot_load_skips_its_picture_not_the_sweep(
    study_store, tmp_path, monkeypatch, capsys
):
    """The end of a sweep draws its maps; where the analysis package cannot even be imported
    (here: made unimportable), the sweep still ends well and says what was skipped."""
    spec = parse_spec(
        {
            "name": STUDY,
            "base": {"preset": "tiny"},
            "space": {
                "task.zipf_exponent": {"kind": "float", "low": 0.0, "high": 2.0},
                "forgetting.forget_until": [100, 1000, 10000],
            },
            "sampler": {"kind": "sobol"},
            "objective": "map",
            "n_trials": 30,
        }
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "analysis.report", None)  # import raises ImportError
    _after_sweep(spec, None, study_store)
    assert "phase diagram skipped" in capsys.readouterr().err
    assert not (tmp_path / "figures").exists()
