"""A throwaway PostgreSQL cluster for the tests, from the Debian binaries (scripts/install-system-deps.sh).

``postgres_server`` (session): initdb into a temporary directory, pg_ctl start on a free loopback
port (trust authentication, no fsync: nothing here outlives the session), stopped and removed after
the session. Root cannot run postgres, so as root the cluster runs as the system user ``postgres``
(created if missing) in a directory it owns.

``restartable_postgres``: a cluster of the test's own, which the test may stop and start again
(``Cluster.stop`` / ``Cluster.start``) under a running service.

``database_url`` is parametrized over both back ends: ``sqlite`` (a file in the test's temporary
directory) and ``postgresql`` (a fresh database per test in the session's cluster). Without the
PostgreSQL binaries the ``postgresql`` cases are skipped, unless CERTLEDGER_REQUIRE_POSTGRES=1 (then
they fail): install them with ``scripts/install-system-deps.sh``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as(user: str | None):
    """subprocess keyword arguments to run a command as `user` (None: as ourselves)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {
        "user": entry.pw_uid,
        "group": entry.pw_gid,
        "extra_groups": [],
        "env": {**os.environ, "HOME": entry.pw_dir},
    }


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)


@dataclass
class Cluster:
    """The cluster under `base`, driven by pg_ctl as the user it runs as: it can be stopped and
    started again (a database restart under a running service), and destroyed."""

    base: Path
    bin_dir: Path
    options: str
    run_user: str | None

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), *args],
            capture_output=True,
            cwd=self.base,
            **_run_as(self.run_user),
        )

    def start(self) -> None:
        done = self.pg_ctl("-o", self.options, "-l", str(self.base / "server.log"), "-w", "-t", "60", "start")
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, "pg_ctl start", done.stdout, done.stderr)

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects the clients and shuts down cleanly; `immediate` is a crash."""
        self.pg_ctl("-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def start_postgres(base: Path, *, durable: bool = False) -> tuple[PostgresServer, Cluster]:
    """Start a cluster under `base`; returns the server and the cluster (``destroy()`` when done).

    Not `durable`: commits are acknowledged before their WAL is written (synchronous_commit=off), so
    a crash of the server (``stop("immediate")``) may lose the last ones. Durable keeps that promise
    (fsync stays off either way: only a crash of the machine would need it)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise FileNotFoundError(
            "PostgreSQL binaries not found under /usr/lib/postgresql (run scripts/install-system-deps.sh)"
        )
    run_user = None
    if os.geteuid() == 0:
        _ensure_system_user(PG_USER)
        run_user = PG_USER
        entry = pwd.getpwnam(PG_USER)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    as_user = _run_as(run_user)
    data, sockets = base / "data", base / "sockets"
    db_user = run_user or pwd.getpwuid(os.geteuid()).pw_name
    for d in (data, sockets):
        d.mkdir(mode=0o700)
        if run_user:
            os.chown(d, pwd.getpwnam(run_user).pw_uid, pwd.getpwnam(run_user).pw_gid)
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            db_user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        cwd=base,
        **as_user,
    )
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    if not durable:
        options += " -c synchronous_commit=off"
    cluster = Cluster(base, bin_dir, options, run_user)
    cluster.start()
    return PostgresServer("127.0.0.1", port, db_user), cluster


def _require_binaries() -> None:
    if _bin_dir() is None:
        message = "PostgreSQL is not installed: run scripts/install-system-deps.sh"
        if os.environ.get("CERTLEDGER_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server():
    _require_binaries()
    base = Path(tempfile.mkdtemp(prefix="certledger-pg-"))
    try:
        server, cluster = start_postgres(base)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}") from exc
    try:
        yield server
    finally:
        cluster.destroy()


@pytest.fixture
def restartable_postgres():
    """(server, cluster) of a durable cluster for this test alone."""
    _require_binaries()
    base = Path(tempfile.mkdtemp(prefix="certledger-pg-"))
    try:
        server, cluster = start_postgres(base, durable=True)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    try:
        yield server, cluster
    finally:
        cluster.destroy()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database in the session's cluster."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The same test on both back ends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'certledger.db'}"
    return request.getfixturevalue("postgres_url")


__all__ = [
    "Cluster",
    "PostgresServer",
    "database_url",
    "postgres_server",
    "postgres_url",
    "restartable_postgres",
    "start_postgres",
]
