"""Time `load_trials` / `load_curves` on a large synthetic study in the default SQLite store.

    python -m benchmarks.load_trials                    # 1,000 trials × 600 steps × 10 metrics
    python -m benchmarks.load_trials --trials 100 --client   # also time the MLflow client path

The store is written once under --root (default: a `bench` folder in the system temp dir) and
reused; --fresh rewrites it.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from analysis.runs import load_curves, load_trials
from benchmarks.synthetic import CURVE_METRICS, write_synthetic_study
from study.tracking.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "dpl-bench")
    parser.add_argument("--fresh", action="store_true", help="rewrite the store")
    parser.add_argument("--client", action="store_true", help="also time the MLflow client path")
    args = parser.parse_args()

    study = f"bench_{args.trials}x{args.steps}"
    root = args.root / study
    if args.fresh and root.exists():
        shutil.rmtree(root)
    store = Store.resolve(root=root)
    if not (root / "mlflow.db").exists():
        start = time.perf_counter()
        write_synthetic_study(
            store,
            study,
            n_trials=args.trials,
            n_steps=args.steps,
            metrics=CURVE_METRICS,
        )
        print(
            f"wrote {args.trials} trials × {args.steps} steps × {len(CURVE_METRICS)} metrics in {time.perf_counter() - start:.0f} s"
        )

    for label, client in [("sqlite", False)] + [("client", True)] * args.client:
        for name, load in (("load_trials", load_trials), ("load_curves", load_curves)):
            wall, cpu = time.perf_counter(), time.process_time()
            frame = load(store, study, client=client)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            # CPU time: what the wall time would be on an idle core (shared machines inflate wall)
            print(f"[{label}] {name}: {wall:.2f} s wall, {cpu:.2f} s CPU → {frame.shape}")


if __name__ == "__main__":
    main()
