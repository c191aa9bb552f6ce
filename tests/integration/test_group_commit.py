"""Group commit on SQLite and PostgreSQL: concurrent inserts share a transaction, a conflict fails
only its own caller, a failed commit fails every caller of the group and writes nothing."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from ledger.storage.db import make_engine
from ledger.storage.group_commit import GroupWriter
from tests.integration.postgres import database_url  # noqa: F401  (fixture)

META = MetaData()
ITEMS = Table("gc_items", META, Column("key", String(20), primary_key=True), Column("n", Integer, nullable=False))
NOTES = Table("gc_notes", META, Column("key", String(20), primary_key=True), Column("text", String(50)))


@pytest.fixture
def engine(database_url):  # noqa: F811
    engine = make_engine(database_url)
    META.drop_all(engine)
    META.create_all(engine)
    yield engine
    META.drop_all(engine)
    engine.dispose()


def _rows(key: str, n: int):
    return [(ITEMS, {"key": key, "n": n}), (NOTES, {"key": key, "text": f"note {n}"})]


def _held_back(engine):
    """A transaction that keeps the writer waiting until it ends (SQLite: the write lock; PostgreSQL:
    a table lock), so that callers queue meanwhile."""
    conn = engine.connect()
    conn.begin()
    if engine.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE gc_items IN EXCLUSIVE MODE"))
    return conn


def _run_queued(writer: GroupWriter, calls: list[tuple[str, int]], hold) -> dict:
    """Start one thread per call while ``hold`` keeps the writer waiting; release once all queued."""
    outcome: dict = {}

    def call(key, n):
        try:
            writer.insert(_rows(key, n))
            outcome[(key, n)] = "ok"
        except Exception as exc:  # noqa: BLE001
            outcome[(key, n)] = exc

    threads = []
    for key, n in calls:
        threads.append(threading.Thread(target=call, args=(key, n)))
        threads[-1].start()
        time.sleep(0.01)  # queued in this order
    deadline = time.monotonic() + 10
    while writer._queue.qsize() < len(calls) - 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # the first call is with the writer, waiting; the others are queued
    hold.rollback()
    hold.close()
    for thread in threads:
        thread.join(timeout=30)
    return outcome


def test_concurrent_inserts_share_one_transaction(engine):
    writer = GroupWriter(engine)
    outcome = _run_queued(writer, [(f"k{i}", i) for i in range(20)], _held_back(engine))
    assert set(outcome.values()) == {"ok"}
    with engine.connect() as conn:
        assert conn.execute(select(ITEMS.c.n).order_by(ITEMS.c.n)).scalars().all() == list(range(20))
        assert len(conn.execute(select(NOTES)).all()) == 20
    assert writer.inserts == 20
    assert writer.transactions <= 3, writer.transactions  # the first alone, then the 19 queued meanwhile


def test_a_conflict_fails_only_its_caller(engine):
    writer = GroupWriter(engine)
    writer.insert(_rows("taken", 0))
    calls = [("first", 1), ("a", 2), ("taken", 3), ("b", 4), ("a", 5)]
    outcome = _run_queued(writer, calls, _held_back(engine))
    assert isinstance(outcome[("taken", 3)], IntegrityError)
    assert isinstance(outcome[("a", 5)], IntegrityError)  # the second use of "a" in the same group
    assert [outcome[c] for c in (("first", 1), ("a", 2), ("b", 4))] == ["ok"] * 3
    with engine.connect() as conn:
        assert dict(conn.execute(select(ITEMS.c.key, ITEMS.c.n)).all()) == {"taken": 0, "first": 1, "a": 2, "b": 4}
        assert conn.execute(select(NOTES.c.text).where(NOTES.c.key == "a")).scalar_one() == "note 2"


def test_a_failed_commit_fails_every_caller_and_writes_nothing(engine):
    writer = GroupWriter(engine)
    failures = {"left": 1}

    @event.listens_for(engine, "commit")
    def fail_once(_conn):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    outcome = _run_queued(writer, [(f"k{i}", i) for i in range(5)], _held_back(engine))
    errors = [v for v in outcome.values() if v != "ok"]
    assert errors and all(isinstance(e, OperationalError) for e in errors)
    with engine.connect() as conn:
        stored = conn.execute(select(ITEMS.c.key)).scalars().all()
    assert sorted(stored) == sorted(k for (k, _), v in outcome.items() if v == "ok")  # none answered ok unwritten
    writer.insert(_rows("after", 99))  # the writer lives on
    with engine.connect() as conn:
        assert conn.execute(select(ITEMS.c.n).where(ITEMS.c.key == "after")).scalar_one() == 99


def test_the_writer_thread_ends_when_idle_and_comes_back(engine):
    writer = GroupWriter(engine, idle_s=0.05)
    writer.insert(_rows("one", 1))
    deadline = time.monotonic() + 5
    while writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer._thread is None
    writer.insert(_rows("two", 2))
    with engine.connect() as conn:
        assert conn.execute(select(ITEMS.c.key).order_by(ITEMS.c.key)).scalars().all() == ["one", "two"]
