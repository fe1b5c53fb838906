"""Where to put the next trials of a map: the pure arithmetic of the `boundary` sampler.

Points live in the unit cube of the swept axes (`study.sweep.boundary` maps params in and out).
After a space-filling seed design (`sobol_point`), `propose` fits the phase model
(`study.phase_model`, the one `analysis.phase` draws maps with) to the labelled trials and picks,
among random candidates, the one whose predicted regime is least certain, discounted near points
already running or queued so that parallel workers and the trials of a pack spread out, with a
share of proposals sent to a space-filling point instead (the model cannot be uncertain about
a region it has no reason to doubt).

Labels are probability vectors over the observed regimes, one row per trial: the replicates of a
point are rows of their own, so where seeds disagree the fitted probability sits between the
regimes and the point stays uncertain — a noisy label is a probability, not an average to hide.

Written by hand because no library proposes level sets of a classifier in batches: Optuna's
samplers, Ax and BoTorch seek optima (see docs/design.md, "Sampling the boundaries").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
from scipy.stats import qmc

from study.phase_model import AMPLITUDES, LENGTH_SCALES, fit_classifier
from study.sweep.defaults import (
    BOUNDARY_REPLICATES,
    BOUNDARY_SCORE,
    SETTLE_WITHIN,
    SPREAD_DOF,
    Score,
)

SCORES = get_args(Score)


@dataclass(frozen=True)
class Proposal:
    """A point in the unit cube and why it was chosen."""

    unit: np.ndarray  # (d,)
    reason: (
        str  # 'seed design' | 'uncertain' | 'replicate' (a new seed at a trial's point) | 'explore'
        # | 'margin' (a new seed where a contrast is within its seed spread of flipping)
    )
    score: float  # the acquisition value of the chosen point (NaN for the seed design)


def sobol_point(index: int, dims: int, seed: int) -> np.ndarray:
    """The `index`-th point of a scrambled Sobol sequence in [0, 1)^dims, the same for every
    process with the same seed (so parallel workers share one seed design)."""
    m = max(1, int(np.ceil(np.log2(index + 1))))
    point: np.ndarray = qmc.Sobol(dims, scramble=True, seed=seed).random_base2(m)[index]
    return point


def seed_size(dims: int) -> int:
    """The seed design's default size: 2^(d+1) Sobol points (8 in 2-D, 16 in 3-D), a balanced
    Sobol block that grows with the axes (8 points in 3-D left the first fit blind to corners)."""
    return int(2 ** (dims + 1))


SAME_POINT = 0.01  # unit distance within which a new point is a trial's own point


def same_point(unit: np.ndarray, points: np.ndarray, radius: float = SAME_POINT) -> int | None:
    """The index of the point of `points` (n, d) nearest `unit`, if within `radius`, else None.
    Training is deterministic, so a new point that close, run with its trial's seed, repeats that
    run (a live quickstart ran Δα = 8e-5 from an `uncertain` trial and got structural ICL 0.543
    against 0.540): it is that point, and runs as a replicate with a new seed."""
    if len(points) == 0:
        return None
    distance = np.linalg.norm(points - unit, axis=1)
    nearest = int(distance.argmin())
    return nearest if distance[nearest] <= radius else None


def seed_spread(
    groups: Sequence[Sequence[float]], prior: float, min_dof: int = SPREAD_DOF
) -> float:
    """The seed spread of a contrast: the pooled within-point sd over the points of `groups` (each
    point's contrasts, one a seed) that have several seeds, or `prior` while those hold fewer
    than `min_dof` degrees of freedom (one pair of seeds alone can agree by chance)."""
    multi = [np.asarray(g, dtype=float) for g in groups if len(g) >= 2]
    dof = sum(len(g) - 1 for g in multi)
    if dof < min_dof:
        return prior
    return float(np.sqrt(sum(float(((g - g.mean()) ** 2).sum()) for g in multi) / dof))


def unsettled(
    groups: Sequence[Sequence[float]],
    seeds: Sequence[int],
    spread: float,
    within: float = SETTLE_WITHIN,
    wanted: int = 2,
) -> int | None:
    """The point whose verdict is least settled among those that need another seed, or None.
    `groups[i]` holds point i's contrasts (how far each seed's pair is from flipping,
    `study.controls.contrast_distance`), `seeds[i]` its seeds finished, running or queued. A point
    needs one when it has fewer than `wanted` seeds and its mean contrast is within `within` seed
    spreads of flipping; the nearest to flipping goes first."""
    distances = [abs(float(np.mean(g))) if len(g) else float("inf") for g in groups]
    needing = [i for i, n in enumerate(seeds) if n < wanted and distances[i] < within * spread]
    return min(needing, key=distances.__getitem__, default=None)


def _entropy(p: np.ndarray) -> np.ndarray:
    out: np.ndarray = -(p * np.log(np.clip(p, 1e-12, None))).sum(-1)
    return out


def length_scales(dims: int) -> tuple[float, ...]:
    """The phase model's length-scale grid by dimension: in 3-D the finest basis (7³ centres × K)
    makes each Newton step a 1,000-square solve, too slow to refit for every proposal."""
    return LENGTH_SCALES if dims <= 2 else LENGTH_SCALES[1:]


def acquisition(draws: np.ndarray, score: str) -> np.ndarray:
    """(S, n, K) posterior draws of regime probabilities → (n,) uncertainty in [0, 1]:
    'entropy' of the posterior-mean probabilities (over log K); 'disagreement', the share of
    draws whose most likely regime is not the consensus; or 'bald', the mutual information
    between a new trial's regime and the map (entropy of the mean minus the mean entropy of the
    draws, over log K): what one more trial there can teach. Where the model is sure a point's
    outcome is a coin flip (its replicates split 50/50), every draw says p ≈ ½ and BALD is ≈ 0,
    while entropy and disagreement stay high — they spend trials on noise no trial can reduce."""
    k = draws.shape[-1]
    out: np.ndarray
    if score == "entropy":
        out = _entropy(draws.mean(0)) / np.log(k)
    elif score == "bald":
        out = (_entropy(draws.mean(0)) - _entropy(draws).mean(0)) / np.log(k)
    elif score == "disagreement":
        votes = draws.argmax(-1)  # (S, n)
        consensus = draws.mean(0).argmax(-1)
        out = (votes != consensus[None]).mean(0)
    else:
        raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")
    return out


def crowding(candidates: np.ndarray, near: np.ndarray, radius: float) -> np.ndarray:
    """(n,) factor in (0, 1]: Π over `near` points of (1 − exp(−|c − p|² / 2r²)), the local
    penalty that keeps a batch from piling onto one spot."""
    if near.size == 0:
        return np.ones(len(candidates))
    d2 = ((candidates[:, None, :] - near[None, :, :]) ** 2).sum(-1)
    factor: np.ndarray = np.prod(1 - np.exp(-d2 / (2 * radius**2)), axis=1)
    return factor


def propose(
    labelled: np.ndarray,
    targets: np.ndarray,
    pending: np.ndarray,
    rng: np.random.Generator,
    *,
    exploration: float = 0.1,
    spread: float = 0.1,
    n_candidates: int = 2048,
    n_draws: int = 64,
    score: str = BOUNDARY_SCORE,
    explore_at: np.ndarray | None = None,
    replicates: bool = BOUNDARY_REPLICATES,
) -> Proposal:
    """The next point, from `labelled` (n, d) unit points with `targets` (n, K) regime
    probabilities and `pending` (m, d) points running or queued; `explore_at` is where an
    exploring proposal goes (the seed design's sequence continued: a space-filling point; the
    candidate farthest from all trials, tried first, is a corner of the cube). With `replicates`
    the trials' own points are candidates too: a new seed at an existing point wins when it is
    worth more than any new point ('replicate').

    Only pending points crowd: a finished trial's answer is already in the model. (Crowding by
    finished trials too, at half the radius, was tried first: it pushed later proposals off a
    well-sampled boundary — mean distance from a known curve 0.17 against random's 0.25, where
    without it 0.09.)"""
    dims = labelled.shape[1]
    candidates = rng.random((n_candidates, dims))
    if rng.random() < exploration:
        where = explore_at if explore_at is not None else candidates[0]
        return Proposal(where, "explore", float("nan"))
    n_new = len(candidates)
    if replicates:
        candidates = np.vstack([candidates, np.unique(labelled, axis=0)])
    model = fit_classifier(labelled, targets, targets.shape[1], length_scales(dims), AMPLITUDES)
    draws = model.sample_proba(candidates, n_draws, rng)
    value = acquisition(draws, score) * crowding(candidates, pending.reshape(-1, dims), spread)
    best = int(value.argmax())
    if best >= n_new:
        return Proposal(candidates[best], "replicate", float(value[best]))
    if replicates and (on := same_point(candidates[best], labelled)) is not None:
        return Proposal(labelled[on], "replicate", float(value[best]))
    return Proposal(candidates[best], "uncertain", float(value[best]))
