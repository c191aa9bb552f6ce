"""The anchoring process's state for the API workers' `/healthz`: a small JSON file it rewrites
every second (atomically), which the workers read. A file that stopped changing means the process
is gone (or hung): it then reads as not running."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

STALE_S = 5.0  # several missed heartbeats (one a second)


def write_status(path: Path, health: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "at": time.time(), **health}))
    os.replace(tmp, path)


def read_status(path: Path | str | None, now: float | None = None) -> dict:
    """{"running": False} unless the file is fresh; then its health fields (its worker id, chain reachable, since when)."""
    if path is None:
        return {"running": False}
    try:
        status = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"running": False}
    if (time.time() if now is None else now) - status.get("at", 0) > STALE_S or not status.get("running"):
        return {"running": False}
    return {
        "running": True,
        "worker": status.get("worker"),
        "chainReachable": status.get("chainReachable"),
        "chainDownForS": status.get("chainDownForS"),
    }


__all__ = ["STALE_S", "read_status", "write_status"]
