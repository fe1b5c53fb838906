"""The replay benchmark's ground: the reference grid's points and stored outcomes, what a pick
returns, a study's answer and its score against the reference map (`benchmarks/replay.py`
documents the choices)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from benchmarks.reference_grid import X, Y, reference_map
from study.phase_model import AMPLITUDES, fit_classifier
from study.regimes import REGIMES
from study.sweep.labels import Labeller
from study.sweep.proposals import length_scales

# The quickstart's space (sweeps/quickstart.yaml) and the reference grid's values on it
# (benchmarks/specs/quickstart_grid99.yaml).
BOUNDS = {X: (0.0, 2.0), Y: (0.0, 1000.0)}
ALPHAS = np.linspace(0.0, 2.0, 9)
NS = np.arange(0, 1001, 100)
LABELLER = Labeller(0.5, 0.5, 300)  # the quickstart's thresholds and eval.n_examples
SURE = 0.8  # a point is drawn as sure where ≥ 80% of posterior draws agree (analysis.phase)
N_DRAWS = 200


def to_unit(values: np.ndarray) -> np.ndarray:
    """(n, 2) (α, N) → the unit square over the spec's bounds."""
    lows = np.array([BOUNDS[X][0], BOUNDS[Y][0]])
    highs = np.array([BOUNDS[X][1], BOUNDS[Y][1]])
    return (np.asarray(values, dtype=float) - lows) / (highs - lows)


@dataclass(frozen=True)
class ReplayGrid:
    """The points with stored outcomes (the rest of the 9 × 11 lattice is excluded from picks
    and scoring), each point's outcome rows, and the reference map's majority per point."""

    points: np.ndarray  # (P, 2) α, N
    outcomes: tuple[pl.DataFrame, ...]  # per point: regime, icl, iwl, dual_score
    majority: np.ndarray  # (P,) regime name, or "" where the point has none (a tie)
    lattice_size: int = len(ALPHAS) * len(NS)

    @property
    def unit(self) -> np.ndarray:
        return to_unit(self.points)

    @property
    def scored(self) -> np.ndarray:
        """(P,) bool: the points the reference map has an answer at."""
        return self.majority != ""

    @classmethod
    def of(cls, outcomes: pl.DataFrame) -> ReplayGrid:
        ref = reference_map(outcomes)
        groups = outcomes.partition_by("alpha", "N", as_dict=True)
        points, rows = [], []
        for alpha, n in ref.select("alpha", "N").iter_rows():
            points.append((alpha, n))
            rows.append(groups[(alpha, n)].select("regime", "icl", "iwl", "dual_score"))
        majority = ref["majority"].fill_null("").to_numpy().astype(str)
        return cls(np.array(points, dtype=float), tuple(rows), majority)

    def nearest(self, values: np.ndarray) -> int:
        """The index of the point with outcomes nearest (α, N), in unit distance."""
        return int(((self.unit - to_unit(values)[None]) ** 2).sum(1).argmin())

    def index_of(self, alpha: float, n: float) -> int:
        return self.nearest(np.array([alpha, n]))


class Oracle:
    """What a trial at a point returns: one of its stored seeds' outcomes, the point's seeds
    taken in an order drawn from (sampler seed, point) and cycled once used up — a new seed at
    a visited point gives another replicate, as a fresh trial would."""

    def __init__(self, grid: ReplayGrid, seed: int) -> None:
        self._grid, self._seed = grid, seed
        self._visits = np.zeros(len(grid.points), dtype=int)

    def pick(self, index: int) -> dict:
        rows = self._grid.outcomes[index]
        order = np.random.default_rng([self._seed, index]).permutation(rows.height)
        row = rows.row(int(order[self._visits[index] % rows.height]), named=True)
        self._visits[index] += 1
        return row


def labels_of(rows: list[dict]) -> tuple[tuple[str, ...], np.ndarray]:
    """The regimes observed and (n, K) soft targets, labelled as the boundary sampler labels
    trials (`study.sweep.labels.Labeller`); unlabelled rows are zeros."""
    labels = [LABELLER.label(r["regime"], r["icl"], r["iwl"]) or {} for r in rows]
    observed = tuple(g for g in REGIMES if any(label.get(g, 0) > 0 for label in labels))
    targets = np.array([[label.get(g, 0.0) for g in observed] for label in labels])
    return observed, targets.reshape(len(rows), len(observed))


@dataclass(frozen=True)
class Score:
    """A study's answer on the scored points: agreement with the reference majority, the share
    drawn as sure, and the agreement there (calibration: claimed ≥ SURE) — from the phase model's
    exact posterior draws (what the maps draw), and from its Laplace Gaussian for comparison."""

    agreement: float
    sure_share: float
    sure_agreement: float  # NaN where nothing is sure
    sure_claimed: float  # the mean share of draws agreeing over the sure points (≥ SURE)
    laplace_sure_share: float
    laplace_sure_agreement: float
    laplace_sure_claimed: float


def calibration(draws: np.ndarray, called: np.ndarray, right: np.ndarray) -> tuple[float, ...]:
    """(sure share, agreement there, claimed there) of (S, n, K) draws around the called regimes."""
    agree = (draws.argmax(-1) == called[None]).mean(0)
    sure = agree >= SURE
    if not sure.any():
        return 0.0, float("nan"), float("nan")
    return float(sure.mean()), float(right[sure].mean()), float(agree[sure].mean())


def score(unit: np.ndarray, rows: list[dict], grid: ReplayGrid, seed: int = 0) -> Score:
    """Fit the phase model to the trials (unit points, outcome rows) as `analysis.phase` does
    (per-axis length scales, soft labels) and score its posterior-mean regime per scored point."""
    observed, targets = labels_of(rows)
    keep = targets.sum(1) > 0
    at = grid.unit[grid.scored]
    truth = grid.majority[grid.scored]
    if len(observed) < 2:  # one regime seen: the map is that regime everywhere, surely
        predicted = np.full(len(at), observed[0] if observed else "")
        right = float((predicted == truth).mean())
        return Score(right, 1.0, right, 1.0, 1.0, right, 1.0)
    model = fit_classifier(
        unit[keep], targets[keep], len(observed), length_scales(2), AMPLITUDES, per_axis=True
    )
    rng = np.random.default_rng(seed)
    draws = model.sample_proba(at, N_DRAWS, rng)
    called = draws.mean(0).argmax(-1)
    right = np.asarray(observed)[called] == truth
    laplace = model.sample_proba(at, N_DRAWS, rng, posterior="laplace")
    return Score(
        float(right.mean()),
        *calibration(draws, called, right),
        *calibration(laplace, called, right),
    )
