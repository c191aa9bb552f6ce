"""Token buckets per key (an API key id, a client address): pure logic, the clock injected.

Each key owns a bucket of ``burst`` tokens that refills at ``rate`` tokens per second; a request
takes one. An empty bucket means "too many requests": :meth:`RateLimiter.take` says how long until
a token is back (the ``Retry-After``). State lives in the process, so a service with N workers
allows N times the configured rate; the limits are a floodgate, not an accounting system.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_KEYS = 100_000  # buckets kept; beyond, idle (full) buckets are dropped first


class RateLimiter:
    """``take(key)`` -> 0.0 when allowed, else the seconds until the key may try again.

    Not thread-safe by design: ASGI middleware calls it from the event loop's one thread."""

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst, self.clock, self.max_keys = float(rate), float(burst), clock, max_keys
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, time of last update]

    def take(self, key: str, cost: float = 1.0) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            bucket = self._buckets[key] = [self.burst, now]
        else:
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= cost:
            bucket[0] -= cost
            return 0.0
        return (cost - bucket[0]) / self.rate

    def _prune(self, now: float) -> None:
        """Drop the buckets that have refilled (forgetting them changes nothing); if every bucket
        is still in use, forget them all rather than grow without bound."""
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, rounded up, at least 1 (RFC 9110 delay-seconds)."""
    return str(max(1, math.ceil(wait_s)))


__all__ = ["RateLimiter", "retry_after_header", "MAX_KEYS"]
