"""How many trials does a regime map need? Samplers on synthetic maps with a known answer.

    python benchmarks/boundary.py                 # 2-D and 3-D, 5 seeds (a few minutes)
    python benchmarks/boundary.py --quick         # a smoke run (~30 s)
    python -m benchmarks.boundary --seeds 10 --jobs 2 --out /tmp/boundary

No training: each "trial" reads its regime off a synthetic map whose boundaries are known curves
(2-D) or surfaces (3-D), with noise near them. Every sampler's answer is computed the same way —
the project's phase model fitted to its trials — and scored against the truth on a dense grid.
Issue 12's targets: the boundary sampler should reach a grid's boundary error with ≤ 1/3 of the
grid's trials, in 2-D and 3-D, averaged over ≥ 5 seeds, and beat Sobol and TPE at equal trials.
The verdicts are printed and written, whichever way they fall; nothing here is tuned to pass.

Choices, fixed before the first run (unit cube; x is the first axis, y, z the others):
- *Regimes*: three, ordered along x as in the paper's phase diagrams: `iwl` left of the surface
  x = b₁(y, z), `icl` right of x = b₂(y, z), `dual` between (b₂ − b₁ ≥ 0.15 everywhere):
    2-D: b₁ = 0.15 + 0.35 y²,  b₂ = 0.45 + 0.2 y + 0.05 sin 2πy   (areas ≈ 0.27 / 0.28 / 0.45)
    3-D: b₁ = 0.12 + 0.3 y² + 0.12 z,  b₂ = 0.45 + 0.2 y − 0.1 z + 0.25 z²
  so ICL is "present" right of b₁ and IWL left of b₂, and dual means both, as in `study.regimes`.
- *Label noise*: a trial at point p is labelled with the true regime at p + ε, ε ~ N(0, σ²I),
  σ = 0.03 (3 % of each axis' range), ε drawn from (seed, trial number) so that every sampler of a
  seed sees the same noise sequence. At distance d from a boundary the label is wrong with
  probability ≈ Φ(−d/σ): replicates at a boundary disagree half the time, as real seeds do, and
  agree from ≈ 2σ away.
- *Objective told to Optuna*: a map study tells Optuna the dual score, min(ICL, IWL); here
  ICL = sigmoid((x − b₁)/w), IWL = sigmoid((b₂ − x)/w), w = 0.05, at the same jittered point as
  the label. It peaks in the middle of the dual band. Only TPE uses it; the value told does not
  matter to the other samplers.
- *Samplers*: `grid`, k^d cell-centred points ((i + ½)/k on each axis); `random`, Optuna's
  RandomSampler; `sobol`, Optuna's scrambled-Sobol QMCSampler as `sampler: sobol` builds it (its
  first trial is Optuna's independent random draw); `tpe`, Optuna's TPESampler with the options a
  `sampler: tpe` spec defaults to (constant liar on), maximising the dual score; `boundary`,
  `study.sweep.boundary.BoundarySampler` with its default options. Every Optuna sampler runs in
  batches of 4 trials asked before any is told, as 4 parallel workers would. A run goes to the
  largest budget once; the error at a smaller budget n is that of its first n trials (what a
  run stopped at n would have had, up to the last batch's pending trials).
- *A study's answer*: `study.phase_model.fit_classifier` on the trials' unit coordinates with
  one-hot targets over the regimes observed, the length scales and amplitudes the sampler fits
  with (`study.sweep.proposals.length_scales`, `study.phase_model.AMPLITUDES`); the predicted
  regime at a point is the most likely one at the MAP weights (`Classifier.proba`; the posterior
  mean that `analysis.phase` draws maps with differs only where two regimes are nearly tied).
  A study that observed one regime predicts it everywhere.
- *Reference grid*: cell centres of a regular grid, 200² in 2-D (spacing h = 0.005) and 48³ in
  3-D (h ≈ 0.021), the true regime known at each.
- *Errors*: `misclassified_area`, the share of reference cells whose predicted regime is not the
  true one. `boundary_distance`, a symmetric mean surface distance: a map's boundary is the set
  of midpoints between reference cells that are neighbours along an axis and differ in regime
  (the same construction for the true and the fitted map, so the truth scores exactly 0);
  `fitted_to_true` is the mean distance from the fitted boundary's points to the nearest true
  one (spurious boundaries), `true_to_fitted` the converse (missed boundaries), and
  `boundary_distance` their average. A map with no boundary scores √d, the cube's diameter.
  `near_boundary`, a diagnostic, is the share of the trials within 2σ of a true boundary.
- *Verdicts* compare means over seeds. "Grid needs N trials for error E; boundary reaches E at M
  trials" takes the smallest evaluated boundary budget M whose mean error is ≤ E (budgets are a
  coarse ladder, so M/N is an upper bound); the ≤ 1/3 target is met at grid size N if some
  budget ≤ N/3 reaches E, and untested where no budget is that small. At equal trials, the boundary-minus-other difference is
  averaged over seeds with its standard error.

Layout: `boundary_maps` (the maps and labels), `boundary_error` (a study's answer and its
errors), `boundary_runs` (the samplers and runs), `boundary_report` (summary, verdicts, where the
trials went — placement.txt —, figures, files); this file is the command line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/boundary.py`: the repo's packages importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.boundary_report import format_summary, summarise, write_outputs
from benchmarks.boundary_runs import SETTINGS, run_benchmark

DEFAULT_OUT = Path("benchmarks/out/boundary")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small budgets: a ~30 s smoke run")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0 … N−1 [5; quick: 2]")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes [1]")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"[{DEFAULT_OUT}]")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "default"
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    settings = SETTINGS[mode]

    start = time.perf_counter()
    rows, points = run_benchmark(settings, seeds, jobs=args.jobs)
    wall = time.perf_counter() - start
    meta = {
        "mode": mode,
        "seeds": seeds,
        "jobs": args.jobs,
        "settings": [asdict(s) for s in settings],
        "wall_seconds": round(wall, 1),
    }
    resolutions = {s.dims: s.resolution for s in settings}
    lines = write_outputs(args.out, rows, points, meta, resolutions)
    print(format_summary(summarise(rows)))
    print()
    print("\n".join(lines))
    print(f"\n{len(rows)} rows in {wall:.0f} s → {args.out}")


if __name__ == "__main__":
    main()
