"""Each trial's training loss since its last evaluation, kept on the device: a running sum and
count, and the first step (with its value) whose loss was not finite — a few [K] ops a step and
no host read until the trials are evaluated."""

from __future__ import annotations

import math

import torch
from torch import Tensor

WIDTH = 3  # (mean, first non-finite step, its loss): what `read` gives per trial


class LossWindow:
    def __init__(self, k: int, device: torch.device):
        self.sum = torch.zeros(k, dtype=torch.float64, device=device)
        self.count = torch.zeros(k, dtype=torch.float64, device=device)
        self.first_bad = torch.full((k,), math.inf, dtype=torch.float64, device=device)
        self.bad_loss = torch.zeros(k, dtype=torch.float64, device=device)

    def add(self, step: int, losses: Tensor) -> None:
        """The K losses of `step`."""
        losses = losses.double()
        new_bad = ~torch.isfinite(losses) & torch.isinf(self.first_bad)
        self.first_bad = torch.where(new_bad, step, self.first_bad)
        self.bad_loss = torch.where(new_bad, losses, self.bad_loss)
        self.sum += losses
        self.count += 1

    def read(self, rows: Tensor) -> Tensor:
        """[len(rows), WIDTH] for the trials at `rows` (mean NaN before any step), and their
        windows start again."""
        out = torch.stack([self.sum / self.count, self.first_bad, self.bad_loss], dim=1)[rows]
        for t, v in ((self.sum, 0.0), (self.count, 0.0), (self.first_bad, math.inf)):
            t.index_fill_(0, rows, v)
        return out

    def keep(self, rows: Tensor) -> None:
        for name in ("sum", "count", "first_bad", "bad_loss"):
            setattr(self, name, getattr(self, name)[rows])
