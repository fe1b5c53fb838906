"""Resolve the compute device once; everything downstream takes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# the CLI imports this for its --device choices; torch loads only when a device is resolved,
# so `dpl --help` stays fast
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` → CUDA when present, else CPU. `cuda` without a GPU is an error, not a fallback."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: got {name!r} but no CUDA GPU is available; use 'auto' or 'cpu'")
    return device


def configure_cpu_threads(device: str, workers: int = 1) -> None:
    """Torch intra-op threads for this process: one per worker on the CPU unless the user set
    OMP_NUM_THREADS or DPL_THREADS. The models here are small and run op by op, so torch's pool
    costs more than it gains — measured on 2 shared cores, a 1,000-step quickstart trial took
    20.6 s with one thread and 60.2 s with two."""
    import os

    import torch

    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return
    chosen = os.environ.get("DPL_THREADS") or os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(max(1, int(chosen)) if chosen else 1)
