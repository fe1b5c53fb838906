"""Loading a study from a real MLflow store into the `trials` and `curves` frames."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.classify import classify
from analysis.runs import StudyNotFound, load_curves, load_trials, open_runs, resolve_study
from benchmarks.synthetic import write_synthetic_study
from study.tracking.store import Store

N_TRIALS, N_STEPS = 6, 4
METRICS = ["icl/structural_paper", "icl/structural_matched", "iwl/head", "acc/decile_0"]
SHOWN = [*METRICS, "icl/structural"]  # the headline: the `paper` protocol's, rebuilt by the reader


@pytest.fixture(scope="module")
def study_store(tmp_path_factory, new_store) -> tuple[Store, str]:
    store = new_store(tmp_path_factory.mktemp("runs") / "mlruns")
    parent = write_synthetic_study(
        store, "alpha_x_n", n_trials=N_TRIALS, n_steps=N_STEPS, metrics=METRICS
    )
    write_synthetic_study(store, "other", n_trials=2, n_steps=2, metrics=METRICS, seed=1)
    return store, parent


def test_trials_frame_columns_types_rows(study_store):
    store, parent = study_store
    trials = load_trials(store, "alpha_x_n")
    assert trials.height == N_TRIALS
    assert trials.columns[:8] == [
        "run_id",
        "trial",
        "study",
        "state",
        "regime",
        "transient",
        "protocol",
        "replicate_group",
    ]
    assert trials["trial"].to_list() == list(range(N_TRIALS))
    assert trials["state"].unique().to_list() == ["complete"]
    assert trials["parent_run_id"].unique().to_list() == [parent]
    schema = trials.schema
    assert schema["task.zipf_exponent"] == pl.Float64
    assert schema["forgetting.forget_until"] == pl.Int64
    assert schema["forgetting.kind"] == pl.String
    assert schema["model.causal"] == pl.Boolean
    assert (
        schema["forgetting.reset_std"] == pl.Float64 or schema["forgetting.reset_std"] == pl.String
    )
    assert trials["forgetting.reset_std"].null_count() == N_TRIALS  # "None" → null
    assert schema["transient"] == pl.Boolean
    for metric in (
        "icl/structural",
        "iwl/head",
        "summary/transience",
        "summary/structural_peak",
        "summary/transience_matched",
    ):
        assert schema[metric] == pl.Float64, metric
    # the stored regime is what the regime rule gives with the stored thresholds
    assert classify(trials)["regime"].cast(pl.String).to_list() == trials["regime"].to_list()


def test_curves_frame_is_long(study_store):
    store, _ = study_store
    curves = load_curves(store, "alpha_x_n")
    assert curves.columns == ["trial", "run_id", "step", "metric", "value"]
    assert curves.height == N_TRIALS * N_STEPS * len(SHOWN)
    assert curves.schema["step"] == pl.Int64 and curves.schema["value"] == pl.Float64
    assert sorted(curves["metric"].unique()) == sorted(SHOWN)
    only = load_curves(store, "alpha_x_n", metrics=["iwl/head"])
    assert only.height == N_TRIALS * N_STEPS


def test_client_path_gives_the_same_frames(study_store):
    store, _ = study_store
    sql, client = load_trials(store, "alpha_x_n"), load_trials(store, "alpha_x_n", client=True)
    assert sql.columns == client.columns and sql.schema == client.schema
    assert sql.select(pl.col(pl.String)).equals(client.select(pl.col(pl.String)))
    for name in ("icl/structural", "task.zipf_exponent"):
        assert sql[name].to_list() == pytest.approx(client[name].to_list(), rel=1e-14)
    curves_sql, curves_client = (
        load_curves(store, "alpha_x_n"),
        load_curves(store, "alpha_x_n", client=True),
    )
    assert curves_sql.drop("value").equals(curves_client.drop("value"))
    assert curves_sql["value"].to_list() == pytest.approx(
        curves_client["value"].to_list(), rel=1e-14
    )


def test_study_by_experiment_or_parent_run_and_unknown(study_store):
    store, parent = study_store
    with open_runs(store) as reader:
        by_tag = resolve_study(reader, "alpha_x_n")
        by_parent = resolve_study(reader, parent)
        assert by_tag.parent_run_id == parent
        assert sorted(by_parent.run_ids) == sorted(by_tag.run_ids)
        with pytest.raises(StudyNotFound, match="no study, experiment or parent run named 'nope'"):
            resolve_study(reader, "nope")


def test_frames_from_a_real_tiny_sweep(store, tmp_path):
    """The trial and sweep code write what the loader reads: a 2 × 2 grid, 12 steps each."""
    from study.sweep.launch import finish, prepare, run_sweep
    from study.sweep.spec import parse_spec

    spec = parse_spec(
        {
            "name": "grid4",
            "base": {
                "preset": "tiny",
                "set": {
                    "train.steps": 12,
                    "eval.every": 6,
                    "eval.n_examples": 40,
                    "train.batch_size": 16,
                    "forgetting.kind": "active",  # k acts (and is logged) only with forgetting
                },
            },
            "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_every": [3, 5]},
            "sampler": {"kind": "grid"},
        }
    )
    prepared = prepare(spec, store, str(tmp_path / "optuna.journal"))
    run_sweep(prepared)
    finish(prepared)

    trials = load_trials(store, "grid4")
    assert trials.height == 4 and trials["state"].to_list() == ["complete"] * 4
    assert trials["trial"].to_list() == [0, 1, 2, 3]
    assert trials["parent_run_id"].unique().to_list() == [prepared.parent_run_id]
    assert sorted(trials["task.zipf_exponent"].unique()) == [0.0, 1.5]
    assert (
        trials.schema["forgetting.forget_every"] == pl.Int64
        and trials.schema["regime"] == pl.String
    )
    for metric in (
        "icl/structural",
        "iwl/head",
        "summary/transience",
        "summary/transience_matched",
        "summary/structural_init_peak",
    ):
        assert trials.schema[metric] == pl.Float64 and trials[metric].null_count() == 0, metric
    assert classify(trials)["regime"].cast(pl.String).to_list() == trials["regime"].to_list()

    curves = load_curves(store, "grid4")
    assert curves.columns == ["trial", "run_id", "step", "metric", "value"]
    per_trial = (
        curves.filter(pl.col("metric") == "icl/structural")
        .group_by("trial")
        .agg(pl.col("step").sort())
    )
    k_of = dict(trials.select("trial", "forgetting.forget_every").iter_rows())
    # one point per evaluation, from step 0; every 6 steps, moved to just before a reset (k = 5)
    expected = {3: [0, 6, 12], 5: [0, 5, 10, 12]}
    assert {t: expected[k_of[t]] for t in k_of} == dict(per_trial.iter_rows())
    assert {
        "icl/structural_paper",
        "icl/structural_init",
        "icl/structural_matched",
        "iwl/tail",
    } <= set(curves["metric"])
    assert not curves["metric"].str.starts_with("summary").any()  # features are not curves
