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
