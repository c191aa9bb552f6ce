"""Keeping the disk's slow moments out of the commits that requests wait for.

Checkpoints: SQLite copies the WAL back into the database inside whichever COMMIT crosses 1,000 WAL
pages, and that request waits for it (bench_issue_http at 200 requests/s: the WAL grows by 500-1,400
pages a second; checkpoints of half a second's WAL took 4-8 ms median, up to 254 ms).
``CheckpointThread`` does that work in a thread of its own every half second; the connections keep
their automatic checkpoint only as a safety net, at 10,000 pages.

Durability: by default a request is answered once its commit is on disk ("power-loss": SQLite
synchronous=FULL, PostgreSQL synchronous_commit on), so every answer waits for an fsync, and on a
disk that stalls now and then every writer stalls with it. "process-crash", for the transactions
that ask for it (``begin(conn, durable=False)``: the group commit of single issuance), answers once
the commit is in the operating system's hands: it survives the service being killed (kill -9) but
not a power loss or a kernel crash within the next moment, until the next fully synced commit or
checkpoint (SQLite: at most about half a second) or WAL flush (PostgreSQL: wal_writer_delay, 200 ms
by default, up to three times that) puts it on disk. The database stays consistent either way, and
every other transaction (revocations, keys, anchoring) still waits for the disk.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from .writer_queue import lock_path

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


@contextmanager
def begin(conn: Connection, *, durable: bool = True):
    """A transaction on ``conn``; ``durable=False``: its commit returns once the operating system has
    it ("process-crash", above). Every other transaction of the connection keeps full durability."""
    if durable:
        with conn.begin():
            yield
    elif conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection  # SQLite refuses the setting inside a transaction
        raw.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                yield
        finally:
            try:
                raw.execute("PRAGMA synchronous=FULL")
            except Exception:  # noqa: BLE001 - the commit stands; only this connection must not return relaxed
                log.exception("could not restore synchronous=FULL; discarding the connection")
                conn.invalidate()
    else:
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")  # this transaction only
            yield


class CheckpointThread:
    """Checkpoints a SQLite database's WAL (PASSIVE: it never holds up readers or writers) from a
    thread of its own; its connection syncs fully (db.py), so each checkpoint also puts every commit
    before it on disk."""

    def __init__(self, engine: Engine, interval_s: float = CHECKPOINT_INTERVAL_S):
        self.engine, self.interval_s = engine, interval_s
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "CheckpointThread":
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
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
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
