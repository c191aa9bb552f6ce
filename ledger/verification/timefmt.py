"""Chain timestamps shown to people and in reports."""

from datetime import UTC, datetime

_LAST = 253402300799  # 9999-12-31T23:59:59Z: the chain's uint64 times can go further than datetime


def iso_utc(timestamp: int) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``; a time beyond year 9999 (a key's validFrom may be set so) as its
    seconds, never an exception in a report."""
    if not 0 <= timestamp <= _LAST:
        return f"{timestamp} s after 1970-01-01T00:00:00Z"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
