"""The boundary benchmark's answer of a study and its errors against the truth
(`benchmarks/boundary.py` documents the choices: *A study's answer*, *Reference grid*, *Errors*)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.spatial import cKDTree

from benchmarks.boundary_maps import MAPS, SIGMA, SyntheticMap, cell_centres
from study.phase_model import AMPLITUDES, Classifier, fit_classifier
from study.sweep.proposals import length_scales

METRICS = ("boundary_distance", "misclassified_area")
CHUNK = 16_384  # reference points per prediction block (the RBF features of 100k points are large)


def boundary_points(regimes: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """(m, d) midpoints between neighbouring cells (along any axis) of different regime, from
    `regimes` (n, …, n) and their `coords` (n, …, n, d)."""
    parts = []
    for axis in range(regimes.ndim):
        n = regimes.shape[axis]
        lo, hi = (np.take(regimes, range(a, a + n - 1), axis) for a in (0, 1))
        mid = (np.take(coords, range(n - 1), axis) + np.take(coords, range(1, n), axis)) / 2
        parts.append(mid[lo != hi])
    return np.concatenate(parts)


@dataclass(frozen=True)
class Reference:
    """The dense grid a map is scored on: its cells' centres and true regimes, and the true
    boundary's points (with a tree to find the nearest)."""

    coords: np.ndarray  # (n, …, n, d)
    truth: np.ndarray  # (n^d,) regime index
    boundary: np.ndarray  # (m, d)
    tree: cKDTree

    @property
    def points(self) -> np.ndarray:
        return self.coords.reshape(-1, self.coords.shape[-1])

    @classmethod
    def of(cls, synthetic: SyntheticMap, n: int) -> Reference:
        coords = cell_centres(n, synthetic.dims)
        truth = synthetic.regime(coords.reshape(-1, synthetic.dims))
        boundary = boundary_points(truth.reshape(coords.shape[:-1]), coords)
        return cls(coords, truth, boundary, cKDTree(boundary))


@cache
def reference(dims: int, n: int) -> Reference:
    """One reference per (dims, resolution) and process."""
    return Reference.of(MAPS[dims], n)


def map_errors(predicted: np.ndarray, ref: Reference) -> dict[str, float]:
    """The errors of a predicted regime index per reference cell (`benchmarks/boundary.py`,
    *Errors*)."""
    dims = ref.coords.shape[-1]
    fitted = boundary_points(predicted.reshape(ref.coords.shape[:-1]), ref.coords)
    if len(fitted):
        to_true = float(ref.tree.query(fitted)[0].mean())
        to_fitted = float(cKDTree(fitted).query(ref.boundary)[0].mean())
    else:
        to_true = to_fitted = math.sqrt(dims)
    return {
        "misclassified_area": float((predicted != ref.truth).mean()),
        "boundary_distance": (to_true + to_fitted) / 2,
        "fitted_to_true": to_true,
        "true_to_fitted": to_fitted,
    }


def most_likely(model: Classifier, points: np.ndarray) -> np.ndarray:
    """(n,) index of the most likely class at the MAP, in blocks of CHUNK points."""
    blocks = np.array_split(points, max(1, math.ceil(len(points) / CHUNK)))
    return np.concatenate([model.proba(block).argmax(1) for block in blocks])


def fitted_map(unit: np.ndarray, labels: np.ndarray, ref: Reference) -> np.ndarray:
    """A study's answer: the phase model of its trials (unit points, regime indices), as the
    boundary sampler fits it, evaluated on the reference cells."""
    observed = np.unique(labels)
    if observed.size == 1:
        return np.full(len(ref.truth), observed[0])
    targets = (labels[:, None] == observed[None, :]).astype(float)
    dims = unit.shape[1]
    model = fit_classifier(unit, targets, observed.size, length_scales(dims), AMPLITUDES)
    return observed[most_likely(model, ref.points)]


def study_errors(unit: np.ndarray, labels: np.ndarray, ref: Reference) -> dict[str, float]:
    """The errors of the map fitted to these trials, and where they were put."""
    near = float((ref.tree.query(unit)[0] <= 2 * SIGMA).mean())
    return map_errors(fitted_map(unit, labels, ref), ref) | {"near_boundary": near}
