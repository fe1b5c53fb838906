"""Where runs and studies live: MLflow tracking URI, artifact root, Optuna journal.

Default, as MLflow's own convention: `./mlruns` under the directory the command starts in — SQLite
at `mlruns/mlflow.db`, artifacts under `mlruns/artifacts`, the Optuna journal at
`mlruns/optuna.journal`. Paths are made absolute once, so child processes and artifacts agree.
`--tracking-uri` and `MLFLOW_TRACKING_URI` override the tracking URI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = "mlruns"


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
        return cls(tracking_uri=uri, root=root_path)

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

    def client(self):
        """An `MlflowClient` on this store (imports mlflow lazily)."""
        from mlflow.tracking import MlflowClient

        self.prepare()
        return MlflowClient(tracking_uri=self.tracking_uri)

    def experiment_id(self, name: str) -> str:
        """Get or create the experiment `name`, with its artifacts under `artifact_root`."""
        from mlflow.exceptions import MlflowException

        client = self.client()
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(
                name, artifact_location=(self.artifact_root / name).as_uri()
            )
        except MlflowException:  # created meanwhile by another process
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id
