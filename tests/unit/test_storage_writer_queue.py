"""SQLite write transactions hold a file lock beside the database, so writers queue in the kernel."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ledger.storage.db import make_engine, reading
from ledger.storage.writer_queue import lock_path


def _free(path: str) -> bool:
    """Whether another open file description could take the lock now."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops the lock if it was taken
    return True


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
    yield engine
    engine.dispose()


def test_a_write_transaction_holds_the_lock_until_it_ends(engine, tmp_path):
    path = str(tmp_path / "db.sqlite") + "-writers.lock"
    assert lock_path(engine) == path
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not _free(path)
    assert _free(path)  # committed
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        assert not _free(path)
        conn.rollback()
        assert _free(path)
    with pytest.raises(ZeroDivisionError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (3)"))
        raise ZeroDivisionError
    assert _free(path)
    with reading(engine).connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [1]
        assert _free(path)  # a read-only transaction takes no lock


def test_a_second_writer_waits_for_the_first_and_then_proceeds(engine, tmp_path):
    other = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")  # as another process would
    began = threading.Event()

    def write():
        with other.begin() as conn:
            began.set()
            conn.execute(text("INSERT INTO t VALUES (20)"))

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (10)"))
        writer = threading.Thread(target=write)
        writer.start()
        assert not began.wait(0.3), "a second writer began while the first held the lock"
    writer.join(timeout=10)
    assert began.is_set()
    with reading(engine).connect() as conn:
        assert conn.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [10, 20]
    other.dispose()


def test_a_failed_begin_gives_the_lock_back(engine, tmp_path):
    path = str(tmp_path / "db.sqlite") + "-writers.lock"
    outsider = sqlite3.connect(str(tmp_path / "db.sqlite"), isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")  # a writer that does not use the file lock (e.g. the sqlite3 shell)
    try:
        with engine.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")
            with pytest.raises(OperationalError, match="locked"):
                conn.begin()
            assert _free(path)
    finally:
        outsider.execute("ROLLBACK")
        outsider.close()


def test_in_memory_databases_have_no_lock_file():
    assert lock_path(make_engine("sqlite://")) is None
    assert lock_path(make_engine("sqlite:///:memory:")) is None
