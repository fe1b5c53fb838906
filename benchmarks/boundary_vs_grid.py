"""A boundary-sampled study beside a dense grid of the same map: do their fitted maps agree?

    dpl sweep run sweeps/quickstart.yaml                          # 20 trials, boundary sampler
    dpl sweep run benchmarks/specs/quickstart_grid66.yaml         # 66 trials, 6 × 11 grid
    python benchmarks/boundary_vs_grid.py [--boundary quickstart] [--grid quickstart-grid66]

Both studies are read from one MLflow store (default ./mlruns; or the grid's from
--grid-tracking-uri), classified by the one regime
rule and fitted by `analysis.phase.fit_phase` over the same two axes. Agreement is the share
of the area where the two most likely regimes are the same, over the rectangle both studies
cover, on an 80 × 80 grid (each fit's nearest grid cell). Writes both maps side by side and a
JSON of the numbers to --out (default benchmarks/out/boundary_vs_grid/).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from analysis.classify import classify
from analysis.figures.phase import phase_diagram
from analysis.phase import PhaseFit, fit_phase
from analysis.runs import load_study
from study.tracking.store import Store

X, Y = "task.zipf_exponent", "forgetting.forget_until"


def fitted(store: Store, study: str, x: str, y: str) -> PhaseFit:
    loaded = load_study(store, study)
    scales = loaded.log_scales()
    trials = classify(loaded.trials)
    return fit_phase(trials, x, y, log_x=scales.get(x), log_y=scales.get(y))


def _nearest(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    index = np.clip(np.searchsorted(grid, values), 1, len(grid) - 1)
    left, right = grid[index - 1], grid[index]
    return np.where(values - left < right - values, index - 1, index)


def agreement(a: PhaseFit, b: PhaseFit, n: int = 80) -> float:
    """Share of the common rectangle where both fits' most likely regimes are the same."""
    xs = np.linspace(max(a.grid_x[0], b.grid_x[0]), min(a.grid_x[-1], b.grid_x[-1]), n)
    ys = np.linspace(max(a.grid_y[0], b.grid_y[0]), min(a.grid_y[-1], b.grid_y[-1]), n)
    gx, gy = np.meshgrid(xs, ys)

    def regimes(fit: PhaseFit) -> np.ndarray:
        return fit.most_likely[_nearest(fit.grid_y, gy), _nearest(fit.grid_x, gx)]

    return float((regimes(a) == regimes(b)).mean())


def side_by_side(fits: dict[str, PhaseFit], out: Path) -> Path:
    """Each study's own phase figure, placed side by side (each keeps its legend and band)."""
    out.mkdir(parents=True, exist_ok=True)
    images = []
    for name, fit in fits.items():
        path = out / f"{name}.png"
        figure = phase_diagram(fit, title=f"{name}: {fit.n_trials} trials")
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        images.append(plt.imread(path))
    figure, axes = plt.subplots(1, len(images), figsize=(7 * len(images), 5.5))
    for ax, image in zip(np.atleast_1d(axes), images, strict=True):
        ax.imshow(image)
        ax.axis("off")
    path = out / "side_by_side.png"
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", default=None, help="MLflow store (default ./mlruns)")
    parser.add_argument("--grid-tracking-uri", default=None, help="the grid's store, if another")
    parser.add_argument("--boundary", default="quickstart")
    parser.add_argument("--grid", default="quickstart-grid66")
    parser.add_argument("--x", default=X)
    parser.add_argument("--y", default=Y)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/boundary_vs_grid"))
    args = parser.parse_args()
    stores = {
        args.boundary: Store.resolve(args.tracking_uri),
        args.grid: Store.resolve(args.grid_tracking_uri or args.tracking_uri),
    }
    fits = {name: fitted(store, name, args.x, args.y) for name, store in stores.items()}
    share = agreement(fits[args.boundary], fits[args.grid])
    figure = side_by_side(fits, args.out)
    result = {
        "boundary": {"study": args.boundary, "trials": fits[args.boundary].n_trials},
        "grid": {"study": args.grid, "trials": fits[args.grid].n_trials},
        "agreement": round(share, 4),
        "target": 0.9,
        "figure": str(figure),
    }
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    b, g = result["boundary"]["trials"], result["grid"]["trials"]
    verdict = "meets" if share >= 0.9 else "misses"
    print(f"{args.boundary} ({b} trials) and {args.grid} ({g} trials, {g / b:.1f}×) agree on ")
    print(f"{share:.1%} of the area: {verdict} the ≥ 90% target. Figure: {figure}")


if __name__ == "__main__":
    main()
