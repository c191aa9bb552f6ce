"""WAL checkpoints in a thread of their own, SQLite's WAL synced after COMMIT (outside the write
lock), and transactions that count once the operating system has them ("process-crash" durability,
single issuance only), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
from sqlalchemy import event, text

from ledger.config import ConfigError
from ledger.settings import IssuerSettings
from ledger.storage import request_path
from ledger.storage.db import make_engine, reading
from ledger.storage.group_commit import GroupWriter
from ledger.storage.request_path import SAFETY_NET_PAGES, CheckpointThread, begin, checkpoint_in_background
from tests.integration.postgres import database_url  # noqa: F401  (fixture)

BLOB = 8 * 1024 * 1024  # 2,048 pages: past SQLite's own automatic checkpoint (1,000), short of the safety net


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)"))
    yield engine
    engine.dispose()


def _database_file_size(engine) -> int:
    return os.path.getsize(engine.url.database)


def _write_blob(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO blobs (data) VALUES (:data)"), {"data": os.urandom(BLOB)})


def _pragma(engine, name: str):
    with reading(engine).connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_without_the_thread_the_commit_that_fills_the_wal_checkpoints_it_itself(sqlite_engine):
    before = _database_file_size(sqlite_engine)
    _write_blob(sqlite_engine)
    assert _pragma(sqlite_engine, "wal_autocheckpoint") == 1000
    assert _database_file_size(sqlite_engine) > before + BLOB  # copied into the database inside the commit


def test_with_the_thread_commits_leave_the_wal_to_it(sqlite_engine):
    idle = CheckpointThread(sqlite_engine, interval_s=3600).start()  # started, but never due during the test
    try:
        before = _database_file_size(sqlite_engine)
        _write_blob(sqlite_engine)
        assert _pragma(sqlite_engine, "wal_autocheckpoint") == SAFETY_NET_PAGES
        assert _database_file_size(sqlite_engine) < before + BLOB  # still only in the WAL
        assert idle.checkpoints == 0
    finally:
        idle.stop()

    running = CheckpointThread(sqlite_engine, interval_s=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while _database_file_size(sqlite_engine) < before + BLOB or running.checkpoints == 0:
            assert time.monotonic() < deadline, "the checkpoint thread did not copy the WAL into the database"
            time.sleep(0.05)
        with reading(sqlite_engine).connect() as conn:
            assert conn.execute(text("SELECT length(data) FROM blobs")).scalar() == BLOB
    finally:
        running.stop()
    assert not running._thread.is_alive()


def test_only_file_backed_sqlite_gets_a_checkpoint_thread(database_url):  # noqa: F811
    engine = make_engine(database_url)
    try:
        thread = checkpoint_in_background(engine)
        assert (thread is not None) == database_url.startswith("sqlite")
        if thread is not None:
            thread.stop()
    finally:
        engine.dispose()
    memory = make_engine("sqlite://")
    assert checkpoint_in_background(memory) is None
    memory.dispose()


class WalSyncs:
    """Every fdatasync of ``database``'s WAL; at each one, whether another connection could take the
    write lock at once and already saw the rows of ``table``."""

    def __init__(self, monkeypatch, database: str, table: str):
        self.seen: list[tuple[bool, int]] = []
        real_sync = os.fdatasync

        def fdatasync(fd):
            if os.readlink(f"/proc/self/fd/{fd}") == database + "-wal":
                self.seen.append(self._lock_free_and_rows(database, table))
            return real_sync(fd)

        monkeypatch.setattr(request_path.os, "fdatasync", fdatasync)

    @staticmethod
    def _lock_free_and_rows(database: str, table: str) -> tuple[bool, int]:
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            free = True
        except sqlite3.OperationalError:  # database is locked
            free = False
        try:
            return free, other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            other.close()


def test_a_write_is_synced_once_committed_with_the_write_lock_already_free(sqlite_engine, monkeypatch):
    syncs = WalSyncs(monkeypatch, sqlite_engine.url.database, "blobs")
    assert _pragma(sqlite_engine, "synchronous") == 1  # NORMAL: SQLite itself does not sync at COMMIT
    with sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO blobs (data) VALUES (x'00')"))
        assert syncs.seen == []
    assert syncs.seen == [(True, 1)]  # after COMMIT, before begin() returned
    with reading(sqlite_engine).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM blobs")).scalar() == 1
    with pytest.raises(RuntimeError), sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO blobs (data) VALUES (x'01')"))
        raise RuntimeError("rolled back")
    assert syncs.seen == [(True, 1)]  # nothing to sync for a read or a rollback


def test_an_in_memory_database_keeps_sqlites_own_full_sync():
    engine = make_engine("sqlite://")
    try:
        assert _pragma(engine, "synchronous") == 2
    finally:
        engine.dispose()


def _durability_setting(engine) -> str:
    with reading(engine).connect() as conn:
        return _setting_of(conn.connection.driver_connection, engine.dialect.name)


def _setting_of(dbapi_connection, dialect: str) -> str:
    if dialect == "sqlite":  # what the commit will do (the WAL fsync itself: test above and below)
        return "normal" if dbapi_connection.relaxed else "full"
    return {"on": "full", "off": "normal"}[dbapi_connection.execute("SHOW synchronous_commit").fetchone()[0]]


def test_a_relaxed_sqlite_commit_skips_the_wal_sync(sqlite_engine, monkeypatch):
    syncs = WalSyncs(monkeypatch, sqlite_engine.url.database, "blobs")
    with sqlite_engine.connect() as conn, begin(conn, durable=False):
        conn.execute(text("INSERT INTO blobs (data) VALUES (x'00')"))
    assert syncs.seen == []
    with sqlite_engine.connect() as conn, begin(conn):
        conn.execute(text("INSERT INTO blobs (data) VALUES (x'01')"))
    assert syncs.seen == [(True, 2)]


@pytest.fixture
def items_engine(database_url):  # noqa: F811
    if database_url.startswith("postgres"):  # the test cluster itself commits asynchronously (for speed)
        database_url += "?options=-csynchronous_commit%3Don"
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS rp_items"))
        conn.execute(text("CREATE TABLE rp_items (key VARCHAR(20) PRIMARY KEY)"))
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _setting_at_insert(_conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO rp_items"):
            seen.append(_setting_of(cursor.connection, engine.dialect.name))

    engine.settings_seen = seen
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE rp_items"))
    engine.dispose()


def _keys(engine) -> list[str]:
    with reading(engine).connect() as conn:
        return conn.execute(text("SELECT key FROM rp_items ORDER BY key")).scalars().all()


def test_only_the_transaction_that_asks_commits_without_the_disk(items_engine):
    assert _durability_setting(items_engine) == "full"
    with items_engine.connect() as conn, begin(conn, durable=False):
        conn.execute(text("INSERT INTO rp_items (key) VALUES ('relaxed')"))
    with items_engine.connect() as conn, begin(conn):
        conn.execute(text("INSERT INTO rp_items (key) VALUES ('durable')"))
    assert items_engine.settings_seen == ["normal", "full"]
    assert _keys(items_engine) == ["durable", "relaxed"]
    assert _durability_setting(items_engine) == "full"  # the pooled connection went back durable


def test_a_relaxed_transaction_that_fails_writes_nothing_and_leaves_the_connection_durable(items_engine):
    with pytest.raises(RuntimeError, match="refused"):
        with items_engine.connect() as conn, begin(conn, durable=False):
            conn.execute(text("INSERT INTO rp_items (key) VALUES ('half')"))
            raise RuntimeError("refused")
    assert _keys(items_engine) == []
    assert _durability_setting(items_engine) == "full"


def test_group_commit_relaxed_for_single_issuance(items_engine):
    from sqlalchemy import Column, MetaData, String, Table

    items = Table("rp_items", MetaData(), Column("key", String(20), primary_key=True))
    writer = GroupWriter(items_engine)
    writer.durable = False
    writer.insert([(items, {"key": "issued"})])
    assert items_engine.settings_seen == ["normal"]
    assert _keys(items_engine) == ["issued"]
    assert _durability_setting(items_engine) == "full"


def test_an_unknown_durability_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CERTLEDGER_COMMIT_DURABILITY", "eventually")
    with pytest.raises(ConfigError, match="CERTLEDGER_COMMIT_DURABILITY must be one of power-loss, process-crash"):
        IssuerSettings.from_environ()
    monkeypatch.setenv("CERTLEDGER_COMMIT_DURABILITY", "process-crash")
    assert IssuerSettings.from_environ().commit_durability == "process-crash"
    monkeypatch.delenv("CERTLEDGER_COMMIT_DURABILITY")
    assert IssuerSettings.from_environ().commit_durability == "power-loss"
