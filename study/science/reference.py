"""The science acceptance settings of docs/design.md §6, shared by the tests and `scripts/science.py`.

`REFERENCE` is the table of the paper's released code run at small scale (V = 1000, 2 layers,
8,000 steps, eval sets of 2,000 every 100 steps, seed 42); `reference_config` builds our `paper`
preset at that scale for one row. `measure` trains one config and reads off the curve features
the table reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from study.config import PROTOCOLS, TrialConfig
from study.features import Curve, peak
from study.metric_names import ACC_VAL, ICL_HEAD, ICL_TAIL, IWL_HEAD, structural
from study.presets import build_config
from study.trial.schedule import is_aligned
from study.trial.train import train


@dataclass(frozen=True)
class ReferenceRun:
    name: str
    overrides: dict[str, object]
    icl_peak: float | None  # structural ICL (holdout) peak; None where the table gives only the end
    icl_end: float
    switch_end: float
    tail_switch_end: float | None
    val_end: float


def vanilla_overrides(alpha: float) -> dict[str, object]:
    return {"task.zipf_exponent": alpha, "forgetting.kind": "none"}


def active_overrides(alpha: float, k: int) -> dict[str, object]:
    return {"task.zipf_exponent": alpha, "forgetting.kind": "active", "forgetting.forget_every": k}


def temporary_overrides(alpha: float, k: int, n: int) -> dict[str, object]:
    return {
        "task.zipf_exponent": alpha,
        "forgetting.kind": "temporary",
        "forgetting.forget_every": k,
        "forgetting.forget_until": n,
    }


def _row(
    name: str,
    overrides: dict[str, object],
    lr: float,
    icl_peak: float | None,
    icl_end: float,
    switch_end: float,
    tail_switch_end: float | None,
    val_end: float,
) -> ReferenceRun:
    """A row of the table: the released code's values for `overrides` at learning rate `lr`."""
    return ReferenceRun(
        name, {**overrides, "train.lr": lr}, icl_peak, icl_end, switch_end, tail_switch_end, val_end
    )


_VANILLA_A15, _VANILLA_A0 = vanilla_overrides(1.5), vanilla_overrides(0.0)
_ACTIVE = active_overrides(0.0, 100)
_TEMPORARY = temporary_overrides(1.5, 10, 2000)

# name, overrides, lr, then icl_peak, icl_end, switch_end, tail_switch_end, val_end
REFERENCE: tuple[ReferenceRun, ...] = (
    _row("vanilla a1.5 lr5e-5", _VANILLA_A15, 5e-5, 0.27, 0.00, 0.04, 0.04, 0.94),
    _row("vanilla a0 lr5e-5", _VANILLA_A0, 5e-5, 0.03, 0.00, 0.05, None, 1.00),
    _row("active k100 a0 lr5e-5", _ACTIVE, 5e-5, None, 0.47, 0.45, None, 0.44),
    _row("temporary k10 N2000 a1.5 lr5e-5", _TEMPORARY, 5e-5, None, 0.40, 0.05, 0.53, 0.99),
    _row("vanilla a1.5 lr2e-4", _VANILLA_A15, 2e-4, 0.05, 0.00, 0.06, 0.43, 1.00),
    _row("active k100 a0 lr2e-4", _ACTIVE, 2e-4, None, 0.91, 0.88, None, 0.91),
    _row("temporary k10 N2000 a1.5 lr2e-4", _TEMPORARY, 2e-4, None, 0.71, 0.06, 0.80, 1.00),
)


def reference_config(run: ReferenceRun, seed: int = 42, **extra: object) -> TrialConfig:
    return build_config("reference", sets={**run.overrides, "train.seed": seed, **extra})


@dataclass(frozen=True)
class Measured:
    curve: Curve
    icl_peak: dict[str, tuple[float, int]]  # protocol → (peak, step)
    final: dict[str, float]

    def row(self) -> dict[str, float]:
        """The reference table's columns, under every protocol."""
        out = {f"icl.{p}.peak": self.icl_peak[p][0] for p in PROTOCOLS}
        out |= {f"icl.{p}.peak_step": float(self.icl_peak[p][1]) for p in PROTOCOLS}
        out |= {f"icl.{p}.end": self.final[structural(p)] for p in PROTOCOLS}
        out |= {
            "switch.end": self.final[ICL_HEAD],
            "iwl.head.end": self.final[IWL_HEAD],
            "tail_switch.end": self.final[ICL_TAIL],
            "val.end": self.final[ACC_VAL],
        }
        return out


def measure(cfg: TrialConfig, device: str = "cpu") -> Measured:
    """Train `cfg`; its final values and peaks are read, as its summary's are, at evaluations
    aligned with the reset cycle (`is_aligned`): a forgetting run whose end falls mid-cycle is
    read at its last aligned evaluation, not a few steps after a reset."""
    curve = train(cfg, torch.device(device)).curve
    return from_curve(curve, cfg)


def from_curve(curve: Curve, cfg: TrialConfig) -> Measured:
    """`Measured` of a trained curve (a saved one too): final and peaks over aligned points."""
    aligned = [(step, m) for step, m in curve if is_aligned(step, cfg)]
    peaks: dict[str, tuple[float, int]] = {p: peak(aligned, structural(p)) for p in PROTOCOLS}
    return Measured(curve, peaks, aligned[-1][1])
