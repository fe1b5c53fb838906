"""Where studies live, and how a spec becomes (or continues) its Optuna study.

Default, with no server: an Optuna journal file at `mlruns/optuna.journal` (`Store.journal_path`).
The journal backend appends under a file lock, so several worker processes on one machine share
it safely; SQLite, by contrast, fails with "database is locked" under parallel writers.
`--storage` takes any Optuna storage URL (`postgresql://…`, `mysql://…`, `sqlite:///…`,
`redis://…` as a journal) or a path to a journal file, so the same spec can run against a
shared database later.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

from study.errors import ConfigError
from study.sweep.space import build_pruner, build_sampler, directions
from study.sweep.spec import SweepSpec, spec_hash
from study.tracking.store import Store

SPEC_ATTR, HASH_ATTR, FILE_ATTR = "spec", "spec_hash", "spec_file"  # study user attributes


class StudyError(ConfigError):
    """A study that does not exist, or exists with another spec: the CLI exits 2."""


def storage_url(url: str | None, store: Store) -> str:
    """The URL every process opens: `--storage`, else the journal file under the store's root."""
    return url or str(store.journal_path)


def is_journal_file(url: str) -> bool:
    return "://" not in url


def open_storage(url: str) -> BaseStorage:
    if url.startswith("redis://"):
        return JournalStorage(JournalRedisBackend(url))
    if "://" in url:
        return RDBStorage(url)
    path = Path(url).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


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
) -> optuna.Study:
    """The spec's study: created with its spec stored as user attributes, or continued when the
    stored spec is the same. A changed spec is refused unless `force`, which adopts it."""
    kwargs = dict(storage=storage, sampler=build_sampler(spec, worker), pruner=build_pruner(spec))
    study = optuna.create_study(
        study_name=spec.name, directions=directions(spec), load_if_exists=True, **kwargs
    )
    stored = study.user_attrs.get(HASH_ATTR)
    if stored is not None and stored != spec_hash(spec):
        if not force:
            raise StudyError(
                f"study {spec.name!r} exists with another spec (hash {stored}, this one {spec_hash(spec)}); "
                "rerun with --force to adopt this spec, or give the spec a new name"
            )
        if [d.name.lower() for d in study.directions] != directions(spec):
            raise StudyError(
                f"study {spec.name!r}: the objective's directions cannot change; give the spec a new name"
            )
    if stored != spec_hash(spec) or study.user_attrs.get(SPEC_ATTR) != spec.to_json():
        study.set_user_attr(SPEC_ATTR, spec.to_json())
        study.set_user_attr(HASH_ATTR, spec_hash(spec))
        study.set_user_attr(FILE_ATTR, spec_file)
    return study


def load(name: str, storage: BaseStorage, worker: int = 0) -> tuple[optuna.Study, SweepSpec | None]:
    """An existing study and its stored spec (None for a study not made by `dpl sweep`)."""
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = ", ".join(optuna.get_all_study_names(storage)) or "none"
        raise StudyError(f"no study named {name!r} in this storage (studies: {names})") from None
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
    tree = study.user_attrs.get(SPEC_ATTR)
    return SweepSpec.model_validate(tree) if tree is not None else None
