"""Sweeps in packs (study/sweep/packs.py, `--pack K`): each packed trial is its own Optuna trial
and MLflow run, with the metrics it has unpacked; a diverging trial fails alone."""

from __future__ import annotations

import copy

import pytest
import torch
from optuna.trial import TrialState

from study.sweep.attrs import RUN as RUN_ATTR
from study.sweep.launch import finish, prepare, resolve_pack, run_sweep
from study.sweep.spec import parse_spec
from study.sweep.storage import load, open_storage
from study.tracking.schema import FAILURE_REASON, PARENT
from tests.sweep.conftest import FAST, GRID6, runs_of

TOLERANCE = 1e-4  # batched against single matmuls, 12 steps


def sweep_packed(root, store, spec, pack, **kwargs):
    prepared = prepare(spec, store, str(root / "optuna.journal"), pack=pack, **kwargs)
    run_sweep(prepared)
    finish(prepared)
    return prepared, load(spec.name, open_storage(prepared.storage_url))[0]


def summaries(store, spec, study):
    runs = {r.info.run_id: r for r in runs_of(store, spec)}
    return {
        tuple(sorted(t.params.items())): runs[t.user_attrs[RUN_ATTR]] for t in study.get_trials()
    }


def test_a_packed_grid_gives_each_trial_its_run_and_its_unpacked_metrics(tmp_path, new_store):
    spec = parse_spec(copy.deepcopy(GRID6))
    alone_store = new_store(tmp_path / "a" / "mlruns")
    packed_store = new_store(tmp_path / "p" / "mlruns")
    _, alone = sweep_packed(tmp_path / "a", alone_store, spec, 1)
    prepared, packed = sweep_packed(tmp_path / "p", packed_store, spec, 4)  # packs of 4 and 2
    assert [t.state for t in packed.get_trials()] == [TrialState.COMPLETE] * 6
    parent = prepared.parent_run_id
    children = [r for r in runs_of(packed_store, spec) if r.data.tags.get(PARENT) == parent]
    assert len(children) == 6 and all(r.info.status == "FINISHED" for r in children)
    a, p = summaries(alone_store, spec, alone), summaries(packed_store, spec, packed)
    assert a.keys() == p.keys()
    for point, run in p.items():
        want = a[point].data.metrics
        assert run.data.metrics.keys() == want.keys()
        for name, value in run.data.metrics.items():
            assert value == pytest.approx(want[name], abs=TOLERANCE), (point, name)


def test_a_diverging_trial_fails_alone_and_its_pack_completes(tmp_path, store):
    spec = parse_spec(
        {
            "name": "diverging",
            "base": {"preset": "tiny", "set": {**FAST, "train.weight_decay": 1000.0}},
            "space": {"train.lr": [1e-4, 1.0, 3e-4]},  # lr · wd = 1000 at lr 1.0: NaN by step 4
            "sampler": {"kind": "grid"},
        }
    )
    _, study = sweep_packed(tmp_path, store, spec, 3)
    by_lr = {t.params["train.lr"]: t for t in study.get_trials()}
    assert by_lr[1.0].state == TrialState.FAIL
    assert "non-finite loss" in by_lr[1.0].user_attrs["failure_reason"]
    assert by_lr[1e-4].state == by_lr[3e-4].state == TrialState.COMPLETE
    runs = {r.info.run_id: r for r in runs_of(store, spec)}
    failed = runs[by_lr[1.0].user_attrs[RUN_ATTR]]
    assert failed.info.status == "FAILED" and "NonFiniteLoss" in failed.data.tags[FAILURE_REASON]
    assert all(
        runs[by_lr[lr].user_attrs[RUN_ATTR]].info.status == "FINISHED" for lr in (1e-4, 3e-4)
    )


