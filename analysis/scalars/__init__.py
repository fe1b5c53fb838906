"""One value read out of polars as the Python number it is.

Polars types a scalar (`Series.min`, `.max`, `.mean`, `DataFrame.item`) as the union of every
value a column can hold — dates, strings, lists, None — so arithmetic on it does not type-check.
These helpers convert at the one place a value is read, exactly as `float()` / `int()` would
(the same values accepted, the same TypeError for None or a non-number).

A package of its own: a layer below both the top-level modules of `analysis` and
`analysis.figures`, so either can import it without an import cycle between layers
(tests/test_layers.py).
"""

from __future__ import annotations

from typing import SupportsFloat, SupportsIndex, SupportsInt


def to_float(value: object) -> float:
    """`float(value)` for a number (or numeric string) read from polars; TypeError otherwise."""
    if isinstance(value, SupportsFloat | SupportsIndex | str):
        return float(value)
    raise TypeError(f"expected a number, got {value!r}")


def to_int(value: object) -> int:
    """`int(value)` for a number (or integer string) read from polars; TypeError otherwise."""
    if isinstance(value, SupportsInt | SupportsIndex | str):
        return int(value)
    raise TypeError(f"expected an integer, got {value!r}")


def optional_float(value: object) -> float | None:
    """`to_float`, with None (a null, or the min/max of an empty column) passed through."""
    return None if value is None else to_float(value)


def optional_int(value: object) -> int | None:
    """`to_int`, with None (a null, or the min/max of an empty column) passed through."""
    return None if value is None else to_int(value)
