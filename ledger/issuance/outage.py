"""A dependency that stopped answering (the chain node, the database): how long it has been away
and how long to wait before the next try (1, 2, 4 … ``max_delay_s`` seconds). The watches built on
it (``node_watch``, ``database_watch``) log one line per try, not a traceback."""

from __future__ import annotations

import time


class Outage:
    def __init__(self, first_delay_s: float = 1.0, max_delay_s: float = 15.0, clock=time.monotonic):
        self.first_delay_s, self.max_delay_s, self.clock = first_delay_s, max_delay_s, clock
        self.down_since: float | None = None
        self.failures = 0

    def failed(self) -> tuple[float, float]:
        """A try failed: (seconds away so far, seconds to wait before the next try)."""
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
        delay = min(self.first_delay_s * 2 ** min(self.failures, 16), self.max_delay_s)
        self.failures += 1
        return now - self.down_since, delay

    def ended(self) -> float | None:
        """A try succeeded: how long the outage lasted (None if there was none); the next starts afresh."""
        if self.down_since is None:
            return None
        away = self.clock() - self.down_since
        self.down_since, self.failures = None, 0
        return away


def root_cause(exc: BaseException) -> str:
    """The innermost error's last words ("Connection refused"), short: not the request or its URL."""
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    text = (str(exc).strip().splitlines() or [""])[0]
    return text.rsplit(": ", 1)[-1][:160] or type(exc).__name__


__all__ = ["Outage", "root_cause"]
