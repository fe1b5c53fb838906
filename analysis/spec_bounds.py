"""The bounds of a study's swept axes as its sweep spec declared them, so that a map covers the
space that was asked about, not only the range its trials happened to reach (issue 20: a fit
over α 0.07–1.98 and N 50–1000 had no N = 0 row, the plain-training baseline)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from study.tracking import schema
from study.tracking.store import Store

Bounds = dict[str, tuple[float, float]]
PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def spec_bounds(space: Mapping[str, Any]) -> Bounds:
    """{param: (low, high)} of the numeric axes of a spec's `space` (as the parent's spec
    artifact holds it): a float or int range's low and high, a numeric grid's extremes."""
    out: Bounds = {}
    for key, param in space.items():
        if not isinstance(param, Mapping):
            continue
        if "low" in param and "high" in param:
            low, high = float(param["low"]), float(param["high"])
        else:
            values = [v for v in param.get("values", []) if isinstance(v, int | float)]
            if len(values) < 2 or isinstance(values[0], bool):
                continue
            low, high = float(min(values)), float(max(values))
        if high > low:
            out[key] = (low, high)
    return out


def study_bounds(store: Store, parent_run_id: str | None) -> Bounds:
    """The bounds of the spec logged on a study's parent run; {} when there is none."""
    if parent_run_id is None:
        return {}
    try:
        text = _spec_text(store, parent_run_id)
    except Exception:  # noqa: BLE001 — a study without a readable spec falls back on its trials
        return {}
    spec = yaml.safe_load(text) if text else None
    return spec_bounds((spec or {}).get("space") or {})


def _spec_text(store: Store, run_id: str) -> str | None:
    """The parent's spec artifact: read in place from a local artifact store, else downloaded
    with MLflow's progress bar off (it would land in a command's --json output)."""
    client = store.client()
    uri = urlparse(client.get_run(run_id).info.artifact_uri)
    if uri.scheme in ("", "file"):
        path = Path(unquote(uri.path)) / schema.SPEC_ARTIFACT
        return path.read_text() if path.exists() else None
    if schema.SPEC_ARTIFACT not in {f.path for f in client.list_artifacts(run_id)}:
        return None
    previous = os.environ.get(PROGRESS_BAR)
    os.environ[PROGRESS_BAR] = "false"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return Path(client.download_artifacts(run_id, schema.SPEC_ARTIFACT, tmp)).read_text()
    finally:
        if previous is None:
            os.environ.pop(PROGRESS_BAR, None)
        else:
            os.environ[PROGRESS_BAR] = previous
