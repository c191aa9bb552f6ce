"""Keeping the disk's slow moments out of the commits that requests wait for.

Checkpoints: SQLite copies the WAL back into the database inside whichever COMMIT crosses 1,000 WAL
pages, and that request waits for it (bench_issue_http at 200 requests/s: the WAL grows by 500-1,400
pages a second; checkpoints of half a second's WAL took 4-8 ms median, up to 254 ms).
``CheckpointThread`` does that work in a thread of its own every half second; the connections keep
their automatic checkpoint only as a safety net, at 10,000 pages.

Commits and the disk (file-backed SQLite): SQLite syncs the WAL inside COMMIT (synchronous=FULL), so
its write lock stayed taken for the fsync, and every other writer waited for it too, in SQLite's
busy handler, which sleeps in growing steps and so wakes late (bench_issue_http: a batch's seal
whose commit met a 244 ms fsync held up the workers' requests with it). The connections therefore
commit with synchronous=NORMAL, and ``SyncAfterCommit`` syncs the WAL itself (fdatasync, as SQLite
does) once COMMIT has returned, and with it the lock: the commit returns only once it is on disk, as
with FULL, but the next writer does not wait for that.

Durability: by default a request is answered once its commit is on disk ("power-loss": the sync
above; PostgreSQL synchronous_commit on), so every answer waits for an fsync, and on a disk that
stalls now and then every answer stalls with it. "process-crash", for the transactions that ask for
it (``begin(conn, durable=False)``: the group commit of single issuance), answers once the commit is
in the operating system's hands (no sync after it): it survives the service being killed (kill -9)
but not a power loss or a kernel crash within the next moment, until the next synced commit or
checkpoint (SQLite: at most about half a second) or WAL flush (PostgreSQL: wal_writer_delay, 200 ms
by default, up to three times that) puts it on disk. The database stays consistent either way, and
every other transaction (revocations, keys, anchoring) still waits for the disk.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ledger.storage.writer_queue import lock_path

log = logging.getLogger(__name__)

POWER_LOSS = "power-loss"
PROCESS_CRASH = "process-crash"
DURABILITIES = (POWER_LOSS, PROCESS_CRASH)
CHECKPOINT_INTERVAL_S = 0.5
SAFETY_NET_PAGES = 10_000


def _on_every_connection(engine: Engine, configure) -> None:
    """Run ``configure(dbapi_connection)`` on every connection of ``engine``, including those already
    pooled (the pool is emptied so that they reconnect)."""
    event.listen(engine, "connect", lambda dbapi_connection, _record: configure(dbapi_connection))
    engine.dispose()


class SyncAfterCommit(sqlite3.Connection):
    """A SQLite connection (``sqlite3.connect(..., factory=SyncAfterCommit)``, synchronous=NORMAL)
    whose write transactions are on disk when ``commit()`` returns: the WAL is synced after COMMIT,
    so SQLite's write lock is not held for it. Sound because NORMAL still syncs the WAL before each
    checkpoint and the database after it: a commit's frames are either still in the WAL when it is
    synced, or in the database file, synced, if a checkpoint took them and the WAL was reused (or
    removed) meanwhile."""

    wrote = False  # set by BEGIN IMMEDIATE (db.py): read-only transactions have nothing to sync
    relaxed = False  # begin(conn, durable=False): this transaction's commit skips the sync
    _wal: str | None = None

    def commit(self) -> None:
        sync = self.wrote and not self.relaxed
        self.wrote = False
        super().commit()
        if sync:
            self.sync_wal()

    def rollback(self) -> None:
        self.wrote = False
        super().rollback()

    def sync_wal(self) -> None:
        if self._wal is None:
            self._wal = self.execute("PRAGMA database_list").fetchone()[2] + "-wal"
        try:
            fd = os.open(self._wal, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return  # checkpointed and removed: the frames are in the database file, synced
        try:
            os.fdatasync(fd)  # as SQLite itself syncs: the WAL is reused in place, its size rarely changes
        finally:
            os.close(fd)


@contextmanager
def begin(conn: Connection, *, durable: bool = True):
    """A transaction on ``conn``; ``durable=False``: its commit returns once the operating system has
    it ("process-crash", above). Every other transaction of the connection keeps full durability."""
    if durable:
        with conn.begin():
            yield
    elif conn.dialect.name == "sqlite":
        raw: Any = conn.connection.driver_connection  # the sqlite3 connection (see the connect hook)
        raw.relaxed = True
        try:
            with conn.begin():
                yield
        finally:
            raw.relaxed = False
    else:
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")  # this transaction only
            yield


class CheckpointThread:
    """Checkpoints a SQLite database's WAL (PASSIVE: it never holds up readers or writers) from a
    thread of its own; a checkpoint syncs the WAL before it and the database after it, so it also
    puts every commit before it on disk."""

    def __init__(self, engine: Engine, interval_s: float = CHECKPOINT_INTERVAL_S):
        self.engine, self.interval_s = engine, interval_s
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CheckpointThread:
        _on_every_connection(self.engine, lambda c: c.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}"))
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        raw = self.engine.raw_connection()  # autocommit (db.py): the PRAGMA needs no transaction
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # type: ignore[union-attr]  # an open connection has one
                    self.checkpoints += 1
                except Exception as exc:  # noqa: BLE001 - the safety net checkpoints meanwhile
                    log.warning("WAL checkpoint failed (%s); retrying in %.1f s", exc, self.interval_s)
        finally:
            raw.invalidate()  # held for the thread's life: closed, not handed back to a pool disposed since


def checkpoint_in_background(engine: Engine) -> CheckpointThread | None:
    """A started ``CheckpointThread`` for a file-backed SQLite engine; None for anything else."""
    if engine.dialect.name != "sqlite" or lock_path(engine) is None:
        return None
    return CheckpointThread(engine).start()
