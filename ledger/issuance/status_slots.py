"""Status-list slots handed to credentials as they are signed: (list id, index), never twice.

Slots are reserved in the database in committed transactions (``ledger.issuance.status_allocation``)
before any credential that uses them is signed, so a crash can only leave reserved slots unused,
never hand one out again. A bulk request reserves all its slots at once; single issuance takes them
from a small block this process reserved ahead, so that a request costs no extra database write.
"""

from __future__ import annotations

import threading
from collections import deque

from ledger.issuance.status_allocation import reserve, slots

BLOCK = 64  # slots a process reserves at a time for single issuance


class StatusSlots:
    """This process's source of slots, per agency and signing key."""

    def __init__(self, engine, block: int = BLOCK) -> None:
        self._engine, self._block = engine, block
        self._pools: dict[tuple[str, bytes], deque[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def take(self, agency: str, public_key: bytes, count: int) -> list[tuple[int, int]]:
        """``count`` fresh slots of ``agency``'s lists for ``public_key``, in index order."""
        if count >= self._block:
            return list(slots(reserve(self._engine, agency, public_key, count)))
        with self._lock:
            pool = self._pools.setdefault((agency, bytes(public_key)), deque())
            while len(pool) < count:
                pool.extend(slots(reserve(self._engine, agency, public_key, self._block)))
            return [pool.popleft() for _ in range(count)]


__all__ = ["BLOCK", "StatusSlots"]
