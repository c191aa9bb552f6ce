"""Group commit: small concurrent inserts of one process share one database transaction.

Why: with SQLite every write transaction takes the database's single write lock. When each request
wrote on its own, requests queued for it from many threads of several processes, each statement
inside the lock also waited for its thread's turn at the interpreter lock, and the write lock stayed
taken for many milliseconds (measured, bench_issue_http: waits of up to 536 ms for inserts of
0-6 ms). One writer thread per process instead takes every insert that queued meanwhile and writes
them with one statement per table, in one transaction: a process has one waiter for the
lock instead of one per request, and a handful of statements and one commit serve many requests.

When the group's statement is refused (a duplicate idempotency key: two retries of one request at
once), the group is written again one request at a time, each in a savepoint, so that only the
request at fault gets the error; the others commit. A caller returns only once its rows are
committed, or raises what stopped them. Works the same on PostgreSQL.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ledger.storage.bulk import insert_as_one_statement
from ledger.storage.request_path import begin

Rows = Sequence[tuple[Table, dict]]  # (table, row) in the order they must be inserted


class _Pending:
    __slots__ = ("rows", "done", "error")

    def __init__(self, rows: Rows):
        self.rows, self.done = rows, threading.Event()
        self.error: BaseException | None = None


class GroupWriter:
    """``insert(rows)`` inserts ``rows`` in a transaction shared with concurrent callers and returns
    once it is committed. The writer thread starts on demand and ends after ``idle_s`` without work."""

    def __init__(self, engine: Engine, *, max_group: int = 200, idle_s: float = 10.0):
        self.engine, self.max_group, self.idle_s = engine, max_group, idle_s
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.durable = True  # False: commits return once the OS has them (request_path, "process-crash")
        self.transactions = 0  # groups written (or failed), for tests and benchmarks
        self.inserts = 0

    def insert(self, rows: Rows) -> None:
        item = _Pending(rows)
        with self._lock:
            if self._pid != os.getpid():  # a forked child inherits no thread: it starts its own
                self._queue, self._thread, self._pid = queue.SimpleQueue(), None, os.getpid()
            self._queue.put(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="certledger-group-commit", daemon=True)
                self._thread.start()
        item.done.wait()
        if item.error is not None:
            raise item.error

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:  # callers enqueue under this lock: none can slip in unseen
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            group = [first]
            while len(group) < self.max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list[_Pending]) -> None:
        try:
            try:
                with self.engine.connect() as conn, begin(conn, durable=self.durable):
                    _insert_all(conn, [row for item in group for row in item.rows])
            except IntegrityError:
                if len(group) == 1:
                    raise
                self._write_one_by_one(group)
        except BaseException as exc:  # noqa: BLE001 nothing of the group is written, and every caller
            for item in group:  # learns it (the thread lives on for the next group)
                if item.error is None:
                    item.error = exc
        finally:
            self.transactions += 1
            self.inserts += len(group)
            for item in group:
                item.done.set()

    def _write_one_by_one(self, group: list[_Pending]) -> None:
        with self.engine.connect() as conn, begin(conn, durable=self.durable):
            for item in group:
                try:
                    with conn.begin_nested():
                        _insert_all(conn, item.rows)
                except IntegrityError as exc:  # this request's conflict: raised to it, the others go on
                    item.error = exc


def _insert_all(conn: Connection, rows: Rows) -> None:
    """One INSERT per table (``insert_as_one_statement``), tables in the order they first appear."""
    by_table: dict[Table, list[dict]] = {}
    for table, row in rows:
        by_table.setdefault(table, []).append(row)
    for table, values in by_table.items():
        insert_as_one_statement(conn, table, values)


def group_writer(engine: Engine) -> GroupWriter:
    """The engine's group writer (one per engine and process)."""
    with _CREATE:
        writer = getattr(engine, "_certledger_group_writer", None)
        if writer is None:
            writer = GroupWriter(engine)
            engine._certledger_group_writer = writer  # type: ignore[attr-defined]  # one writer per engine, kept on it
        return writer


_CREATE = threading.Lock()

__all__ = ["GroupWriter", "group_writer"]
