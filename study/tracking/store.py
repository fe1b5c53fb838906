"""Where runs and studies live: MLflow tracking URI, artifact root, Optuna journal.

Default, as MLflow's own convention: `./mlruns` under the directory the command starts in — SQLite
at `mlruns/mlflow.db`, artifacts under `mlruns/artifacts`, the Optuna journal at
`mlruns/optuna.journal`. Paths are made absolute once, so child processes and artifacts agree.
`--tracking-uri` and `MLFLOW_TRACKING_URI` override the tracking URI; with a tracking server
(`http(s)://`), the server decides where artifacts go, and `check` tells within seconds when it
does not answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from study.errors import ConfigError, RuntimeFailure
from study.tracking.credentials import password_of, redact, scrub

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

DEFAULT_ROOT = "mlruns"
SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks")
CHECK_TIMEOUT_S = 5
# the experiment tag MLflow 3's UI reads to choose its workflow (runs view vs GenAI traces)
EXPERIMENT_KIND, EXPERIMENT_KIND_ML = "mlflow.experimentKind", "custom_model_development"


class TrackingUnreachable(RuntimeFailure):
    """The tracking server did not answer: a runtime failure, exit 1."""


@dataclass(frozen=True)
class Store:
    tracking_uri: str
    root: Path  # local folder for artifacts and the default Optuna journal

    @classmethod
    def resolve(cls, tracking_uri: str | None = None, root: str | Path | None = None) -> Store:
        """CLI flag, then `MLFLOW_TRACKING_URI`, then `sqlite:///<root>/mlflow.db`."""
        root_path = Path(root or DEFAULT_ROOT).expanduser().resolve()
        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            uri = f"sqlite:///{root_path / 'mlflow.db'}"
        elif uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"
        elif "://" not in uri:  # a bare folder: MLflow's file store
            uri = Path(uri).resolve().as_uri()
        scheme = uri.split("://", 1)[0].split("+", 1)[0]
        if scheme not in SCHEMES:
            schemes = ", ".join(s + "://" for s in SCHEMES)
            allowed = f"expected one of {schemes} or a folder"
            raise ConfigError("--tracking-uri", redact(uri), allowed)
        return cls(tracking_uri=uri, root=root_path)

    def relative(self, path_or_url: str) -> str:
        """A path inside the store's root, written relative to it (`optuna.journal`): tags that
        name files must survive the store being moved. URLs and outside paths stay as they are."""
        if "://" in path_or_url:
            return path_or_url
        try:
            return str(Path(path_or_url).resolve().relative_to(self.root))
        except ValueError:
            return path_or_url

    @property
    def is_server(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    def check(self) -> None:
        """Raise `TrackingUnreachable` (password masked) unless a tracking server answers its
        health check within CHECK_TIMEOUT_S; a local store has nothing to check."""
        if not self.is_server:
            return
        import requests

        url = self.tracking_uri.rstrip("/") + "/health"
        try:
            requests.get(url, timeout=CHECK_TIMEOUT_S).raise_for_status()
        except requests.RequestException as err:
            reason = scrub(str(err), self.tracking_uri)
            raise TrackingUnreachable(
                f"cannot reach the MLflow tracking server {redact(self.tracking_uri)}: {reason}"
            ) from None

    @property
    def artifact_root(self) -> Path:
        return self.root / "artifacts"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the tracking store is local SQLite, else None."""
        prefix = "sqlite:///"
        return (
            Path(self.tracking_uri.removeprefix(prefix))
            if self.tracking_uri.startswith(prefix)
            else None
        )

    @property
    def journal_path(self) -> Path:
        return self.root / "optuna.journal"

    def prepare(self) -> None:
        """Create the folders; the MLflow schema is created by the first client call."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifact_root.mkdir(parents=True, exist_ok=True)

    def client(self) -> MlflowClient:
        """An `MlflowClient` on this store (imports mlflow lazily)."""
        from mlflow.tracking import MlflowClient

        if password_of(self.tracking_uri):  # MLflow prints run links with the URI as given
            os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        self.prepare()
        if self.sqlite_path is None:
            return MlflowClient(tracking_uri=self.tracking_uri)
        # MLflow creates and migrates a new SQLite schema when it first opens it, and two
        # processes doing that at once collide (duplicate columns, failed migrations): it is
        # opened here one process at a time
        from filelock import FileLock

        with FileLock(f"{self.sqlite_path}.lock"):
            client = MlflowClient(tracking_uri=self.tracking_uri)
            client.search_experiments(max_results=1)
        return client

    def experiment_id(self, name: str) -> str:
        """Get or create the experiment `name`, with its artifacts under `artifact_root`."""
        from mlflow.exceptions import MlflowException

        client = self.client()
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        # a server stores artifacts where it was told to (`--artifacts-destination`)
        location = None if self.is_server else (self.artifact_root / name).as_uri()
        try:  # a machine-learning experiment, not GenAI: the UI opens on its runs
            return client.create_experiment(
                name, artifact_location=location, tags={EXPERIMENT_KIND: EXPERIMENT_KIND_ML}
            )
        except MlflowException:  # created meanwhile by another process
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id
