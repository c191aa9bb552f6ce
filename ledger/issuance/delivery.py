"""Step 4 of anchoring: a confirmed batch's bundles handed to the content hook, a chunk at a time.

Each chunk's bundles are built (the stored credential opened, the Merkle path spliced in) and
prepared (``BundleSink.prepare``: the shares encrypted) and then stored (``BundleSink.store``), in
leaf order, at least once: a failed chunk fails the delivery, which starts again from the first
chunk later, so the sink must be idempotent.

A large batch (a bulk issuance: 100,000 credentials in one batch) builds and prepares its chunks in
a worker process, up to ``AHEAD`` chunks ahead of the one this process is storing: building and
encrypting 100,000 bundles took ~3 s of this process's CPU while the other core idled
(bench_issue_bulk). Storing stays here and in order, so what a crash leaves behind is the same as
without the worker. The worker is forked: it inherits the storage key and the tree, is sent the
rows of a chunk and sends back what ``prepare`` made of them (through a pipe between the two
processes, nothing written anywhere). With other threads running, forking is unsafe and the chunks
are built here instead.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import NamedTuple

from sqlalchemy import select

from ledger.issuance.bulk_runtime import collection_paused, fork_is_safe, freeze_inherited
from ledger.issuance.bundle_bytes import BatchBundles
from ledger.issuance.context import BundleSink, as_is
from ledger.issuance.merkle_cache import BatchIntegrityError
from ledger.issuance.stored_credentials import with_body
from ledger.storage.db import reading
from ledger.storage.tables import CRED

CHUNK = 5_000  # bundles per sink call: one pack, one fsync, one commit each
PARALLEL_MIN = 2 * CHUNK  # smaller batches: starting a worker costs more than it saves
AHEAD = 2  # chunks built ahead of the one being stored


class ContentHookFailed(Exception):
    pass


class _Stored(NamedTuple):  # a credential row as the bundle needs it (sent as a plain tuple: pickled faster)
    id: str
    digest: str
    leaf_index: int
    sealed_credential: bytes


class _Failed(NamedTuple):  # the sink's prepare failed (the worker returns it rather than raising)
    error: str


def sink_of(ctx) -> BundleSink | None:
    """Where ``ctx`` delivers bundles: its sink, else its per-bundle hook, else nowhere."""
    if ctx.bundle_sink is not None:
        return ctx.bundle_sink
    if ctx.store_bundle is not None:

        def store(items):
            for credential_id, data in items:
                ctx.store_bundle(credential_id, data)

        return BundleSink(as_is, store)
    return None


def deliver_bundles(ctx, batch, sink: BundleSink) -> None:
    """Build, prepare and store every bundle of ``batch`` (confirmed), a chunk at a time."""
    with collection_paused():  # ledger.issuance.bulk_runtime
        _deliver(ctx, batch, sink)


def _deliver(ctx, batch, sink: BundleSink) -> None:
    bundles = BatchBundles(ctx, batch, ctx.trees.get(ctx.engine, batch.id, batch.root))
    chunk = _Chunk(bundles, sink.prepare)
    with _builder(chunk, parallel=batch.count >= PARALLEL_MIN) as submit:
        waiting: deque = deque()
        for start in range(0, batch.count, CHUNK):
            rows = _read(ctx, batch, start)
            waiting.append((rows[0][0], rows[-1][0], submit(rows)))
            if len(waiting) > AHEAD:
                _store(sink, *waiting.popleft())
        while waiting:
            _store(sink, *waiting.popleft())


def _read(ctx, batch, start: int) -> list[tuple]:
    # Leaf indexes run 0 … count-1: a bounded range per chunk. (``leaf_index > last … LIMIT`` let
    # PostgreSQL, its statistics stale after the batch's updates, sort every remaining row per chunk.)
    expected = min(CHUNK, batch.count - start)
    with reading(ctx.engine).connect() as conn:
        rows = conn.execute(
            with_body(select(CRED.c.id, CRED.c.digest, CRED.c.leaf_index))
            .where(CRED.c.batch_id == batch.id, CRED.c.leaf_index >= start, CRED.c.leaf_index < start + CHUNK)
            .order_by(CRED.c.leaf_index)
        ).all()
    if len(rows) != expected:
        raise BatchIntegrityError(
            f"batch {batch.id}: {len(rows)} credentials at leaves {start}… where {expected} were closed into it"
        )
    return [tuple(row) for row in rows]


def _store(sink: BundleSink, first: str, last: str, result: Callable) -> None:
    try:
        prepared = result()
    except BrokenProcessPool as exc:
        raise ContentHookFailed(
            f"the process building the bundles of credentials {first} … {last} died: {exc}"
        ) from exc
    if isinstance(prepared, _Failed):
        raise ContentHookFailed(f"preparing the bundles of credentials {first} … {last} failed: {prepared.error}")
    try:
        sink.store(prepared)
    except Exception as exc:
        raise ContentHookFailed(
            f"storing the bundles of credentials {first} … {last} failed: {type(exc).__name__}: {exc}"
        ) from exc


class _Chunk:
    """Rows -> bundles -> ``prepare``d; a stored credential that does not match its digest raises
    (StoredCredentialCorrupted), a failing ``prepare`` is returned as ``_Failed``."""

    def __init__(self, bundles: BatchBundles, prepare: Callable) -> None:
        self.bundles, self.prepare = bundles, prepare

    def __call__(self, rows: list[tuple]):
        items = [(row.id, self.bundles.bundle_bytes(row)) for row in map(_Stored._make, rows)]
        try:
            return self.prepare(items)
        except Exception as exc:  # noqa: BLE001 - reported as the chunk's hook failure
            return _Failed(f"{type(exc).__name__}: {exc}")


@contextmanager
def _builder(chunk: _Chunk, *, parallel: bool):
    """``submit(rows)`` -> a callable giving ``chunk(rows)``: from a forked worker when ``parallel``
    and forking is safe, else computed here when asked for."""
    if not (parallel and _can_fork()):
        yield lambda rows: lambda: chunk(rows)
        return
    pool = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"), initializer=_install, initargs=(chunk,)
    )
    try:
        yield lambda rows: pool.submit(_build, rows).result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _can_fork() -> bool:
    return (os.cpu_count() or 1) > 1 and fork_is_safe()


_installed: _Chunk | None = None  # in the worker: the batch's chunk builder, inherited through fork


def _install(chunk: _Chunk) -> None:
    global _installed
    _installed = chunk
    freeze_inherited()
    try:  # Linux: the worker ends with this process, even after a kill -9
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _build(rows: list[tuple]):
    return _installed(rows)  # type: ignore[misc]  # set by _install (in the worker) before any call


__all__ = ["AHEAD", "CHUNK", "ContentHookFailed", "PARALLEL_MIN", "deliver_bundles", "sink_of"]
