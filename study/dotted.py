"""Dotted keys ↔ nested mappings: `{'task': {'n_vocab': 100}}` ↔ `{'task.n_vocab': 100}`, the
form MLflow params, `--set` overrides and sweep spaces use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from study.errors import ConfigError


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def nest(assignments: Mapping[str, Any]) -> dict[str, Any]:
    """`{'a.b': 1}` → `{'a': {'b': 1}}`; a key that is both a value and a section is an error."""
    tree: dict[str, Any] = {}
    for dotted, value in assignments.items():
        *parents, leaf = dotted.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(
                    dotted,
                    value,
                    f"{part!r} is a value, not a section",
                    message=f"{dotted}: {part!r} is a value, not a section",
                )
        node[leaf] = value
    return tree
