"""What both services' ``/metrics`` share: request latency, the exposition, and multiprocess mode.

A service runs as several processes (uvicorn workers; the issuer's anchorer beside them), and a
scrape reaches one of them. Two designs answer alike whichever it reaches:

* counts of what is stored (credentials, batches) and reachability are read at scrape time by a
  collector of the library (``ledger.issuance.metrics``, ``ledger.verification.metrics``);
* what happens in one process (a request's latency, a verdict, a batch anchored) goes to
  prometheus-client's counters and histograms, which in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``
  set before the process imports prometheus-client) write a file per process in that directory; a
  scrape sums them all, also those of workers that exited, so counts never go back. ``certledger
  serve`` sets the directory (:func:`multiprocess_dir`) for every process it starts; a single
  process without it keeps them in memory.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUEST_LATENCY = Histogram(
    "certledger_http_request_duration_seconds",
    "Time to answer a request, by route template (never the raw path: no ids), method and status",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
# The mode prometheus-client chose when first imported in this process (from PROMETHEUS_MULTIPROC_DIR):
# its values then live in that directory's files, which MultiProcessCollector reads.
MULTIPROCESS = values.ValueClass is not values.MutexValue
UNMATCHED = "unmatched"  # a path no route took (404s, refusals before routing)


class RequestMetrics:
    """ASGI middleware: each request's latency in :data:`REQUEST_LATENCY`, labelled by the template
    of the route that answered (``/credentials/{credential_id}``). ``fixed_paths``: the paths plain
    ASGI endpoints answer in front of the router (no route in the scope), labelled as they are."""

    def __init__(self, app, fixed_paths: Iterable[str] = (), root_path: str = ""):
        self.app, self.fixed_paths, self.root_path = app, frozenset(fixed_paths), root_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]  # an exception that escapes is the server's 500

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            REQUEST_LATENCY.labels(self._route(scope), scope["method"], str(status[0])).observe(
                time.perf_counter() - started
            )

    def _route(self, scope) -> str:
        route = scope.get("route")
        if route is not None and getattr(route, "path", None) is not None:
            return route.path
        path = scope["path"].removeprefix(self.root_path) if self.root_path else scope["path"]
        return path if path in self.fixed_paths else UNMATCHED


def exposition(*collectors) -> bytes:
    """The text format of this service's per-process series (every process's, in multiprocess mode)
    and of ``collectors`` (read now)."""
    per_process = MultiProcessCollector(None) if MULTIPROCESS else REGISTRY
    return generate_latest(_Scrape([per_process, *collectors]))  # type: ignore[arg-type]  # has collect()


class _Scrape:
    """One scrape's collectors, not registered anywhere: a service's collectors live with its app."""

    def __init__(self, collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def multiprocess_dir(data_dir: Path, service: str, pid: int | None = None) -> Path:
    """``DATA_DIR/run/metrics-SERVICE-PID``, empty, for the processes of one run of a service; the
    directories of runs whose process is gone are removed (their counts belong to that run)."""
    run = data_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    for old in run.glob(f"metrics-{service}-*"):
        other = old.name.rsplit("-", 1)[-1]
        if other.isdigit() and not _alive(int(other)):
            shutil.rmtree(old, ignore_errors=True)
    path = run / f"metrics-{service}-{pid or os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = [
    "CONTENT_TYPE_LATEST",
    "MULTIPROC_ENV",
    "REQUEST_LATENCY",
    "RequestMetrics",
    "exposition",
    "multiprocess_dir",
]
