"""Read-only transactions on SQLite take no lock: lookups never queue behind a writer."""

from __future__ import annotations

import threading

from sqlalchemy import text

from ledger.storage.db import make_engine, reading


def test_a_read_proceeds_while_a_writer_holds_the_lock(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    seen: list[int] = []
    with engine.begin() as writer:  # BEGIN IMMEDIATE: the write lock is held until the block ends
        writer.execute(text("INSERT INTO t VALUES (2)"))

        def read():
            with reading(engine).connect() as conn:
                seen.append(conn.execute(text("SELECT count(*) FROM t")).scalar_one())

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "a read-only transaction waited for the writer"
        assert seen == [1]  # the last committed snapshot, not the writer's uncommitted row
    with reading(engine).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2


def test_writes_still_take_the_lock_up_front(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    got_lock = threading.Event()
    with engine.begin():

        def write():
            with engine.begin() as conn:
                got_lock.set()
                conn.execute(text("INSERT INTO t VALUES (1)"))

        writer = threading.Thread(target=write)
        writer.start()
        assert not got_lock.wait(0.5), "a second writer began while the first held the lock"
    writer.join(timeout=10)
    assert got_lock.is_set()
    assert reading(reading(engine)) is reading(engine)
