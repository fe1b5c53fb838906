"""AdamW over stacked parameters, with every hyperparameter and every step count per trial, in a
constant number of launches per step.

A pack holds each parameter as [K, …], trial k in row k. `torch.optim.AdamW` takes one learning
rate per parameter group and keeps one step count per tensor, so it cannot give the K trials
their own lr, betas, eps and weight decay, nor reset one trial's Adam state at its forgetting
step. This is its update (the single-tensor, non-capturable form) written once over flat
buffers: every parameter of trial k lives in row k of one [K, P] tensor (the pack's parameters
are views of it), and so do its gradient and moments, so a step is about twenty ops on [K, P]
whatever the number of parameter tensors. Step counts are per trial and per parameter tensor
([K, n]) because a reset may clear the embeddings' state alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from study.config import TrialConfig


class PackedAdamW:
    def __init__(self, params: dict[str, Tensor], cfgs: Sequence[TrialConfig]):
        first = next(iter(params.values()))
        k, device, self.dtype = first.shape[0], first.device, first.dtype
        self.shapes = {n: p.shape[1:] for n, p in params.items()}
        sizes = [math.prod(s) for s in self.shapes.values()]
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self.offsets = dict(zip(self.shapes, starts, strict=True))
        # the parameter tensor of each column of the flat buffers, to spread [K, n] over [K, P]
        columns = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
        self.column_param = columns.to(device)
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(k, -1) for p in params.values()], dim=1)
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
        self.step_counts = torch.zeros(k, len(sizes), dtype=torch.float64, device=device)

        def column(name: str) -> Tensor:
            values = [[getattr(c.train, name)] for c in cfgs]
            return torch.tensor(values, dtype=torch.float64, device=device)

        self.lr, self.wd, self.eps = column("lr"), column("weight_decay"), column("eps")
        self.beta1, self.beta2 = column("beta1"), column("beta2")
        self._views()

    def _views(self) -> None:
        """`params` (leaves the model computes with), `m`, `v` and `steps`: per-name views of
        the flat buffers, so that writing a view writes the buffer."""
        self.params = {n: t.requires_grad_() for n, t in self._split(self.flat).items()}
        self.m, self.v = self._split(self.exp_avg), self._split(self.exp_avg_sq)
        self.steps = {n: self.step_counts[:, i] for i, n in enumerate(self.shapes)}
        dt = self.dtype  # the per-trial factors of the update, in the parameters' dtype
        self.decay, self.eps_t = (1 - self.lr * self.wd).to(dt), self.eps.to(dt)
        self.b1_t, self.b2_t = (1 - self.beta1).to(dt), self.beta2.to(dt)
        self.one_minus_b2 = (1 - self.beta2).to(dt)

    def _split(self, flat: Tensor) -> dict[str, Tensor]:
        k = flat.shape[0]
        return {
            n: flat[:, o : o + math.prod(s)].view(k, *s)
            for (n, s), o in zip(self.shapes.items(), self.offsets.values(), strict=True)
        }

    @torch.no_grad()
    def step(self) -> None:
        """One AdamW step of every trial (parameters without a gradient count as zero)."""
        k, dt = self.flat.shape[0], self.dtype
        grads = [
            p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params.values()
        ]
        g = torch.cat([x.reshape(k, -1) for x in grads], dim=1)
        self.step_counts += 1
        # per trial and tensor: the bias-corrected step size and √(1 − β2^t), spread to columns
        size = self.lr / (1 - self.beta1**self.step_counts)
        bc2 = (1 - self.beta2**self.step_counts).sqrt()
        columns = self.column_param.expand(2, k, -1)  # gather: 50× index_select's speed on a CPU
        size, bc2 = torch.stack([size, bc2]).to(dt).gather(2, columns)
        p, m, v = self.flat, self.exp_avg, self.exp_avg_sq
        p.mul_(self.decay)
        m.lerp_(g, self.b1_t)
        v.mul_(self.b2_t).add_(self.one_minus_b2 * g * g)
        denom = (v.sqrt() / bc2).add_(self.eps_t)
        p.sub_(size * (m / denom))  # addcdiv_ order: the ratio first

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

    @torch.no_grad()
    def keep(self, rows: Tensor) -> None:
        """Only the trials at `rows` stay (the others left the pack); `params` are new leaves."""
        for name in (
            "flat",
            "exp_avg",
            "exp_avg_sq",
            "step_counts",
            "lr",
            "wd",
            "eps",
            "beta1",
            "beta2",
        ):
            setattr(self, name, getattr(self, name)[rows])
        self._views()