def test_a_pack_whose_trials_all_time_out_at_once_fails_each_trial_with_timeout(tmp_path, store):
    """The deadline is set for the whole pack at once and is already past at the step-0
    evaluation: the pack empties at one step and each trial ends `timeout` (it crashed on an
    empty index before, failing all three with an IndexError)."""
    spec = parse_spec(
        {
            "name": "timeouts",
            "base": {"preset": "tiny", "set": {**FAST, "train.steps": 3000}},
            "space": {"task.zipf_exponent": [0.0, 1.0, 2.0]},
            "sampler": {"kind": "grid"},
            "trial_timeout_s": 1e-6,
        }
    )
    _, study = sweep_packed(tmp_path, store, spec, 3, max_failures=10)  # the worker goes on
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL] * 3
    assert [t.user_attrs["failure_reason"] for t in trials] == ["timeout"] * 3


def test_a_pack_out_of_memory_trains_again_at_half_its_size(tmp_path, store, monkeypatch):
    """A GPU's out-of-memory cannot happen on the CPU, so the pack step raises torch's own
    OutOfMemoryError above 2 trials: the pack of 4 trains as two packs of 2, every trial
    completes with its own finished run."""
    import study.trial.pack

    step, sizes = study.trial.pack.Pack.step, []

    def step_within_memory(self, inputs, targets, noise):
        sizes.append(inputs.shape[0])
        if inputs.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return step(self, inputs, targets, noise)

    monkeypatch.setattr(study.trial.pack.Pack, "step", step_within_memory)
    spec = parse_spec(
        {
            "name": "memory",
            "base": {"preset": "tiny", "set": FAST},
            "space": {"task.zipf_exponent": [0.0, 0.5, 1.0, 1.5]},
            "sampler": {"kind": "grid"},
        }
    )
    _, study_ = sweep_packed(tmp_path, store, spec, 4)
    assert sizes[0] == 4 and set(sizes[1:]) == {2}
    assert [t.state for t in study_.get_trials()] == [TrialState.COMPLETE] * 4
    runs = {r.info.run_id: r for r in runs_of(store, spec)}
    assert all(runs[t.user_attrs[RUN_ATTR]].info.status == "FINISHED" for t in study_.get_trials())


def test_pack_auto_is_one_on_the_cpu():
    assert resolve_pack("auto", "cpu") == 1 and resolve_pack(2, "cpu") == 2


def test_the_gpu_memory_estimate_counts_the_models_parameters():
    from study.presets import build_config
    from study.sweep.launch import trial_bytes
    from study.trial.lane import Lane

    for preset in ("paper", "small"):
        cfg = build_config(preset)
        n_params = sum(p.numel() for p in Lane.build(cfg, torch.device("cpu")).model().parameters())
        logits = 3 * cfg.train.batch_size * 3 * (cfg.task.n_vocab + 2 + cfg.task.n_holdout)
        assert trial_bytes(cfg) / 4 - logits == pytest.approx(4 * n_params, rel=0.05)


def test_trials_with_their_own_embedding_rate_train_alone_in_a_packed_sweep(tmp_path, new_store):
    """PackedAdamW keeps one learning rate per trial: a trial whose embeddings have their own
    (`train.embed_lr_scale`) trains alone even under `--pack 3`, so its metrics are exactly
    those of the unpacked sweep, not a pack's approximation of them."""
    tree = copy.deepcopy(GRID6)
    tree["base"]["set"]["train.embed_lr_scale"] = 4.0
    tree["space"] = {"task.zipf_exponent": [0.0, 1.5]}
    spec = parse_spec(tree)
    alone_store = new_store(tmp_path / "a" / "mlruns")
    packed_store = new_store(tmp_path / "p" / "mlruns")
    _, alone = sweep_packed(tmp_path / "a", alone_store, spec, 1)
    _, packed = sweep_packed(tmp_path / "p", packed_store, spec, 3)
    a, p = summaries(alone_store, spec, alone), summaries(packed_store, spec, packed)
    assert a.keys() == p.keys() and len(p) == 2
    for point, run in p.items():
        assert run.data.metrics == a[point].data.metrics, point
