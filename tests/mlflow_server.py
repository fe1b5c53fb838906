"""A real `mlflow server` on 127.0.0.1 for the cluster tests, backed by the tests' PostgreSQL
(`tests/servers.py`) and proxying artifacts to a local folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers import HOST, _free_port, _tail


@dataclass
class MlflowServer:
    """A running `mlflow server` subprocess that proxies artifacts to a local folder."""

    url: str
    log_path: Path
    process: subprocess.Popen
    artifacts: Path

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server and its uvicorn worker (one process group); kill if it hangs."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)


def start_mlflow_server(
    backend_uri: str, artifacts: Path, *, timeout: float = 60.0, log_path: Path | None = None
) -> MlflowServer:
    """Start `mlflow server` (one worker, artifact proxy to `artifacts`) on 127.0.0.1 and a free
    port, and wait until GET /health answers 200."""
    artifacts.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = log_path or artifacts.parent / f"mlflow-server-{port}.log"
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        artifacts.resolve().as_uri(),
        "--serve-artifacts",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {
        **os.environ,
        # no huey job consumer: the tests need no server-side jobs, and it costs start-up time
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    with log_path.open("wb") as log:
        # own process group: stop() must reach the uvicorn child, not only the mlflow CLI
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    server = MlflowServer(
        url=f"http://{HOST}:{port}", log_path=log_path, process=process, artifacts=artifacts
    )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"mlflow server exited with {process.returncode} before answering /health; "
                f"log tail ({log_path}):\n{_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"mlflow server did not answer /health within {timeout:.0f} s; "
                f"log tail ({log_path}):\n{_tail(log_path)}"
            )
        time.sleep(0.25)
