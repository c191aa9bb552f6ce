"""Verifying a large batch on several processes.

The pool is ``ledger.verification.many.WorkerPool`` (the one ``certledger verify`` uses for many
bundles), started with ``spawn``: the service has threads, which ``fork`` would copy mid-flight.
Each worker opens the index database read-only through its own :class:`IndexedChainReader` and
loads what the indexer wrote before each chunk it verifies, so a batch sees the same chain state as
single requests. Reports travel back as JSON texts (cheaper to pickle than dicts), in order.
"""

from __future__ import annotations

import re
import time

from ledger.verification.many import WorkerPool
from verifier.settings import VerifierSettings

# ------------------------------------------------------------------- inside a worker process

_worker: dict = {}


def _setup_worker(settings_json: dict) -> None:
    from verifier.index_db import make_index_engine
    from verifier.indexer import IndexedChainReader
    from verifier.settings import trust_root_from_json

    roots = [trust_root_from_json(r) for r in settings_json["trust_roots"]]
    engine = make_index_engine(settings_json["database_url"])
    reader = IndexedChainReader(
        engine, roots, confirmations=settings_json["confirmations"], max_staleness_s=settings_json["max_staleness_s"]
    )
    from ledger.verification.trust import TrustRoots

    _worker.update(reader=reader, trust=TrustRoots(roots), synced=float("-inf"))


def _verify_chunk(items: list[str]) -> tuple[list[str], list[int]]:
    from verifier.service import verify_texts

    reader = _worker["reader"]
    if time.monotonic() - _worker["synced"] > 0.05:
        reader.sync()
        _worker["synced"] = time.monotonic()
    return verify_texts(items, _worker["trust"], reader)


_SCANNER = None


def _verify_part(part: str, last: bool, max_items: int):
    """Split one part of a batch array (elements separated by commas; a trailing comma unless
    ``last``) and verify it. None when the part is not exactly that (the caller splits the whole
    body itself, which names the error); ``(reports, [(index, text) to retry])`` otherwise."""
    import json

    from ledger.protocol.json_depth import too_deep

    global _SCANNER
    if _SCANNER is None:
        _SCANNER = json.JSONDecoder()
    items: list[str] = []
    i, n = _skip(part, 0), len(part)
    while i < n:
        try:
            _, end = _SCANNER.raw_decode(part, i)
        except (ValueError, RecursionError):
            return None
        items.append(part[i:end])
        if len(items) > max_items:
            return None
        i = _skip(part, end)
        if i == n:
            if not last:
                return None  # a part other than the last ends with a comma
            break
        if part[i] != ",":
            return None
        i = _skip(part, i + 1)
        if i == n and last:
            return None  # a trailing comma before ']'
    if any(too_deep(item) for item in items):
        return None
    reports, retry = _verify_chunk(items)
    return reports, [(k, items[k]) for k in retry]


def _skip(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n\r":
        i += 1
    return i


# ------------------------------------------------------------------- in the service

_CUT = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")
# A v2 credential holds "}, {" itself (between its two credentialStatus entries), so a cut at the first
# "}, {" often falls inside a bundle; bundles as CertLedger writes them start with their "type": prefer
# a cut there, and fall back to any "}, {" (every cut is proven by chaining either way).
_BUNDLE_CUT = re.compile(r'\}[ \t\n\r]*,[ \t\n\r]*\{[ \t\n\r]*"type"[ \t\n\r]*:[ \t\n\r]*"CertLedgerBundle"')


class BatchPool:
    """A pool of verifier processes for batches of at least ``min_items`` bundles."""

    def __init__(
        self,
        settings: VerifierSettings,
        processes: int | None = None,
        min_items: int = 256,
        min_split_bytes: int = 512 * 1024,
    ):
        self.processes = processes or settings.effective_batch_processes
        self.min_items, self.min_split_bytes = min_items, min_split_bytes
        self.split_here = self.split_there = (
            0  # how often verify_array could not / could leave the split to the workers
        )
        # spawn: the service has threads, which fork would copy mid-flight
        self._pool = WorkerPool(_setup_worker, (settings.to_json(),), self.processes, start_method="spawn")

    def worth_it(self, n: int) -> bool:
        return self.processes > 1 and n >= self.min_items

    def worth_splitting(self, body_bytes: int) -> bool:
        return self.processes > 1 and body_bytes >= self.min_split_bytes

    def verify_array(self, text: str, max_items: int):
        """Verify a JSON array without splitting it here: cut it at a few places that look like
        element boundaries (``}, {``) and let each process split and verify its part. A cut that
        falls elsewhere (inside a string, between two nested objects) is caught: the part before it
        must end exactly there, with a comma; parsing is deterministic from the array's start, so
        when every part ends exactly where the next begins, every cut was a true boundary. Returns
        None when that does not hold (the caller then splits the body itself)."""
        start, end = _skip(text, 0), len(text.rstrip(" \t\n\r"))
        if start >= end or text[start] != "[" or text[end - 1] != "]":
            self.split_here += 1
            return None
        first, stop = _skip(text, start + 1), len(text[: end - 1].rstrip(" \t\n\r"))
        if first >= stop:
            self.split_here += 1
            return None
        parts = self.processes * 2
        cuts = [first]
        for k in range(1, parts):
            at = max(first + k * (stop - first) // parts, cuts[-1] + 1)
            found = _BUNDLE_CUT.search(text, at, stop) or _CUT.search(text, at, stop)
            cut = _skip(text, text.index(",", found.start()) + 1) if found else -1  # at the "{"
            if cut > cuts[-1]:
                cuts.append(cut)
        cuts.append(stop)
        bounds = list(zip(cuts, cuts[1:]))
        futures = [
            self._pool.submit(_verify_part, text[a:b], k == len(bounds) - 1, max_items)
            for k, (a, b) in enumerate(bounds)
        ]
        reports: list[str] = []
        retry: list[tuple[int, str]] = []
        failed = False
        for future in futures:
            outcome = future.result()
            if outcome is None:
                failed = True
                continue
            texts, again = outcome
            retry.extend((len(reports) + k, item) for k, item in again)
            reports.extend(texts)
        if failed or len(reports) > max_items:
            self.split_here += 1
            return None
        self.split_there += 1
        return reports, retry

    def warm(self, delay_s: float = 0.0) -> None:
        """Start the workers now (after ``delay_s``: not in the service's own busy start), so the
        first batch does not pay for their imports."""
        time.sleep(delay_s)
        self._pool.warm()

    def verify(self, items: list[str]) -> tuple[list[str], list[int]]:
        chunks = self.processes * 4
        size = max(1, -(-len(items) // chunks))
        starts = list(range(0, len(items), size))
        futures = [self._pool.submit(_verify_chunk, items[s : s + size]) for s in starts]
        reports: list[str] = []
        retry: list[int] = []
        for start, future in zip(starts, futures):
            texts, again = future.result()
            reports.extend(texts)
            retry.extend(start + i for i in again)
        return reports, retry

    def close(self, timeout_s: float = 5.0) -> None:
        self._pool.close(timeout_s)


__all__ = ["BatchPool"]
