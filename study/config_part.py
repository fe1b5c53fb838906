"""The base of every part of a trial config: frozen, and an unknown key is an error (a typo in
YAML or on the command line exits 2 naming it, never silently ignored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
