"""`dpl ui` in a real headless Chromium (Debian's `chromium`) on a tiny study's store: the runs
view lists the parent and its children by their point names, a child's learning-curve figure
is served, its charts come in sections (one per prefix before the `/`), and a screenshot is
kept (test-artifacts/ui/, a CI artifact). Skips where Chromium is absent, except under CI=true."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from analysis.figures.save import save_trial_figure
from study.sweep.launch import finish, prepare, run_sweep
from study.sweep.spec import parse_spec
from tests.cluster.workers import env
from tests.servers import skip_or_fail
from tests.sweep.conftest import GRID6

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        skip_or_fail(
            "headless Chromium unavailable: no `chromium` on the PATH (Debian: apt-get install chromium)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


@pytest.fixture(scope="module")
def ui_store(tmp_path_factory, new_store):
    """A tiny two-point study with its learning-curve figures, made once for both tests:
    (folder, store, journal)."""
    import torch

    tmp_path = tmp_path_factory.mktemp("browse")
    store = new_store(tmp_path / "mlruns")
    torch.set_num_threads(1)
    base = copy.deepcopy(GRID6["base"])
    base["set"].pop("forgetting.kind")
    spec = parse_spec(
        {
            **copy.deepcopy(GRID6),
            "base": base,
            "name": "browse",
            "space": {"task.zipf_exponent": [0.0, 1.5], "forgetting.kind": ["none", "active"]},
        }
    )
    journal = str(tmp_path / "optuna.journal")
    sweep = prepare(spec, store, journal, curve_figure=save_trial_figure)
    run_sweep(sweep)
    finish(sweep)
    return tmp_path, store, journal


@contextlib.contextmanager
def serving(tmp_path: Path, args: list[str], health: str = "/health"):
    """`dpl ui ARGS` on a free port until the test ends: (base URL, its log)."""
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from study.cli.main import cli; cli()",
        "ui",
        *args,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log_path = tmp_path / f"ui-{port}.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if _get(f"{base}{health}"):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"dpl ui did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
    try:
        yield base, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_runs_view_lists_the_study_by_point_names_and_serves_its_figures(ui_store):
    chromium = _chromium()
    tmp_path, store, _ = ui_store
    with serving(tmp_path, ["--tracking-uri", store.tracking_uri, "--study", "browse"]) as (
        base,
        log,
    ):
        _check_runs_view(chromium, base, log)


def _check_runs_view(chromium: str, base: str, log: Path) -> None:
    link = next(
        line.split(": ", 1)[1]
        for line in log.read_text().splitlines()
        if line.strip().startswith("browse:")
    )
    assert link.startswith(base) and link.endswith("/runs?workflowType=machine_learning")
    experiment_id = link.split("/experiments/")[1].split("/")[0]

    # the REST API behind the runs view: the parent and its 4 children, named by their points
    body = json.dumps({"experiment_ids": [experiment_id], "max_results": 100}).encode()
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/runs/search",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    runs = json.loads(urllib.request.urlopen(request, timeout=30).read())["runs"]
    names = {r["info"]["run_name"] for r in runs}
    assert "browse" in names and {"α=0 · none · s0", "α=1.5 · active · s0"} <= names
    tags = {
        r["info"]["run_name"]: {t["key"]: t["value"] for t in r["data"].get("tags", [])}
        for r in runs
    }
    experiment = json.loads(
        _get(f"{base}/api/2.0/mlflow/experiments/get?experiment_id={experiment_id}")
    )
    kind = {t["key"]: t["value"] for t in experiment["experiment"]["tags"]}["mlflow.experimentKind"]
    assert kind == "custom_model_development"  # the runs view, not GenAI's traces
    assert "→" in tags["α=1.5 · active · s0"]["mlflow.note.content"]

    child = next(r for r in runs if r["info"]["run_name"] == "α=1.5 · active · s0")
    query = urllib.parse.urlencode(
        {"path": "learning_curves.png", "run_uuid": child["info"]["run_id"]}
    )
    png = _get(f"{base}/get-artifact?{query}")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    # the pages themselves, rendered by a real browser: the runs view (children nest under
    # the parent), and one child's page with its description
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    runs_view = _render(chromium, link, "runs_view")
    assert "Evaluation runs" not in runs_view  # the model-training side, not GenAI's
    assert "Study browse" in runs_view and "5 matching runs" in runs_view  # parent + 4 nested
    page = link.replace("/runs?", f"/runs/{child['info']['run_id']}?")
    child_page = _render(chromium, page, "child_run")
    assert "α=1.5 · active · s0" in child_page and "→" in child_page
    # its charts in one section per prefix before the `/` (design §3), none left unsectioned
    charts = link.replace("/runs?", f"/runs/{child['info']['run_id']}/model-metrics?")
    metrics_tab = _render(chromium, charts, "child_metrics")
    assert all(f"{s} (" in metrics_tab for s in ("loss", "acc", "icl", "iwl", "holdout", "summary"))
    assert "Model metrics (0)" in metrics_tab


def _render(chromium: str, url: str, name: str) -> str:
    """The page's DOM once its scripts have run, as text; and a screenshot of it."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1500,950"]
    flags.append("--virtual-time-budget=20000")
    shot = ARTIFACTS / f"{name}.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=120
    )
    assert shot.stat().st_size > 10_000
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    (ARTIFACTS / f"{name}.html").write_text(dom)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def test_optuna_dashboard_shows_the_study_its_note_and_a_named_objective(ui_store):
    chromium = _chromium()
    tmp_path, _, journal = ui_store
    with serving(tmp_path, ["--optuna", "--storage", journal], health="/api/studies") as (base, _):
        _check_dashboard(chromium, base)


def _check_dashboard(chromium: str, base: str) -> None:
    studies = json.loads(_get(f"{base}/api/studies"))["study_summaries"]
    [study] = [s for s in studies if s["study_name"] == "browse"]
    detail = json.loads(_get(f"{base}/api/studies/{study['study_id']}?after=0"))
    assert "Varies" in detail["note"]["body"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _render(chromium, f"{base}/dashboard/studies/{study['study_id']}", "dashboard")
    assert "browse" in page and "summary/dual_score" in page
