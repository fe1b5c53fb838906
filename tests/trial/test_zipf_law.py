"""`task.zipf_law` (study/trial/tasks.py): `paper` draws as the released sampler does, never rank 1
of a class at α > 0 and uniformly at α = 0; `full` draws every rank (docs/design.md §6, §7)."""

from __future__ import annotations

import pytest
import torch

from study.presets import build_config
from study.trial.seeds import generator
from study.trial.tasks import Task
from study.trial.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def rank_one_share(law: str, alpha: float) -> float:
    """Share of training content tokens that are rank 1 of their class (noun id 0, adjective
    id V/2), over 4,000 sequences."""
    cfg = build_config("tiny", sets={"task.zipf_law": law, "task.zipf_exponent": alpha})
    task = Task(cfg.task)
    inputs = task.sample("train", 4000, generator(3)).inputs
    content = inputs[inputs < task.vocab.n_content]
    first = (content == 0) | (content == task.vocab.class_size)
    return float(first.float().mean())


def test_the_paper_law_never_draws_rank_one_at_positive_alpha():
    assert rank_one_share("paper", 1.5) == 0.0
    assert rank_one_share("full", 1.5) > 0.3  # rank 1 holds about 40 % of a class at α = 1.5
    # α = 0: the released code samples uniformly, rank 1 included (1 of 20 ids a class here)
    assert rank_one_share("paper", 0.0) == pytest.approx(rank_one_share("full", 0.0))
    assert rank_one_share("paper", 0.0) > 0.02


def test_a_run_under_the_paper_law_trains_and_is_seeded():
    cfg = build_config("tiny", sets={"task.zipf_law": "paper"})
    curves = [train(cfg, torch.device("cpu")).curve for _ in range(2)]
    assert curves[0] == curves[1] and curves[0][-1][0] == cfg.train.steps
