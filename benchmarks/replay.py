"""Which sampler maps the real quickstart best? Samplers replayed on its dense reference grid.

    python -m benchmarks.reference_grid             # the grid's outcomes → benchmarks/data/*.csv
    python -m benchmarks.replay                     # 20 sampler seeds, budgets 10 … 60
    python -m benchmarks.replay --seeds 4 --budgets 10 20 --samplers boundary sobol   # a smoke run
    python -m benchmarks.replay --live mlruns/optuna.journal     # a live quickstart, scored alike

No training: the reference grid (benchmarks/specs/quickstart_grid99.yaml: 9 α × 11 N × 3 seeds,
trained once) stored every trial's outcome. A sampler's trial at a point returns one of that
point's stored seeds' outcomes — real training noise, at no training cost. Issue 20's targets:
at 20 trials boundary agrees with the reference map on ≥ 90% of it, above Sobol, random and a
regular 4 × 5 grid by more than 2 standard errors; and it reaches the 99-point grid's agreement
with ≤ 1/3 of its trials. The verdicts are printed whichever way they fall.

Choices, fixed before the first run:
- *Reference map*: each point's majority regime over its finished seeds
  (`benchmarks.reference_grid`); points without a majority are not scored, points with no
  outcome yet (a grid still running) are neither picked nor scored — both counts are printed.
- *Picks*: Optuna samplers ask on the lattice itself (α step 0.25, N step 100 over the spec's
  bounds [0, 2] × [0, 1000]), so every ask is a grid point; one that has no outcome yet goes to
  the nearest point that has (unit distance). A pick returns the point's seeds in an order drawn
  from (sampler seed, point), cycled (`replay_grid.Oracle`): a second pick at a point is
  another seed. Trials carry the regime, icl/structural and iwl/head, and tell the stored dual
  score (what TPE maximises), asked in batches of 2 (the quickstart's two workers).
- *Samplers*: `grid` k_α × k_N sub-lattices (GRIDS; one seed per point); `random`, `sobol`,
  `tpe` as `sampler:` specs build them (`benchmarks.boundary_runs.optuna_sampler`); `boundary`
  with the quickstart's options (n_init 8, score disagreement); `boundary-bald` the same with
  score bald and replicates on (a new seed at a trial's point is a candidate); `adaptive`,
  python-adaptive's Learner2D on the one-hot regime (where `pip install .[bench]` installed it).
- *A study's answer and score*: `replay_grid.score`: the phase model fitted to the picked
  points' labels as `analysis.phase` fits (soft labels, per-axis length scales), its
  posterior-mean regime at each scored point; agreement is the share of scored points where it
  equals the majority (the lattice is regular: a share of points is a share of area). Sure:
  ≥ 80% of 200 posterior draws agree; `sure_agreement` the agreement there. A run goes to the
  largest budget once; budget n scores its first n trials.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/replay.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import optuna
import polars as pl
from optuna.distributions import FloatDistribution, IntDistribution
from threadpoolctl import threadpool_limits

from benchmarks.boundary_runs import ask_and_tell, optuna_sampler, proposals_of, quiet_study
from benchmarks.reference_grid import DEFAULT_CSV, X, Y, load_outcomes, trial_outcomes
from benchmarks.replay_grid import ALPHAS, LABELLER, NS, Oracle, ReplayGrid, score, to_unit
from benchmarks.replay_report import METRICS, format_table, summarise, verdicts
from study.metric_names import ICL_STRUCTURAL, IWL_HEAD
from study.regimes import REGIMES
from study.sweep.boundary import BoundarySampler

SPACE = {
    X: FloatDistribution(0.0, 2.0, step=float(ALPHAS[1] - ALPHAS[0])),
    Y: IntDistribution(0, 1000, step=int(NS[1] - NS[0])),
}
BATCH = 2
BUDGETS = (10, 20, 30, 40, 60)
GRIDS = {10: (2, 5), 20: (4, 5), 30: (5, 6), 40: (5, 8), 60: (6, 10), 99: (9, 11)}
BOUNDARY_OPTIONS = {
    "boundary": dict(n_init=8, score="disagreement"),
    "boundary-bald": dict(n_init=8, score="bald", replicates=True),
}
SAMPLERS = ("grid", "random", "sobol", "tpe", *BOUNDARY_OPTIONS, "adaptive")


def has_adaptive() -> bool:
    try:
        import adaptive  # noqa: F401
    except ImportError:
        return False
    return True


def grid_picks(grid: ReplayGrid, shape: tuple[int, int]) -> list[int]:
    """The points of a k_α × k_N sub-lattice, spread evenly over the lattice's values."""
    alphas = ALPHAS[np.round(np.linspace(0, len(ALPHAS) - 1, shape[0])).astype(int)]
    ns = NS[np.round(np.linspace(0, len(NS) - 1, shape[1])).astype(int)]
    return [grid.index_of(a, n) for a in alphas for n in ns]


