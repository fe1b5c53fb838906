"""A thin MLflow writer: flat dotted params, one batched write per evaluation, tags, artifacts.

It stores each metric once and as finely as it is measured: the headline names are left out
(they repeat the `protocol` tag's names; the readers rebuild them), a value that is undefined
(NaN) is left out, and values are rounded by what they measure (`rounded`). The caller keeps
its own, unrounded numbers.
"""

from __future__ import annotations

import functools
import math
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from study.metric_names import HEADLINES, kind
from study.tracking.schema import METRICS_PER_BATCH, PARAMS_PER_BATCH
from study.tracking.uninterrupted import uninterrupted

SIGNIFICANT = 5  # digits kept of a loss or diagnostic


def share_decimals(n: int) -> int:
    """Decimals that tell apart multiples of 1/n (an accuracy on n sequences): 4 up to n = 10⁴."""
    return max(4, math.ceil(math.log10(max(n, 1))))


def rounded(values: Mapping[str, float], n_examples: int | None) -> dict[str, float]:
    """Shares to `share_decimals(n_examples)`, losses and diagnostics to SIGNIFICANT digits;
    steps, names outside the contract and shares without `n_examples` as they are."""
    out = {}
    for name, value in values.items():
        what, v = kind(name), float(value)
        if what == "share" and n_examples is not None:
            v = round(v, share_decimals(n_examples))
        elif what == "real" and math.isfinite(v):
            v = float(f"{v:.{SIGNIFICANT}g}")
        out[name] = v
    return out


class RunLogger:
    """Writes to one MLflow run through the client; no global active-run state. Each write is
    whole: an interrupt waits until it is done (`uninterrupted`)."""

    def __init__(self, client: MlflowClient, run_id: str, n_examples: int | None = None):
        self.client, self.run_id = client, run_id
        self.n_examples = n_examples  # sequences per evaluation set: how fine a share is

    @uninterrupted
    def params(self, flat: Mapping[str, Any]) -> None:
        items = [Param(k, str(v)) for k, v in sorted(flat.items())]
        for i in range(0, len(items), PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + PARAMS_PER_BATCH])

    def metrics(self, step: int, values: Mapping[str, float]) -> None:
        self.history([(step, values)])

    @uninterrupted
    def history(self, curve: Sequence[tuple[int, Mapping[str, float]]]) -> None:
        """Many evaluations at once (a `Curve`, or any such steps), in as few batched writes as
        MLflow allows."""
        now = int(time.time() * 1000)
        items = [
            Metric(k, v, now, step)
            for step, values in curve
            for k, v in rounded(values, self.n_examples).items()
            if k not in HEADLINES and not math.isnan(v)  # undefined is absent, not NaN
        ]
        for i in range(0, len(items), METRICS_PER_BATCH):
            self.client.log_batch(self.run_id, metrics=items[i : i + METRICS_PER_BATCH])

    @uninterrupted
    def tags(self, values: Mapping[str, Any]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in values.items()])

    @uninterrupted
    def artifact(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))

    @uninterrupted
    def end(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status)


@functools.cache
def git_commit() -> str:
    """The commit of the checkout this package runs from, or 'unknown' for an installed copy."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
