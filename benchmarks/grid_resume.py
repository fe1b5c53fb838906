"""The reference grid picks up where the shipped CSV stops: its finished trials written back
into a fresh Optuna study, so `dpl sweep run` queues and trains only what is missing.

    python -m benchmarks.grid_resume --storage benchmarks/out/grid99/optuna.journal
    dpl sweep run benchmarks/specs/quickstart_grid99.yaml --workers 2 \\
        --storage benchmarks/out/grid99/optuna.journal \\
        --tracking-uri sqlite:///benchmarks/out/grid99/mlflow.db --no-figures
    python -m benchmarks.reference_grid --storage benchmarks/out/grid99/optuna.journal

The grid takes CPU-hours and its store (`benchmarks/out/`) is not committed, so a session that
stops before the grid does would otherwise start it again from nothing. Each CSV row becomes a
COMPLETE trial with the point's params, its replicate and replicate group (the keys the queue
fills by, `study.sweep.attrs`), its seed, regime and the three summary metrics the reference map
reads; rows already in the study are skipped. The resumed study has MLflow runs only for the
trials trained after the resume: the CSV is the grid's record.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/grid_resume.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna
import polars as pl
from optuna.distributions import CategoricalDistribution
from optuna.trial import create_trial

from benchmarks.reference_grid import DEFAULT_CSV, X, Y, load_outcomes
from study.metric_names import DUAL_SCORE, ICL_STRUCTURAL, IWL_HEAD
from study.sweep import attrs
from study.sweep.ask_tell import directions, one_type
from study.sweep.params import param_values
from study.sweep.points import replicate_group
from study.sweep.spec import SweepSpec, load_spec
from study.sweep.storage import open_storage

DEFAULT_SPEC = Path("benchmarks/specs/quickstart_grid99.yaml")


def write_back(outcomes: pl.DataFrame, spec: SweepSpec, study: optuna.Study) -> int:
    """Add each outcome row missing from `study` as a COMPLETE trial; returns how many."""
    choices = {k: one_type(param_values(p) or []) for k, p in spec.space.items()}
    dists = {k: CategoricalDistribution(v) for k, v in choices.items()}
    have = {attrs.key_of(t) for t in study.get_trials(deepcopy=False) if attrs.counts(t)}
    added = 0
    for row in outcomes.iter_rows(named=True):
        point = {X: float(row["alpha"]), Y: int(row["N"])}
        key = (replicate_group(point), int(row["replicate"]))
        if key in have:
            continue
        user = {
            attrs.GROUP: key[0],
            attrs.REPLICATE: key[1],
            attrs.SEED: int(row["seed"]),
            attrs.REGIME: row["regime"],
            ICL_STRUCTURAL: row["icl"],
            IWL_HEAD: row["iwl"],
            DUAL_SCORE: row["dual_score"],
        }
        trial = create_trial(
            params=point, distributions=dists, user_attrs=user, value=float(row["dual_score"])
        )
        study.add_trial(trial)
        have.add(key)
        added += 1
    return added


def resume(spec: SweepSpec, storage_url: str, outcomes: pl.DataFrame) -> int:
    """The spec's study at `storage_url` (made if missing) with `outcomes` written back; marked
    ready, since no creator is left to set it up: `dpl sweep run` continues it at once (else it
    waits for a creator, `storage.wait_ready`). Returns the trials written."""
    study = optuna.create_study(
        study_name=spec.name,
        storage=open_storage(storage_url),
        directions=directions(spec),
        load_if_exists=True,
    )
    added = write_back(outcomes, spec, study)
    study.set_user_attr(attrs.READY, True)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--storage", default="benchmarks/out/grid99/optuna.journal")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_spec(args.spec)
    added = resume(spec, args.storage, load_outcomes(args.csv))
    print(f"{added} finished trials from {args.csv} written into {spec.name} at {args.storage}")


if __name__ == "__main__":
    main()