def sampler_for(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name in BOUNDARY_OPTIONS:
        return BoundarySampler(SPACE, labeller=LABELLER, seed=seed, **BOUNDARY_OPTIONS[name])
    return optuna_sampler(name, 2, seed)


def optuna_picks(name: str, grid: ReplayGrid, oracle: Oracle, n: int, seed: int):
    """Run sampler `name` for n trials on the replayed grid: (picked indices, rows, reasons)."""
    study = quiet_study(sampler_for(name, seed))
    picks, rows = [], []

    def observe(trial: optuna.Trial) -> float:
        index = grid.nearest(np.array([trial.params[X], trial.params[Y]]))
        row = oracle.pick(index)
        trial.set_user_attr("regime", row["regime"])
        for metric, key in ((ICL_STRUCTURAL, "icl"), (IWL_HEAD, "iwl")):
            if row[key] is not None:
                trial.set_user_attr(metric, row[key])
        picks.append(index)
        rows.append(row)
        return float(row["dual_score"] or 0.0)

    numbers = ask_and_tell(study, SPACE, n, observe, batch=BATCH)
    return picks, rows, proposals_of(study, numbers)


def adaptive_picks(grid: ReplayGrid, oracle: Oracle, n: int):
    """python-adaptive's Learner2D, told the one-hot (soft) regime of each pick."""
    import adaptive

    learner = adaptive.Learner2D(lambda xy: 0.0, bounds=[(0.0, 2.0), (0.0, 1000.0)])
    picks, rows = [], []
    while len(picks) < n:
        asked, _ = learner.ask(min(BATCH, n - len(picks)))
        for point in asked:
            index = grid.nearest(np.asarray(point))
            row = oracle.pick(index)
            label = LABELLER.label(row["regime"], row["icl"], row["iwl"]) or {}
            learner.tell(point, np.array([label.get(g, 0.0) for g in REGIMES]))
            picks.append(index)
            rows.append(row)
    return picks, rows, np.full(n, "")


def replay_picks(oracle: Oracle, picks: Sequence[int]) -> list[dict]:
    """The outcomes of a fixed design's picks (each grid size is a study of its own)."""
    return [oracle.pick(i) for i in picks]


def sampler_run(name: str, grid: ReplayGrid, budgets: Sequence[int], seed: int) -> list[dict]:
    """One row per budget (per grid size, for the grid) of one sampler and seed."""
    oracle = Oracle(grid, seed)
    start = time.perf_counter()
    with threadpool_limits(1):
        if name == "grid":
            sizes = [n for n in (*budgets, 99) if n in GRIDS]
            cuts = [(n, grid_picks(grid, GRIDS[n])) for n in sizes]
            runs = [(n, p, replay_picks(Oracle(grid, seed), p), ()) for n, p in cuts]
        else:
            picks, rows, reasons = (
                adaptive_picks(grid, oracle, max(budgets))
                if name == "adaptive"
                else optuna_picks(name, grid, oracle, max(budgets), seed)
            )
            runs = [(n, picks[:n], rows[:n], reasons[:n]) for n in budgets]
        out = []
        for n, picks, rows, reasons in runs:
            result = score(grid.unit[picks], rows, grid, seed)
            replicates = len(picks) - len(set(picks))
            out.append(
                {"sampler": name, "n_trials": n, "seed": seed, "repeat_picks": replicates}
                | asdict(result)
                | {"replicate_proposals": int(sum(r == "replicate" for r in reasons))}
            )
    seconds = time.perf_counter() - start
    return [row | {"run_seconds": round(seconds, 1)} for row in out]


def run_replay(
    grid: ReplayGrid, samplers: Sequence[str], budgets: Sequence[int], seeds: Sequence[int], jobs=1
) -> pl.DataFrame:
    tasks = [(name, grid, tuple(budgets), seed) for name in samplers for seed in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(sampler_run, *zip(*tasks, strict=True)))
    else:
        results = [sampler_run(*task) for task in tasks]
    return pl.DataFrame([row for rows in results for row in rows])


def live_score(journal: Path, grid: ReplayGrid) -> dict:
    """A live study's trials (a journal file), scored against the reference map as a replayed
    sampler's are."""
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    (name,) = optuna.get_all_study_names(storage)
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    outcomes = trial_outcomes(trials)
    unit = to_unit(outcomes.select("alpha", "N").to_numpy())
    return {"study": str(journal), "trials": outcomes.height} | asdict(
        score(unit, outcomes.to_dicts(), grid)
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--seeds", type=int, default=20, help="sampler seeds 0 … N−1 [20]")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--samplers", nargs="+", default=None, help=f"[{' '.join(SAMPLERS)}]")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/replay"))
    parser.add_argument("--live", type=Path, nargs="+", help="score these studies' journals only")
    args = parser.parse_args(argv)
    samplers = args.samplers or [s for s in SAMPLERS if s != "adaptive" or has_adaptive()]
    grid = ReplayGrid.of(load_outcomes(args.csv))
    trials = sum(rows.height for rows in grid.outcomes)
    ground = (
        f"reference grid: {len(grid.points)} of {grid.lattice_size} points have outcomes "
        f"({trials} trials; {sum(r.height >= 3 for r in grid.outcomes)} with all 3 seeds), "
        f"{int(grid.scored.sum())} have a majority and are scored"
    )
    print(ground)
    if args.live:
        for journal in args.live:
            print(json.dumps(live_score(journal, grid)))
        return
    start = time.perf_counter()
    rows = run_replay(grid, samplers, args.budgets, range(args.seeds), args.jobs)
    wall = time.perf_counter() - start
    summary = summarise(rows)
    tables = [format_table(summary, metric) for metric in METRICS]
    lines = [ground, "", *(line for t in tables for line in (t, "")), *verdicts(rows, summary)]
    args.out.mkdir(parents=True, exist_ok=True)
    rows.write_csv(args.out / "rows.csv")
    summary.write_csv(args.out / "summary.csv")
    (args.out / "report.txt").write_text("\n".join(lines) + "\n")
    meta = {"samplers": samplers, "seeds": args.seeds, "budgets": args.budgets, "wall_s": wall}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2))
    print("\n".join(lines[2:]))
    print(f"\n{rows.height} rows in {wall:.0f} s → {args.out}")


if __name__ == "__main__":
    main()
