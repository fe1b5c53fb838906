"""Counter-based streams (study/trial/counter_rng.py): each trial's draws depend only on its key,
the step and the draw's index; uniform, independent across steps and trials; fixed for a seed."""

from __future__ import annotations

import pytest
import torch

from study.presets import build_config
from study.trial.counter_rng import below, bits, half_words, keep_mask, keys, uniform
from study.trial.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
N = 200_000  # a share of 0.5 has standard error 0.0011


def test_a_stream_draws_the_same_alone_and_beside_others():
    both = bits(keys([5, 2**62 + 9], CPU), 7, 1000)
    assert torch.equal(bits(keys([2**62 + 9], CPU), 7, 1000)[0], both[1])
    assert torch.equal(bits(keys([5], CPU), 7, 1000)[0], both[0])
    # the first draws of a step do not depend on how many are drawn
    assert torch.equal(bits(keys([5], CPU), 7, 10)[0], both[0, :10])


def test_the_stream_of_a_seed_is_fixed():
    """Pinned: a change here changes every trial's batches and masks (say so in the docs)."""
    pinned = [[1965966877, -269382198, -1428922954, -707668938]]
    assert bits(keys([0], CPU), 1, 4).tolist() == pinned


def test_draws_are_uniform_and_independent_across_steps_and_streams():
    k = keys([1, 2], CPU)
    u, later = uniform(k, 3, N), uniform(k, 4, N)
    assert (u >= 0).all() and (u < 1).all()
    assert u.mean(1).sub(0.5).abs().max() < 0.005 and u.var(1).sub(1 / 12).abs().max() < 0.002
    for a, b in ((u[0], later[0]), (u[0], u[1])):
        assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 0.01
    assert abs(float(below(bits(k, 9, N), 0.9).float().mean()) - 0.9) < 0.003
    assert below(bits(k, 9, 10), 1.0).all()
    halves = half_words(k, 9, N)
    assert halves.min() >= 0 and halves.max() < 65536
    assert torch.equal(half_words(k, 9, 11), halves[:, :11])
    assert abs(float(keep_mask(halves, 0.9).mean()) - 1.0) < 0.004  # mean 1: 0.9 × 1/0.9
    assert (keep_mask(halves[:, :10], 1.0) == 1).all()


def test_the_same_seed_gives_the_same_curve_run_after_run():
    cfg = build_config("tiny", sets={"train.steps": 12, "eval.every": 6, "task.ambiguity": "paper"})
    assert train(cfg, CPU).curve == train(cfg, CPU).curve
