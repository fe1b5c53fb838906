"""AdamW over stacked parameters, with every hyperparameter and every step count per trial.

A pack holds each parameter as one tensor [K, …], trial k in row k. `torch.optim.AdamW` takes one
learning rate per parameter group and keeps one step count per tensor, so it cannot give the K
trials their own lr, betas, eps and weight decay, nor reset one trial's Adam state at its
forgetting step. This is its update (the single-tensor, non-capturable form) written once with
[K] tensors broadcast over each parameter's trailing dims.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from study.config import TrialConfig


class PackedAdamW:
    def __init__(self, params: dict[str, Tensor], cfgs: Sequence[TrialConfig]):
        device = next(iter(params.values())).device
        column = lambda name: torch.tensor(  # noqa: E731
            [getattr(c.train, name) for c in cfgs], dtype=torch.float64, device=device
        )
        self.params = params
        self.lr, self.wd, self.eps = column("lr"), column("weight_decay"), column("eps")
        self.beta1, self.beta2 = column("beta1"), column("beta2")
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}
        self.steps = {n: torch.zeros(len(cfgs), dtype=torch.float64, device=device) for n in params}

    @torch.no_grad()
    def step(self) -> None:
        for name, p in self.params.items():
            if p.grad is None:
                continue
            g, m, v = p.grad, self.m[name], self.v[name]
            self.steps[name] += 1
            view = (-1,) + (1,) * (p.dim() - 1)  # [K] → [K, 1, …]
            t = self.steps[name]
            b1, b2 = self.beta1, self.beta2
            p.mul_((1 - self.lr * self.wd).to(p.dtype).view(view))
            m.lerp_(g, (1 - b1).to(p.dtype).view(view))
            v.mul_(b2.to(p.dtype).view(view)).add_((1 - b2).to(p.dtype).view(view) * g * g)
            step_size = (self.lr / (1 - b1**t)).to(p.dtype).view(view)
            denom = (v.sqrt() / (1 - b2**t).sqrt().to(p.dtype).view(view)).add_(
                self.eps.to(p.dtype).view(view)
            )
            p.sub_(step_size * (m / denom))  # addcdiv_ order: the ratio first

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    @torch.no_grad()
    def clear(self, trial: int, names: Iterable[str]) -> None:
        """Forget trial `trial`'s Adam state of the named parameters: moments and step count,
        as `optimizer.state.pop(param)` does for a tensor of its own."""
        for name in names:
            self.m[name][trial] = 0
            self.v[name][trial] = 0
            self.steps[name][trial] = 0

    def keep(self, rows: Tensor, params: dict[str, Tensor]) -> None:
        """Only the trials at `rows` stay (the others left the pack); `params` are the kept
        rows of the parameters, as new leaves."""
        self.params = params
        for table in (self.m, self.v, self.steps):
            for name in table:
                table[name] = table[name][rows]
        for name in ("lr", "wd", "eps", "beta1", "beta2"):
            setattr(self, name, getattr(self, name)[rows])
