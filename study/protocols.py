"""The ways a held-out token's rows are represented when structural ICL is scored
(docs/design.md §2): `paper` (as training left them), `init` (a fixed draw from the init law),
`matched` (that draw at the trained rows' norm). The POS task scores all three; a world whose
held-out set has no rows of its own scores `paper` only (docs/design.md §9)."""

from __future__ import annotations

from typing import Literal

Protocol = Literal["paper", "init", "matched"]
PROTOCOLS: tuple[Protocol, ...] = ("paper", "init", "matched")
