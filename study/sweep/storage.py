"""Where studies live, and how a spec becomes (or continues) its Optuna study.

Default, with no server: an Optuna journal file at `mlruns/optuna.journal` (`Store.journal_path`).
The journal backend appends under a file lock, so several worker processes on one machine share
it safely; SQLite, by contrast, fails with "database is locked" under parallel writers.
`--storage` takes any Optuna storage URL (`postgresql://…`, `mysql://…`, `sqlite:///…`,
`redis://…` as a journal) or a path to a journal file, so the same spec can run against a
shared database later.

A server that does not answer is told within seconds (`CONNECT_TIMEOUT_S`), with the URL's
password masked; a URL no driver understands is a usage error naming `--storage`.
"""

from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

from study.errors import ConfigError, RuntimeFailure
from study.param_names import PARAMS
from study.sweep import attrs
from study.sweep.ask_tell import directions, objective_names
from study.sweep.samplers import build_pruner, build_sampler
from study.sweep.spec import SweepSpec, spec_hash
from study.tracking.credentials import redact
from study.tracking.store import Store
from study.tracking.uninterrupted import uninterrupted

READY_WAIT_S = 120  # how long a racing creator waits for the winner to finish setting up


class StudyError(ConfigError):
    """A study that does not exist, or exists with another spec: the CLI exits 2."""


def storage_url(url: str | None, store: Store) -> str:
    """The URL every process opens: `--storage`, else the journal file under the store's root."""
    return url or str(store.journal_path)


def is_journal_file(url: str) -> bool:
    return "://" not in url


CONNECT_TIMEOUT_S = 5  # per attempt: an unreachable server fails well within 10 s
SCHEMES = "postgresql://, mysql://, sqlite:///, redis:// or a journal file path"


class StorageUnreachable(RuntimeFailure):
    """The storage server did not answer (or refused us): a runtime failure, exit 1."""


def open_storage(url: str, *, heartbeat_s: int | None = None) -> BaseStorage:
    """The storage at `url`; on a database, with Optuna's trial heartbeat when `heartbeat_s` is
    given (`study.sweep.liveness`)."""
    if url.startswith("redis://"):
        return JournalStorage(JournalRedisBackend(url))
    if "://" in url:
        return _rdb(url, heartbeat_s)
    path = Path(url).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(_Journal(str(path)))


class _Journal(JournalFileBackend):
    """The journal file, with SIGINT / SIGTERM held while it is locked: an interrupt inside
    Optuna's rename-based file lock leaves the lock half released, and the FileNotFoundError
    that follows replaces the interrupt (the trial then stays RUNNING)."""

    append_logs = uninterrupted(JournalFileBackend.append_logs)
    read_logs = uninterrupted(JournalFileBackend.read_logs)


@functools.lru_cache(maxsize=8)
def _rdb(url: str, heartbeat_s: int | None) -> RDBStorage:
    """One storage per URL and heartbeat in a process, shared by its threads (Optuna's sessions
    are per thread). A new RDBStorage per call kept each discarded engine's pooled connections
    open until a garbage collection: 8 workers held 88 connections to the test PostgreSQL, at
    its limit of 100."""
    import sqlalchemy.exc

    url = _with_driver(url)
    engine: dict[str, object] = {"pool_pre_ping": True}
    if url.startswith(("postgresql", "mysql")):
        engine["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        try:
            return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat_s)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            # on a fresh database, workers that start together race to create Optuna's tables;
            # the loser finds them made
            time.sleep(1.0)
            return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat_s)
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as err:
        raise StudyError("--storage", redact(url), f"{err}; expected {SCHEMES}") from None
    except sqlalchemy.exc.OperationalError as err:
        reason = str(err.orig or err).strip().splitlines()[0]
        raise StorageUnreachable(
            f"cannot reach the Optuna storage {redact(url)}: {reason}"
        ) from None


