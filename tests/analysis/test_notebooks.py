"""The notebooks under analysis/notebooks execute without error against a tiny study."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from benchmarks.synthetic import write_synthetic_study
from study.tracking.store import Store

NOTEBOOKS = Path(__file__).resolve().parents[2] / "analysis" / "notebooks"
STUDY = "paper_tiny"  # 'paper…' so that paper_figures.ipynb finds it by default


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory, new_store) -> Store:
    """A 24-trial study written by the tracking contract (α × N, four regimes, 8 evaluations)."""
    store = new_store(tmp_path_factory.mktemp("notebooks") / "mlruns")
    write_synthetic_study(store, STUDY, n_trials=24, n_steps=8, seed=3)
    return store


@pytest.mark.parametrize("name", ["phase_diagrams", "paper_figures", "holdout_protocols"])
def test_notebook_executes(name, tiny_study, tmp_path, monkeypatch):
    monkeypatch.setenv("DPL_STUDY", STUDY)
    monkeypatch.setenv("DPL_TRACKING_URI", tiny_study.tracking_uri)
    monkeypatch.setenv("DPL_STORE_ROOT", str(tiny_study.root))
    monkeypatch.delenv("DPL_STUDIES", raising=False)
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    errors = [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "error"
    ]
    assert not errors
    images = [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if "image/png" in o.get("data", {})
    ]
    assert images, "no figure was displayed"
