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


def configure_cpu_threads(device: str) -> None:
    """Torch intra-op threads for this process: one per worker on the CPU unless the user set
    OMP_NUM_THREADS or DPL_THREADS. The models here are small and run op by op, so torch's pool
    costs more than it gains — measured on 2 shared cores, a 1,000-step quickstart trial took
    20.6 s with one thread and 60.2 s with two."""
    import os

    import torch

    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        return  # `cuda:i` too: a GPU worker keeps torch's threads
    chosen = os.environ.get("DPL_THREADS") or os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(max(1, int(chosen)) if chosen else 1)


def default_workers(device: str) -> int:
    """Worker processes when `--workers` is not given: one per CPU core this process may use on
    the CPU (each with one torch thread, `configure_cpu_threads`: small models gain more from
    parallel trials than from a thread pool), one per GPU on CUDA."""
    import os

    import torch

    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return max(1, torch.cuda.device_count())
    if device.startswith("cuda:"):
        return 1
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
_tuned: bool | None = None


def tune_allocator() -> bool:
    """Keep freed host memory in this process (Linux, glibc), so that a training step does not
    hand its large tensors back to the system and page-fault them in again on the next step.

    By default glibc serves allocations above a threshold (128 KiB, rising to 32 MiB) with mmap
    and unmaps them on free; the logits of a paper-shape batch (128 × 3 × 11,002 floats) and an
    evaluation chunk are such allocations, made and freed every step. Serving everything from the
    heap and never trimming it costs the peak memory once and saves the faults: measured on 2 idle
    CPU cores at the paper shape (`dpl bench train`, 2 threads), 42.6 against 46.0 ms a step and
    7.2 against 10.5 s an evaluation. No library does this from Python; torch leaves the host
    allocator to libc. Set DPL_MALLOC_TUNE=0 to skip it.
    Returns whether the allocator is tuned; safe to call more than once."""
    global _tuned
    if _tuned is None:
        _tuned = _mallopt()
    return _tuned


def _mallopt() -> bool:
    import ctypes
    import os
    import sys

    if not sys.platform.startswith("linux") or os.environ.get("DPL_MALLOC_TUNE", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, …)
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
