"""Verifying a large batch on several processes.

Each worker process (started with ``spawn``: the service has threads, which ``fork`` would copy
mid-flight) opens the index database read-only through its own :class:`IndexedChainReader` and
loads what the indexer wrote before each chunk it verifies, so a batch sees the same chain state as
single requests. Reports travel back as JSON texts (cheaper to pickle than dicts), in order.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from .settings import VerifierSettings

# ------------------------------------------------------------------- inside a worker process

_worker: dict = {}


def _init_worker(settings_json: dict, parent: int) -> None:
    # uvicorn kills a hung worker with SIGKILL: its pool must not outlive it.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    from .index_db import make_index_engine
    from .indexer import IndexedChainReader
    from .settings import DeploymentRoot

    roots = [DeploymentRoot.from_json(r) for r in settings_json["trust_roots"]]
    engine = make_index_engine(settings_json["database_url"])
    reader = IndexedChainReader(engine, roots, confirmations=settings_json["confirmations"],
                                max_staleness_s=settings_json["max_staleness_s"])
    from .trust import TrustRoots

    _worker.update(reader=reader, trust=TrustRoots([r.trusted for r in roots]), synced=float("-inf"))


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _verify_chunk(items: list[str]) -> tuple[list[str], list[int]]:
    from .service import verify_texts

    reader = _worker["reader"]
    if time.monotonic() - _worker["synced"] > 0.05:
        reader.sync()
        _worker["synced"] = time.monotonic()
    return verify_texts(items, _worker["trust"], reader)


def _ready() -> bool:
    return "reader" in _worker


# ------------------------------------------------------------------- in the service


class BatchPool:
    """A pool of verifier processes for batches of at least ``min_items`` bundles."""

    def __init__(self, settings: VerifierSettings, processes: int | None = None, min_items: int = 256):
        self.processes = processes or settings.effective_batch_processes
        self.min_items = min_items
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(settings.to_json(), os.getpid()))

    def worth_it(self, n: int) -> bool:
        return self.processes > 1 and n >= self.min_items

    def warm(self, delay_s: float = 0.0) -> None:
        """Start the workers now (after ``delay_s``: not in the service's own busy start), so the
        first batch does not pay for their imports."""
        time.sleep(delay_s)
        for f in [self._pool.submit(_ready) for _ in range(self.processes * 2)]:
            f.result()

    def verify(self, items: list[str]) -> tuple[list[str], list[int]]:
        chunks = self.processes * 4
        size = max(1, -(-len(items) // chunks))
        starts = list(range(0, len(items), size))
        futures = [self._pool.submit(_verify_chunk, items[s:s + size]) for s in starts]
        reports: list[str] = []
        retry: list[int] = []
        for start, future in zip(starts, futures):
            texts, again = future.result()
            reports.extend(texts)
            retry.extend(start + i for i in again)
        return reports, retry

    def close(self, timeout_s: float = 5.0) -> None:
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        done = threading.Thread(target=self._pool.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True)
        done.start()
        done.join(timeout_s)
        for p in processes:  # still importing, or stuck: they hold nothing worth waiting for
            if p.is_alive():
                p.terminate()


__all__ = ["BatchPool"]
