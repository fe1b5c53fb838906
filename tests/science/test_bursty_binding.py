"""`scripts/bursty_binding.py`'s two layouts of one batch: the fused control keeps each label
with its own item, and the nearest-item rule (the ceiling it prints) answers the pure ICL task."""

from __future__ import annotations

import torch

from study.presets import build_config
from study.trial.worlds.bursty import BurstyWorld
from tests.science.scripts import load_script


def test_the_fused_layout_keeps_each_label_with_its_item_and_the_nearest_item_rule_answers():
    binding = load_script("bursty_binding")
    cfg = build_config("bursty_small", sets=["task.n_classes=1024", "task.p_fresh=1.0"])
    world = BurstyWorld(cfg, torch.device("cpu"), {"data": 1, "eval": 2, "model": 3})
    batch = world.training(torch.rand(64, world.layout.slots, generator=torch.Generator()))
    d, n = cfg.task.n_dims, cfg.task.n_context
    joined = binding.fused(batch.inputs, d)
    assert joined.shape == (64, n + 1, batch.inputs.shape[-1])
    assert torch.equal(joined[:, :n, :d], batch.inputs[:, 0:-1:2, :d])  # the items, in order
    assert torch.equal(joined[:, :n, d:], batch.inputs[:, 1:-1:2, d:])  # each with its label
    assert torch.equal(joined[:, -1], batch.inputs[:, -1])  # the query
    hits = binding.nearest_item(batch.inputs, d) == batch.targets[:, 0]
    assert hits.float().mean() == 1.0
