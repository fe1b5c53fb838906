"""The boundary benchmark's synthetic regime maps and their noisy labels (`benchmarks/boundary.py`
documents the choices: *Regimes*, *Label noise*, *Objective told to Optuna*)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

REGIMES = ("iwl", "dual", "icl")  # index = the number of boundaries a point lies right of
SIGMA = 0.03  # label noise: sd of the jitter of the point a label is read at
SCORE_WIDTH = 0.05  # of the sigmoids of the synthetic ICL and IWL scores
AXES = ("x", "y", "z")

Surface = Callable[[np.ndarray], np.ndarray]  # (n, d − 1) other coordinates → (n,) x on it


def _b1_2d(rest: np.ndarray) -> np.ndarray:
    return 0.15 + 0.35 * rest[:, 0] ** 2


def _b2_2d(rest: np.ndarray) -> np.ndarray:
    y = rest[:, 0]
    return 0.45 + 0.2 * y + 0.05 * np.sin(2 * np.pi * y)


def _b1_3d(rest: np.ndarray) -> np.ndarray:
    y, z = rest[:, 0], rest[:, 1]
    return 0.12 + 0.3 * y**2 + 0.12 * z


def _b2_3d(rest: np.ndarray) -> np.ndarray:
    y, z = rest[:, 0], rest[:, 1]
    return 0.45 + 0.2 * y - 0.1 * z + 0.25 * z**2


@dataclass(frozen=True)
class SyntheticMap:
    """Regimes iwl | dual | icl left to right, split by the surfaces x = b₁ and x = b₂ > b₁."""

    dims: int
    surfaces: tuple[Surface, Surface]

    def offsets(self, unit: np.ndarray) -> np.ndarray:
        """(n, d) points → (n, 2) x − b_j(y, z): positive right of surface j."""
        unit = np.atleast_2d(unit)
        return np.column_stack([unit[:, 0] - b(unit[:, 1:]) for b in self.surfaces])

    def regime(self, unit: np.ndarray) -> np.ndarray:
        """(n,) true regime index (into REGIMES)."""
        return (self.offsets(unit) >= 0).sum(1)

    def dual_score(self, unit: np.ndarray) -> np.ndarray:
        """(n,) min(ICL, IWL) of smooth made-up scores: what a map study tells Optuna."""
        offsets = self.offsets(unit)
        icl = 1 / (1 + np.exp(-offsets[:, 0] / SCORE_WIDTH))
        iwl = 1 / (1 + np.exp(offsets[:, 1] / SCORE_WIDTH))
        return np.minimum(icl, iwl)

    def observe(self, unit: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A trial's (regime, dual score) at `unit` (n, d), both read at the jittered point."""
        seen = np.atleast_2d(unit) + noise
        return self.regime(seen), self.dual_score(seen)


MAPS = {2: SyntheticMap(2, (_b1_2d, _b2_2d)), 3: SyntheticMap(3, (_b1_3d, _b2_3d))}


def jitter(seed: int, n: int, dims: int) -> np.ndarray:
    """(n, d) label noise of trials 0 … n − 1: trial i's depends on (seed, i) only, so every
    sampler of a seed draws the same sequence (and a grid's point i the same as trial i)."""
    return np.stack([np.random.default_rng([seed, i]).normal(0, SIGMA, dims) for i in range(n)])


def cell_centres(n: int, dims: int) -> np.ndarray:
    """(n, …, n, d) centres of a regular grid of n^d cells of the unit cube, axis i varying along
    array axis i."""
    ticks = (np.arange(n) + 0.5) / n
    return np.stack(np.meshgrid(*[ticks] * dims, indexing="ij"), axis=-1)
