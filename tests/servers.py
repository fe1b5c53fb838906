"""Real PostgreSQL and MLflow tracking servers on 127.0.0.1, started by the tests themselves.

The cluster tests must exercise what a cluster runs (password auth over TCP, a tracking server
that proxies artifacts), not SQLite stand-ins, so these helpers start the real programs in
temporary folders on free ports and tear them down again.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

HOST = "127.0.0.1"
PG_USER = "dpl"
PG_SUPERUSER = "postgres"
PG_DATABASES = ("optuna", "mlflow")
_PG_OS_USER = "postgres"  # Debian's account that owns the cluster when the tests run as root
_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"  # Debian keeps the server programs off the PATH


def skip_or_fail(reason: str) -> NoReturn:
    """Skip where a server cannot be started, but fail under CI=true: CI must not pass by
    silently skipping the cluster tests."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (free now; a race is retried by callers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _version_key(path: str) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin -> (15,), so the newest installed major version wins."""
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def pg_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: the PATH first, then Debian's versioned folders."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        # Debian's /usr/bin wrappers may lack initdb; a symlink resolves to the real folder.
        real = Path(initdb).resolve().parent
        if (real / "pg_ctl").exists():
            return real
        if Path(initdb).parent == Path(pg_ctl).parent:
            return Path(initdb).parent
    for folder in sorted(glob.glob(_PG_BIN_GLOB), key=_version_key, reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


def unavailable_reason() -> str | None:
    """Why PostgreSQL cannot be started here, or None: lets the fixtures skip with a reason."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'dual-process-lab[postgres]')"
    if pg_bin_dir() is None:
        return f"no initdb/pg_ctl on the PATH or under {_PG_BIN_GLOB}"
    if _is_root():
        try:
            pwd.getpwnam(_PG_OS_USER)
        except KeyError:
            return f"running as root, and initdb refuses root, but there is no {_PG_OS_USER!r} user"
        if not (shutil.which("runuser") or shutil.which("su")):
            return f"running as root with neither runuser nor su to become {_PG_OS_USER!r}"
    return None


def _as_pg_user(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: then run them as the postgres account."""
    if not _is_root():
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", _PG_OS_USER, "--", *argv]
    return ["su", _PG_OS_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(_as_pg_user(argv), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {done.returncode}): {shlex.join(argv)}\n"
            f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as e:
        return f"(no log: {e})"


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL cluster: role `dpl` with a password, databases optuna and mlflow."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    data_dir: Path
    bin_dir: Path = field(repr=False)
    log_path: Path = field(repr=False)
    # a folder made under the system temp dir (see _pg_workdir): removed on stop
    scratch: Path | None = field(default=None, repr=False)

    def url(self, db: str, *, password: bool = True) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database, as Optuna and MLflow take it."""
        auth = f"{self.user}:{self.password}" if password else self.user
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{db}"

    def _superuser(self):
        """A superuser connection over the unix socket (trusted), for creating roles and DBs."""
        import psycopg

        return psycopg.connect(
            host=str(self.data_dir),
            port=self.port,
            user=PG_SUPERUSER,
            dbname="postgres",
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """A fresh, empty database owned by dpl (dropped first if it exists): its URL. Gives each
        test its own Optuna storage on the one session-wide server."""
        from psycopg import sql

        with self._superuser() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(self.user)
                )
            )
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast: rolls back open sessions) and remove its scratch folder."""
        argv = [str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"]
        subprocess.run(_as_pg_user(argv), capture_output=True, text=True)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _pg_workdir(base: Path) -> tuple[Path, Path | None]:
    """Where the cluster lives, and the folder to remove on stop. As root the postgres account
    must reach and own it, and pytest's tmp folders sit under a 0700 root folder: so then (or
    when `base` is too deep for a unix socket) a fresh folder in the system temp dir."""
    work = base / "postgres"
    # the unix socket's path must fit in 107 bytes: <work>/data/.s.PGSQL.<port>
    if not _is_root() and len(os.fsencode(work)) < 80:
        work.mkdir(parents=True, exist_ok=True)
        return work, None
    work = Path(tempfile.mkdtemp(prefix="dpl-pg-"))
    if not _is_root():
        return work, work
    account = pwd.getpwnam(_PG_OS_USER)
    os.chown(work, account.pw_uid, account.pw_gid)
    work.chmod(0o700)
    return work, work


def start_postgres(base: Path) -> Postgres:
    """initdb a throw-away cluster, start it on 127.0.0.1 and a free port, and create role dpl
    (scram-sha-256 password on TCP) owning databases optuna and mlflow."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    bin_dir = pg_bin_dir()
    assert bin_dir is not None
    work, scratch = _pg_workdir(base)
    data_dir, log_path = work / "data", work / "postgres.log"
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                PG_SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",  # a test cluster: skip the fsyncs, start faster
            ],
            "initdb",
        )
        port = _start_cluster(bin_dir, data_dir, log_path)
        pg = Postgres(
            host=HOST,
            port=port,
            user=PG_USER,
            password=secrets.token_urlsafe(24),  # only [A-Za-z0-9_-]: no quoting in URLs
            data_dir=data_dir,
            bin_dir=bin_dir,
            log_path=log_path,
            scratch=scratch,
        )
        _create_role_and_databases(pg)
    except BaseException:
        subprocess.run(
            _as_pg_user([str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "immediate"]),
            capture_output=True,
        )
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    return pg


def _start_cluster(bin_dir: Path, data_dir: Path, log_path: Path, attempts: int = 3) -> int:
    """pg_ctl start on a free port; the port may be taken between picking and binding, so retry
    with another."""
    conf = data_dir / "postgresql.conf"
    base_conf = conf.read_text()
    for attempt in range(attempts):
        port = _free_port()
        settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(port),
            "unix_socket_directories": "'" + str(data_dir).replace("'", "''") + "'",
            # durability is pointless for a cluster that is deleted after the session
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        # rewritten in place, the file stays owned by the postgres account even when root writes
        conf.write_text(base_conf + "".join(f"\n{k} = {v}" for k, v in settings.items()) + "\n")
        argv = [str(bin_dir / "pg_ctl"), "start", "-D", str(data_dir), "-l", str(log_path)]
        done = subprocess.run(_as_pg_user([*argv, "-w", "-t", "60"]), capture_output=True)
        if done.returncode == 0:
            return port
        if attempt == attempts - 1:
            raise RuntimeError(f"pg_ctl start failed; log tail:\n{_tail(log_path)}")
    raise AssertionError("unreachable")


def _create_role_and_databases(pg: Postgres) -> None:
    from psycopg import sql

    with pg._superuser() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(pg.user), sql.Literal(pg.password)
            )
        )
        for db in PG_DATABASES:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(db), sql.Identifier(pg.user)
                )
            )
