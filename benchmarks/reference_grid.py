"""The quickstart's reference map: a dense grid study's per-trial outcomes as a small CSV.

    dpl sweep run benchmarks/specs/quickstart_grid99.yaml --workers 1 \\
        --storage benchmarks/out/grid99/optuna.journal \\
        --tracking-uri sqlite:///benchmarks/out/grid99/mlflow.db --no-figures
    python -m benchmarks.reference_grid --storage benchmarks/out/grid99/optuna.journal

A session that stops before the grid does ships the CSV as far as it ran; `python -m
benchmarks.grid_resume` writes those trials back into a fresh study, and the same `dpl sweep run`
trains only the rest.

Writes benchmarks/data/quickstart_grid99.csv, one row per finished trial (α, N, replicate, seed,
icl/structural, iwl/head, summary/dual_score, regime), and prints the reference map: per point,
the majority regime of its seeds and their agreement. It reads whatever has finished, so it can
be run while the grid is still going; the replay benchmark (`benchmarks/replay.py`) uses the
points that have outcomes and says how many.

Majority rule (fixed before the grid's first results were looked at): the decided regime (not
`uncertain`) called by most of the point's finished seeds; a tie between the top two, or a
point whose seeds are all `uncertain`, has no majority (`majority` null) and is left out of
scoring — there the reference has no answer to agree with (a fitted map never predicts
`uncertain`). `agreement` is the majority's share of all the point's finished seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/reference_grid.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna
import polars as pl
from optuna.trial import TrialState

from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.regimes import UNCERTAIN
from study.sweep.attrs import summary_of

X, Y = "task.zipf_exponent", "forgetting.forget_until"
DUAL_SCORE = "summary/dual_score"
DEFAULT_CSV = Path("benchmarks/data/quickstart_grid99.csv")
COLUMNS = ("alpha", "N", "replicate", "seed", "icl", "iwl", "dual_score", "regime")


def trial_outcomes(trials: list[optuna.trial.FrozenTrial]) -> pl.DataFrame:
    """One row per finished trial with a regime (COLUMNS; icl = icl/structural, iwl = iwl/head)."""
    rows = []
    for t in trials:
        regime = t.user_attrs.get("regime")
        if t.state != TrialState.COMPLETE or regime is None or X not in t.params:
            continue
        summary = summary_of(t)
        rows.append(
            (
                float(t.params[X]),
                int(t.params[Y]),
                int(t.user_attrs.get("replicate", 0)),
                int(t.user_attrs.get("seed", -1)),
                summary.get(ICL_STRUCTURAL),
                summary.get(IWL_HEAD),
                summary.get(DUAL_SCORE),
                str(regime),
            )
        )
    schema = dict(
        zip(
            COLUMNS,
            (pl.Float64, pl.Int64, pl.Int64, pl.Int64) + (pl.Float64,) * 3 + (pl.String,),
            strict=True,
        )
    )
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.sort("alpha", "N", "replicate")


def reference_map(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Per point (alpha, N): seeds finished, majority regime (null on a tie) and the share of
    its seeds that called it (`agreement`)."""
    seeds = outcomes.group_by("alpha", "N").agg(seeds=pl.len())
    decided = outcomes.filter(pl.col("regime") != UNCERTAIN)
    counts = decided.group_by("alpha", "N", "regime").len().sort("len", "regime", descending=True)
    votes = counts.group_by("alpha", "N", maintain_order=True).agg(
        top=pl.col("regime").first(),
        top_n=pl.col("len").first(),
        runner_up_n=pl.col("len").get(1, null_on_oob=True).fill_null(0),
    )
    return (
        seeds.join(votes, on=["alpha", "N"], how="left")
        .with_columns(
            majority=pl.when(pl.col("top_n") > pl.col("runner_up_n")).then(pl.col("top")),
            agreement=pl.col("top_n").fill_null(0) / pl.col("seeds"),
        )
        .select("alpha", "N", "seeds", "majority", "agreement")
        .sort("alpha", "N")
    )


def load_outcomes(path: Path = DEFAULT_CSV) -> pl.DataFrame:
    return pl.read_csv(path, schema_overrides={"regime": pl.String})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--storage", default="benchmarks/out/grid99/optuna.journal")
    parser.add_argument("--study", default="quickstart-grid99")
    parser.add_argument("--out", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(args.storage)
    )
    study = optuna.load_study(study_name=args.study, storage=storage)
    trials = study.get_trials(deepcopy=False)
    outcomes = trial_outcomes(trials)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    outcomes.write_csv(args.out, float_precision=4)
    ref = reference_map(outcomes)
    complete = ref.filter(pl.col("seeds") >= 3).height
    print(f"{outcomes.height} of {len(trials)} trials finished → {args.out}")
    print(f"{ref.height} points with an outcome, {complete} with all 3 seeds; regimes by majority:")
    print(ref.group_by("majority").len().sort("majority"))
    print(f"mean seed agreement {ref['agreement'].mean():.3f}")


if __name__ == "__main__":
    main()
