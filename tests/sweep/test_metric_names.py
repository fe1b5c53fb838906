"""A sweep under today's metric names (docs/design.md §3): Optuna's scalar attributes are named
like MLflow's metrics, and a spec or a study that still says an older dotted name works."""

from __future__ import annotations

import copy

import optuna
from optuna.trial import TrialState

from study.metric_names import DUAL_SCORE, ICL_STRUCTURAL, IWL_HEAD, transience
from study.sweep.ask_tell import objective_names, objective_values
from study.sweep.attrs import summary_of
from study.sweep.spec import parse_spec
from tests.sweep.conftest import GRID6, sweep_in


def test_a_spec_with_older_names_optimises_and_prunes_under_todays(tmp_path, store):
    spec = parse_spec(
        {
            **copy.deepcopy(GRID6),
            "name": "old-names",
            "space": {"task.zipf_exponent": [0.0, 1.5]},
            "objective": [{"metric": "dual_score", "direction": "maximize"}],  # as written before
            "pruner": {"kind": "median", "metric": "icl.structural"},
        }
    )
    assert objective_names(spec) == [DUAL_SCORE]
    _, study = sweep_in(tmp_path, store, spec)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:
        assert t.values == [t.user_attrs[DUAL_SCORE]]
        assert t.intermediate_values  # the pruner was told the headline at each evaluation
        assert {ICL_STRUCTURAL, IWL_HEAD, transience("matched")} <= set(summary_of(t))
        assert not [k for k in t.user_attrs if k.startswith("summary.")]


def test_an_older_studys_attributes_read_under_todays_names():
    scalars = optuna.trial.create_trial(
        value=0.2, user_attrs={"summary.icl.structural": 0.5, "summary.dual_score": 0.2}
    )
    one_dict = optuna.trial.create_trial(
        value=0.1, user_attrs={"summary": {"iwl.head": 0.9, "transience.matched": 0.3}}
    )
    assert summary_of(scalars) == {ICL_STRUCTURAL: 0.5, DUAL_SCORE: 0.2}
    assert summary_of(one_dict) == {IWL_HEAD: 0.9, transience("matched"): 0.3}
    spec = parse_spec(
        {
            **copy.deepcopy(GRID6),
            "sampler": {"kind": "tpe"},
            "space": {"train.lr": {"kind": "float", "low": 1e-4, "high": 1e-2, "log": True}},
            "objective": [{"metric": "icl.structural", "direction": "maximize"}],
            "n_trials": 2,
        }
    )
    assert objective_values(spec, summary_of(scalars)) == [0.5]
