"""When this process may fork its worker processes (signing, bundle building)."""

from __future__ import annotations

import multiprocessing
import threading


def fork_is_safe() -> bool:
    """Fork is fast and imports nothing again, but copies other threads' locks mid-step (a web
    server, a connection pool): only while this process runs no other thread."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


__all__ = ["fork_is_safe"]
