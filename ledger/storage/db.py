"""Engines and the schema (Alembic migrations, ``ledger.storage.migrate``).

SQLite (the embedded default) gets real transactions: pysqlite's own transaction handling is
switched off and every transaction starts with ``BEGIN IMMEDIATE``, so DDL is transactional (a
migration is all or nothing) and a read-then-write transaction never fails half way because another
process wrote in between; writers queue for it in the kernel (``ledger.storage.writer_queue``).
Read-only work goes through ``reading(engine)``: a deferred ``BEGIN`` there (a WAL snapshot that
takes no lock), so lookups such as authentication never queue behind writers. PostgreSQL URLs use psycopg 3
(``postgresql://`` is read as ``postgresql+psycopg://``).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import create_engine

from ledger.storage import models  # noqa: F401  (registers the tables)
from ledger.storage.migrate import upgrade_to_head
from ledger.storage.request_path import SyncAfterCommit
from ledger.storage.writer_queue import WriterQueue, lock_path

SQLITE_BUSY_TIMEOUT_S = 60
READ_ONLY = "certledger_read_only"


def normalise_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S, "factory": SyncAfterCommit}
        )
        path = lock_path(engine)
        writers = WriterQueue(engine, path) if path else None

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):
            conn.isolation_level = None  # we issue BEGIN ourselves (below)
            # WAL lets readers and one writer work at once. A commit is on disk when it returns:
            # NORMAL here, and the WAL synced after COMMIT, outside the write lock (SyncAfterCommit).
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'NORMAL' if path else 'FULL'}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: bulk batches touch 100,000s of rows

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            if writers is not None:
                writers.acquire(conn.info)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.connection.driver_connection.wrote = path is not None
            except BaseException:
                if writers is not None:
                    writers.release(conn.info)
                raise

        return engine
    return create_engine(url, pool_pre_ping=True)


def reading(engine: Engine) -> Engine:
    """``engine`` for read-only transactions (same pool). A write through it on SQLite may fail with
    "database is locked" instead of queueing: use it for lookups only."""
    if engine.get_execution_options().get(READ_ONLY):
        return engine
    cached = getattr(engine, "_certledger_reading", None)
    if cached is None:
        cached = engine.execution_options(**{READ_ONLY: True})
        engine._certledger_reading = cached  # type: ignore[attr-defined]  # cached on the engine
    return cached


def database_unavailable(exc: BaseException) -> bool:
    """The database is unreachable or dropped the connection (a restart, a failover, SQLite busy past
    its timeout): nothing was committed by the failed statement's transaction unless its COMMIT was
    under way, and the same request may succeed later (the pool re-connects: ``pool_pre_ping``), so
    services answer 503 with Retry-After, and idempotency keys make the client's retry safe."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def init_database(url: str) -> Engine:
    """An engine for ``url`` with the schema upgraded to the newest migration."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    return engine
