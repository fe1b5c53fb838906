"""benchmarks/grid_resume.py: a reference grid resumed from its shipped CSV trains only the
(point, seed) pairs the CSV lacks, and exports every pair once."""

from __future__ import annotations

import polars as pl
from optuna.trial import TrialState

from benchmarks.grid_resume import resume
from benchmarks.reference_grid import trial_outcomes
from study.sweep import attrs
from study.sweep.launch import prepare, run_sweep
from study.sweep.spec import parse_spec
from study.sweep.storage import load, open_storage
from tests.sweep.conftest import FAST

SPEC = {
    "name": "grid-resume",
    "seed": 42,
    "replicates": 2,
    "base": {"preset": "tiny", "set": {**FAST, "forgetting.kind": "temporary"}},
    "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.forget_until": [0]},
    "sampler": {"kind": "grid"},
}


def test_a_resumed_grid_trains_only_what_its_csv_lacks(tmp_path, store):
    spec = parse_spec(SPEC)
    done = pl.DataFrame(  # three of the 2 points × 2 seeds, as the CSV ships them
        {
            "alpha": [0.0, 1.5, 0.0],
            "N": [0, 0, 0],
            "replicate": [0, 0, 1],
            "seed": [42, 42, 43],
            "icl": [0.1, 0.2, 0.3],
            "iwl": [0.9, 0.8, 0.7],
            "dual_score": [0.1, 0.2, 0.3],
            "regime": ["iwl", "iwl", "iwl"],
        }
    )
    url = str(tmp_path / "optuna.journal")
    assert resume(spec, url, done) == 3
    assert resume(spec, url, done) == 0  # rows already there are skipped
    sweep = prepare(spec, store, url)
    study, _ = load(spec.name, open_storage(url))
    assert len(study.get_trials(states=(TrialState.WAITING,))) == 1  # 4 − 3
    run_sweep(sweep)
    study, _ = load(spec.name, open_storage(url))
    trials = study.get_trials()
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 4
    keys = [attrs.key_of(t) for t in trials]
    assert len(set(keys)) == 4
    outcomes = trial_outcomes(trials)
    assert outcomes.height == 4
    kept = outcomes.join(done, on=["alpha", "N", "replicate"], suffix="_csv")
    assert kept.height == 3 and (kept["icl"] == kept["icl_csv"]).all()
