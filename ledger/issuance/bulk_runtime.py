"""Bulk work in this process and its workers: when workers may be forked, and keeping Python's
cycle collector off the large, long-lived data of a bulk operation.

A 100,000-row bulk issuance holds its parsed rows, signed rows and results for its whole run, and a
batch that large holds its rows and Merkle tree while it is closed and delivered. Each full
collection walks all of them again, and as they grow the collector runs again and again: 9 full
collections took 1.7 s of the main process in bench_issue_bulk (measured with ``gc.callbacks``).
Freezing what existed at the start (``gc.freeze``) left 1.3 s, spent on what the operation made
since. So the collector is paused for the operation: objects are freed by reference counting as
usual, and cycles made meanwhile (few: no code here makes them per row) wait for the next collection.

A forked worker freezes what it inherited instead (``gc.freeze`` documentation: the collector then
never writes to the pages it shares with its parent, copy-on-write), and collects its own garbage.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def fork_is_safe() -> bool:
    """Fork is fast and imports nothing again, but copies other threads' locks mid-step (a web
    server, a connection pool): only while this process runs no other thread."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


_lock = threading.Lock()
_holders = 0
_was_enabled = True


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cycle collection for the duration. Nested and concurrent uses (threads) resume it at the
    last exit, and only if it ran at the first entry."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()


def freeze_inherited() -> None:
    """A forked worker's initializer: what it inherited from its parent is never collected here, and
    the collector runs for the rest (the fork may have come from inside ``collection_paused``)."""
    gc.freeze()
    gc.enable()


__all__ = ["collection_paused", "fork_is_safe", "freeze_inherited"]
