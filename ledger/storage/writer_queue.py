"""SQLite writers wait for each other in the kernel, not in SQLite's busy handler.

A writer that finds SQLite's write lock taken sleeps and tries again, in growing steps (1, 2, 5 …
50, 100 ms): it wakes late, and meanwhile newer writers take the lock first, so under a steady load
one writer could wait 0.5-1.5 s for a lock that was never held for more than 30 ms at a time
(measured with bench_issue_http). Before ``BEGIN IMMEDIATE`` every write transaction of the engine
therefore takes an exclusive ``flock`` on a file beside the database (``<database>-writers.lock``),
and gives it up when it commits or rolls back: a waiting writer blocks in the kernel and wakes as
soon as the lock is free. SQLite's own lock still guards the data; the file lock only orders the
writers (a writer outside this engine, e.g. the sqlite3 shell, just falls back to the busy handler).

A thread that already holds the file lock (a write transaction inside another one) does not wait
for it again: that would wait for itself. It queues on SQLite's busy timeout, as it did before.
"""

from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

_FD, _HELD = "certledger_writers_fd", "certledger_writers_held"


def lock_path(engine: Engine) -> str | None:
    """The lock file of a file-backed SQLite database; None for an in-memory one."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + "-writers.lock"


class WriterQueue:
    """The file lock of one engine: ``acquire(conn.info)`` before BEGIN IMMEDIATE; it is given up by
    itself at COMMIT, ROLLBACK, or when the connection goes back to the pool or is closed."""

    def __init__(self, engine: Engine, path: str):
        self.path = path
        self._holders = threading.local()  # per thread: holds the lock through one of the connections
        event.listen(engine, "connect", self._open)
        event.listen(engine, "close", self._close)
        # Given up before COMMIT or ROLLBACK runs: the next writer then finds SQLite's lock taken for
        # well under a millisecond, and this thread does not need the interpreter lock again to let go.
        event.listen(engine, "commit", lambda conn: self.release(conn.info))
        event.listen(engine, "rollback", lambda conn: self.release(conn.info))
        event.listen(engine, "checkin", lambda _dbapi, record: self.release(record.info))

    def _open(self, _dbapi, record) -> None:
        record.info[_FD] = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _close(self, _dbapi, record) -> None:
        self.release(record.info)
        fd = record.info.pop(_FD, None)
        if fd is not None:
            os.close(fd)

    def acquire(self, info: dict) -> None:
        if getattr(self._holders, "held", False) or _FD not in info:
            return
        fcntl.flock(info[_FD], fcntl.LOCK_EX)  # blocks in the kernel, without the interpreter lock
        info[_HELD] = True
        self._holders.held = True

    def release(self, info: dict) -> None:
        if info.pop(_HELD, False):
            self._holders.held = False
            fcntl.flock(info[_FD], fcntl.LOCK_UN)


__all__ = ["WriterQueue", "lock_path"]