def _with_driver(url: str) -> str:
    """`postgresql://` means psycopg 2 to SQLAlchemy; the `postgres` extra installs psycopg 3,
    so a bare scheme is given that driver when psycopg 2 is absent."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            try:
                import psycopg2  # noqa: F401
            except ImportError:
                return "postgresql+psycopg://" + url.removeprefix(bare)
    return url


def has_storage(url: str) -> bool:
    """False for a journal file that does not exist yet (reading commands should not create it)."""
    return not is_journal_file(url) or Path(url).expanduser().exists()


def create_or_continue(
    spec: SweepSpec,
    storage: BaseStorage,
    *,
    force: bool = False,
    spec_file: str = "",
    worker: int = 0,
) -> tuple[optuna.Study, bool]:
    """The spec's study and whether this call created it. Creation is atomic in every storage
    (one creator wins; the others get Optuna's DuplicatedStudyError, and should `wait_ready`
    before they set up anything of their own). The stored spec must be this one; a changed
    spec is refused unless `force`, which adopts it."""
    from optuna.exceptions import DuplicatedStudyError

    sampler, pruner = build_sampler(spec, worker), build_pruner(spec)
    try:
        study = optuna.create_study(
            study_name=spec.name,
            directions=directions(spec),
            storage=storage,
            sampler=sampler,
            pruner=pruner,
        )
        created = True
        with warnings.catch_warnings():  # "experimental": stable since Optuna 3.2
            warnings.simplefilter("ignore")
            study.set_metric_names(objective_names(spec))
    except DuplicatedStudyError:
        study = optuna.load_study(
            study_name=spec.name, storage=storage, sampler=sampler, pruner=pruner
        )
        created = False
    stored = study.user_attrs.get(attrs.SPEC_HASH)
    if stored is not None and stored != spec_hash(spec):
        if not force:
            raise StudyError(
                "study",
                spec.name,
                "rerun with --force to adopt this spec, or give the spec a new name",
                message=f"study {spec.name!r} exists with another spec (hash {stored}, this one "
                f"{spec_hash(spec)}); rerun with --force to adopt this spec, or give the spec a "
                "new name",
            )
        if [d.name.lower() for d in study.directions] != directions(spec):
            allowed = "the objective's directions cannot change; give the spec a new name"
            raise StudyError("study", spec.name, allowed, message=f"study {spec.name!r}: {allowed}")
    if stored != spec_hash(spec) or study.user_attrs.get(attrs.SPEC) != spec.to_json():
        study.set_user_attr(attrs.SPEC, spec.to_json())
        study.set_user_attr(attrs.SPEC_HASH, spec_hash(spec))
        study.set_user_attr(attrs.SPEC_FILE, spec_file)
    return study, created


def describe_study(study: optuna.Study, spec: SweepSpec) -> None:
    """The study's note in optuna-dashboard (markdown): what it varies, what its objective
    value is, where its runs are — readable text rather than the stored spec's JSON."""
    from optuna_dashboard import save_note  # a heavy import, for the one command that writes

    axes = "\n".join(f"- `{k}`: {PARAMS.get(k, (k,))[0]}" for k in spec.space)
    value = (
        "the dual score (min of final structural ICL and head IWL); a map optimises nothing, "
        "its answer is the classified map (`dpl analyze phase`)"
        if spec.is_map
        else ", ".join(f"{t.direction} `{t.metric}`" for t in spec.targets)
    )
    body = (
        f"## {spec.name}\n\n{spec.description or ''}\n\n**Varies**\n\n{axes}\n\n"
        f"**Objective value**: {value}.\n\nEach trial's `regime` and metric user attributes "
        "(`icl/structural`, `summary/dual_score`, …) hold its outcome; `mlflow_run_id` is its "
        "run in MLflow (`dpl ui`)."
    )
    save_note(study, body)


def wait_ready(study: optuna.Study) -> None:
    """Wait (up to READY_WAIT_S) for the creator to finish; a study from before `attrs.READY`
    existed counts as ready once it has its spec. A creator that died meanwhile is waited for
    in vain, and then set-up goes on here (it is idempotent, bar a second parent run)."""
    deadline = time.monotonic() + READY_WAIT_S
    while time.monotonic() < deadline:
        study_attrs = study.user_attrs
        if study_attrs.get(attrs.READY) or attrs.PARENT_RUN in study_attrs:
            return
        time.sleep(0.2)


def load(name: str, storage: BaseStorage, worker: int = 0) -> tuple[optuna.Study, SweepSpec | None]:
    """An existing study and its stored spec (None for a study not made by `dpl sweep`)."""
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = ", ".join(optuna.get_all_study_names(storage)) or "none"
        raise StudyError(
            "study",
            name,
            f"studies: {names}",
            message=f"no study named {name!r} in this storage (studies: {names})",
        ) from None
    spec = stored_spec(study)
    if spec is not None:  # reload with the spec's sampler and pruner, for workers
        study = optuna.load_study(
            study_name=name,
            storage=storage,
            sampler=build_sampler(spec, worker),
            pruner=build_pruner(spec),
        )
    return study, spec


def stored_spec(study: optuna.Study) -> SweepSpec | None:
    tree = study.user_attrs.get(attrs.SPEC)
    return SweepSpec.model_validate(tree) if tree is not None else None
