"""Chain timestamps shown to people and in reports."""
from datetime import datetime, timezone


def iso_utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
