"""A frame as a file of a report: CSV or parquet by the suffix, and the nested columns a CSV
cannot hold left out."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import polars.selectors as cs


def flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Without the nested columns (lists, structs, objects) a CSV cannot hold."""
    return frame.drop(cs.by_dtype(pl.List, pl.Struct, pl.Object))


def write_table(frame: pl.DataFrame, path: Path) -> Path:
    """`frame` at `path`: parquet as it is, CSV flattened; returns the path."""
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        flat(frame).write_csv(path)
    return path
