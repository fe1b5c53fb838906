"""Per-purpose seeds, derived from one root seed by one documented scheme.

`derive_seed(root, purpose)` = the first 8 bytes of SHA-256 of `"{root}/{purpose}"`, as an integer
below 2**63. Changing what one purpose draws never shifts another purpose's stream, and eval sets
do not depend on how long training runs.
"""

from __future__ import annotations

import hashlib

import torch

PURPOSES = ("data", "eval", "init", "forgetting", "dropout", "holdout", "ambiguity")


def derive_seed(root: int, purpose: str) -> int:
    digest = hashlib.sha256(f"{root}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def trial_seeds(root: int) -> dict[str, int]:
    return {purpose: derive_seed(root, purpose) for purpose in PURPOSES}


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g
