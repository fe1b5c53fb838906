"""What a trial's run stores (docs/design.md §3), against real stores: every metric once, under a
`/`-grouped name, rounded to what the evaluation resolves; and stores written with the older
dotted names read back under today's."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import mlflow
import polars as pl
import pytest
import torch

from analysis.runs import load_curves, load_trials
from benchmarks.synthetic import write_synthetic_study
from study.metric_names import (
    ACC_TAIL,
    ACC_VAL,
    CURVES,
    DUAL_SCORE,
    FEATURES,
    FINAL_STEP,
    HEADLINES,
    ICL_STRUCTURAL,
    IWL_HEAD,
    LOSS_TRAIN,
    LOSS_VAL,
    OLD_SUMMARY_PREFIX,
    SUMMARY_PREFIX,
    TRANSIENCE,
    decile,
    kind,
    structural,
    transience,
)
from study.presets import build_config
from study.tracking.logger import rounded
from study.tracking.store import Store
from study.tracking.trial_run import run_trial
from study.trial.schedule import eval_steps

N = 300  # sequences per evaluation set: shares are multiples of 1/300, stored to 4 decimals
SECTIONS = {"loss", "acc", "icl", "iwl", "holdout", "embed", "summary"}


@pytest.fixture(scope="module")
def forgetting_run(tmp_path_factory, new_store):
    """One tiny active-forgetting trial whose last step (60) falls mid-cycle (k = 7): its summary
    ends at the last aligned evaluation, step 56."""
    store = new_store(tmp_path_factory.mktemp("stored") / "mlruns")
    cfg = build_config(
        "tiny",
        sets=[
            "forgetting.kind=active",
            "forgetting.forget_every=7",
            f"eval.n_examples={N}",
            "train.seed=5",
        ],
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as `one_torch_thread`, for a module's fixture
    try:
        result = run_trial(cfg, store=store, device="cpu", tags={"study": "one"})
    finally:
        torch.set_num_threads(threads)
    return store, cfg, result


def _histories(store: Store, run_id: str) -> dict[str, list]:
    client = store.client()
    keys = client.get_run(run_id).data.metrics
    return {k: sorted(client.get_metric_history(run_id, k), key=lambda m: m.step) for k in keys}


def test_a_run_stores_each_metric_once_grouped_by_slash(forgetting_run):
    store, cfg, result = forgetting_run
    histories = _histories(store, result.run_id)
    keys = set(histories)
    assert all(k.split("/", 1)[0] in SECTIONS and kind(k) for k in keys), sorted(keys)
    assert not keys & set(HEADLINES)  # the headline is the protocol's, stored once
    assert not any(k.startswith(OLD_SUMMARY_PREFIX) for k in keys)
    features = {k for k in keys if k.startswith(SUMMARY_PREFIX)}
    assert features == set(FEATURES)  # final-only features, and no curve's final value
    assert keys - features <= set(CURVES)
    steps = eval_steps(cfg)  # aligned to k = 7, and the end state at 60
    assert steps[-2:] == [56, 60]
    for key in features:  # one point each, at the final step
        assert [m.step for m in histories[key]] == [60], key
    for key in keys - features:
        expected = steps[1:] if key == LOSS_TRAIN else steps  # nothing trained at step 0
        assert [m.step for m in histories[key]] == expected, key
    assert histories[FINAL_STEP][0].value == 56


def test_stored_values_are_rounded_to_what_the_evaluation_resolves(forgetting_run):
    store, cfg, result = forgetting_run
    histories = _histories(store, result.run_id)
    shares = [ACC_VAL, ACC_TAIL, IWL_HEAD, "icl/head", "icl/tail", "iwl/tail"]
    shares += [structural(p) for p in ("paper", "init", "matched")]
    for key in shares:
        for m in histories[key]:
            assert m.value == round(m.value, 4), (key, m.value)  # no float32 noise
            assert abs(m.value * N - round(m.value * N)) <= N * 0.5e-4 + 1e-9, (key, m.value)
    for key in (LOSS_VAL, LOSS_TRAIN):
        assert all(m.value == float(f"{m.value:.5g}") for m in histories[key]), key
    # the trial's own numbers are not rounded: its regime call is made on them
    in_memory = result.summary
    assert in_memory[ICL_STRUCTURAL] == in_memory[structural("paper")]
    stored = {k: h[0].value for k, h in histories.items() if k.startswith(SUMMARY_PREFIX)}
    assert stored == {k: v for k, v in rounded(in_memory, N).items() if k in stored}
    assert store.client().get_run(result.run_id).data.tags["regime"] == result.regime


def test_the_reader_takes_finals_at_the_final_step_and_rebuilds_the_headline(forgetting_run):
    store, _, result = forgetting_run
    trial = load_trials(store, "one").row(0, named=True)
    at_56 = {
        k: [m.value for m in h if m.step == 56] for k, h in _histories(store, result.run_id).items()
    }
    for key in (ACC_VAL, IWL_HEAD, structural("matched"), LOSS_VAL):
        assert trial[key] == at_56[key][0], key  # the aligned final, not the end state at 60
        assert trial[key] == pytest.approx(result.summary[key], rel=1e-4, abs=5e-5), key
    assert trial[ICL_STRUCTURAL] == trial[structural("paper")]
    assert trial[TRANSIENCE] == trial[transience("paper")]
    assert trial[structural(None, "peak")] == trial[structural("paper", "peak")]
    for client in (False, True):
        headline = load_curves(store, "one", metrics=[ICL_STRUCTURAL], client=client)
        paper = load_curves(store, "one", metrics=[structural("paper")], client=client)
        assert headline["metric"].unique().to_list() == [ICL_STRUCTURAL]
        assert headline["value"].to_list() == paper["value"].to_list()


@pytest.fixture
def fluent(monkeypatch) -> Iterator[Callable[[str], None]]:
    """Points MLflow's fluent API at a store for one test. `set_tracking_uri` also exports
    MLFLOW_TRACKING_URI, which `Store.resolve` reads: both are put back afterwards."""

    def point(uri: str) -> None:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # restored by monkeypatch, after us
        mlflow.set_tracking_uri(uri)

    yield point
    mlflow.set_tracking_uri(None)


def _log_old_store(store: Store) -> None:
    """Two trials as an older version wrote them: dotted names, every final value again as
    `summary.<name>` (the aligned final, here step 10; the curves end at 20), the headline twice."""
    experiment = store.experiment_id("old")
    for trial in (0, 1):
        tags = {"study": "old", "trial_number": str(trial), "protocol": "paper"}
        with mlflow.start_run(experiment_id=experiment, tags=tags):
            for step, value in ((0, 0.1), (10, 0.6 + trial / 10), (20, 0.2)):
                for name in ("icl.structural", "icl.structural.paper", "iwl.head", "acc.val"):
                    mlflow.log_metric(name, value, step=step)
                mlflow.log_metric("icl.structural.matched", value / 2, step=step)
                mlflow.log_metric("acc.decile.0", 1.0, step=step)
            finals = {"icl.structural": 0.6 + trial / 10, "acc.val": 0.6 + trial / 10}
            finals |= {"icl.structural.peak": 0.7, "transience": 0.1, "dual_score": 0.5}
            finals |= {"transience.matched": 0.05, "icl.structural.start": 0.1}
            for name, value in finals.items():
                mlflow.log_metric(OLD_SUMMARY_PREFIX + name, value, step=20)


@pytest.mark.parametrize("client", [False, True])
def test_a_store_with_the_old_names_reads_back_under_the_new(store, client, fluent):
    fluent(store.tracking_uri)
    _log_old_store(store)
    trials = load_trials(store, "old", client=client)
    assert trials[ICL_STRUCTURAL].to_list() == [0.6, 0.7]  # `summary.` won: the aligned final
    assert trials[ACC_VAL].to_list() == [0.6, 0.7]
    assert trials[structural("paper")].to_list() == [0.2, 0.2]  # no summary: the last point
    assert trials[structural("matched")].to_list() == [0.1, 0.1]
    assert trials[decile(0)].to_list() == [1.0, 1.0]
    assert trials[structural(None, "peak")].to_list() == [0.7, 0.7]
    assert trials[structural(None, "start")].to_list() == [0.1, 0.1]
    assert trials[TRANSIENCE].to_list() == [0.1, 0.1]
    assert trials[transience("matched")].to_list() == [0.05, 0.05]
    assert trials[DUAL_SCORE].to_list() == [0.5, 0.5]
    assert not [c for c in trials.columns if c.startswith(("summary.", "icl.", "acc."))]
    curves = load_curves(store, "old", client=client)
    assert set(curves["metric"]) == {
        ICL_STRUCTURAL,
        structural("paper"),
        structural("matched"),
        IWL_HEAD,
        ACC_VAL,
        decile(0),
    }
    headline = load_curves(store, "old", metrics=[ICL_STRUCTURAL], client=client)
    assert headline.height == 2 * 3  # stored by the old run: not rebuilt a second time
    assert headline.filter(pl.col("step") == 10)["value"].to_list() == [0.6, 0.7]


def test_the_file_store_takes_the_new_names(tmp_path, monkeypatch, fluent):
    """MLflow's file store keeps `icl/head` as a folder `icl` with a file `head`; it is in
    maintenance mode and refuses to open unless asked."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = Store.resolve(str(tmp_path / "fs"), root=tmp_path / "mlruns")
    assert store.tracking_uri.startswith("file://")
    write_synthetic_study(store, "fs", n_trials=2, n_steps=3)
    trials = load_trials(store, "fs")  # no SQLite: through the client
    assert trials[ICL_STRUCTURAL].to_list() == trials[structural("paper")].to_list()
    assert trials[DUAL_SCORE].null_count() == 0 and not math.isnan(trials[ACC_VAL][0])
    fluent(store.tracking_uri)
    found = mlflow.search_runs([store.experiment_id("fs")], f"metrics.`{ACC_VAL}` >= 0")
    assert {f"metrics.{ACC_VAL}", f"metrics.{DUAL_SCORE}"} <= set(found.columns)
    assert load_curves(store, "fs", metrics=[ACC_VAL]).height == 2 * 3
