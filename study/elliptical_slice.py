"""Elliptical slice sampling (Murray, Adams & MacKay 2010): exact draws from a posterior whose prior
is a zero-mean Gaussian, here the phase model's weights (`study.phase_model`). Written by hand
(numpy, 30 lines) because the libraries that offer it (PyMC, BlackJAX) bring a compiler stack for
one loop, and the phase model needs nothing but a log-likelihood and the prior's diagonal.

Each step draws ν from the prior and moves along the ellipse θ cos φ + ν sin φ, shrinking the
angle's bracket until the likelihood clears a random slice level: every step is accepted, there
is no step size to tune, and the chain's invariant law is prior × likelihood exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BURN_IN = 500  # steps from the MAP before the first kept draw
THIN = 20  # steps between kept draws: on the quickstart's 99-point map the draws' spread at 20
# matched that at 100 within 5% (at 5 it was 13% narrower)


def elliptical_slice(
    log_lik: Callable[[np.ndarray], float],
    start: np.ndarray,
    prior_sd: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
    burn_in: int = BURN_IN,
    thin: int = THIN,
) -> np.ndarray:
    """(n_draws, *start.shape) draws from N(0, diag(prior_sd²)) × exp(log_lik), the chain started at
    `start` (the MAP: no long walk in from the prior); prior_sd broadcasts against start."""
    theta, level = start.copy(), log_lik(start)
    draws = np.empty((n_draws, *start.shape))
    for step in range(burn_in + n_draws * thin):
        nu = rng.standard_normal(start.shape) * prior_sd
        threshold = level + np.log(rng.uniform())
        angle = rng.uniform(0.0, 2 * np.pi)
        low, high = angle - 2 * np.pi, angle
        while True:  # terminates: the bracket shrinks towards φ = 0, where θ itself clears it
            proposal = theta * np.cos(angle) + nu * np.sin(angle)
            proposal_level = log_lik(proposal)
            if proposal_level > threshold:
                theta, level = proposal, proposal_level
                break
            low, high = (angle, high) if angle < 0 else (low, angle)
            angle = rng.uniform(low, high)
        kept = step - burn_in
        if kept >= 0 and kept % thin == 0:
            draws[kept // thin] = theta
    return draws
