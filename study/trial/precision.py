"""The trial's matmul precision (`train.precision`), applied around training and evaluation.

fp32 is the default and the only choice whose curves match across CPU and GPU — to float
rounding (about 1e-4: GPU kernels sum in another order); the random draws themselves are the same
bits on both (docs/design.md §4). tf32 lets CUDA
run float32 matmuls on its TF32 tensor cores (10-bit mantissa inputs, float32 accumulation); the
CPU has none, so there it is fp32. bf16 autocasts matmuls and attention to bfloat16 on either
device; parameters, optimiser state and the loss stay float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def precision(name: str, device: torch.device) -> Iterator[None]:
    """Run the block at `name` precision on `device`; the global matmul setting is restored."""
    before = torch.get_float32_matmul_precision()
    if name == "tf32":
        torch.set_float32_matmul_precision("high")
    try:
        if name == "bf16":
            with torch.autocast(device.type, dtype=torch.bfloat16):
                yield
        else:
            yield
    finally:
        torch.set_float32_matmul_precision(before)
