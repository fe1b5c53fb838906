"""The phase model's posterior draws: the elliptical slice sampler against posteriors known in
closed form, and the exact draws against the Laplace Gaussian where both should agree (the
real map, where they part, is tested in tests/benchmarks/test_replay.py)."""

import numpy as np
import pytest

from study.elliptical_slice import elliptical_slice
from study.phase_model import fit_classifier


def test_with_no_data_the_draws_follow_the_prior():
    prior_sd = np.array([0.5, 2.0, 5.0])
    draws = elliptical_slice(
        lambda t: np.zeros(len(t)), np.zeros(3), prior_sd, 2000, np.random.default_rng(0), thin=2
    )
    assert np.abs(draws.mean(0) / prior_sd).max() < 0.15
    assert np.allclose(draws.std(0) / prior_sd, 1.0, atol=0.1)


def test_a_gaussian_likelihood_gives_the_conjugate_posterior():
    # prior N(0, 2²), likelihood N(θ; 3, 1²) → posterior N(2.4, 0.8)
    draws = elliptical_slice(
        lambda t: -0.5 * ((t - 3.0) ** 2).sum(-1),
        np.zeros(1),
        np.array([2.0]),
        2000,
        np.random.default_rng(1),
        thin=2,
    )
    assert draws.mean() == pytest.approx(2.4, abs=0.08)
    assert draws.var() == pytest.approx(0.8, rel=0.15)


def _logistic_trials(n, sharpness, seed):
    """n points in the unit square, labelled 1 right of x = 0.5 with P = sigmoid(sharpness·(x − ½))."""
    rng = np.random.default_rng(seed)
    unit = rng.uniform(size=(n, 2))
    p = 1 / (1 + np.exp(-sharpness * (unit[:, 0] - 0.5)))
    return unit, (rng.uniform(size=n) < p).astype(int)


def test_where_the_data_are_many_and_noisy_exact_and_laplace_draws_agree():
    unit, labels = _logistic_trials(400, 4.0, seed=2)
    model = fit_classifier(unit, labels, 2, length_scales=(0.6,), amplitudes=(0.25,))
    at = np.random.default_rng(3).uniform(size=(50, 2))
    exact = model.sample_proba(at, 400, np.random.default_rng(4))[..., 1]
    laplace = model.sample_proba(at, 400, np.random.default_rng(4), posterior="laplace")[..., 1]
    assert np.abs(exact.mean(0) - laplace.mean(0)).max() < 0.05
    ratio = exact.std(0).mean() / laplace.std(0).mean()
    assert 0.75 < ratio < 1.33


def test_an_unknown_posterior_is_refused():
    unit, labels = _logistic_trials(20, 4.0, seed=7)
    model = fit_classifier(unit, labels, 2, length_scales=(0.6,), amplitudes=(0.25,))
    with pytest.raises(ValueError, match="posterior 'mcmc'"):
        model.sample_weights(10, np.random.default_rng(0), posterior="mcmc")
