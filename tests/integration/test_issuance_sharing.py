"""Encrypted shares of completed bundles, on a real anvil, on SQLite and PostgreSQL: delivered a
chunk at a time into the embedded store (one pack per chunk), built and encrypted here or, for a
large batch, in a forked worker process (never with other threads running; a failure there leaves the
batch to retry), every share decrypting to its bundle;
a full disk queues them (exponential backoff, capped) without holding up anchoring, and the queue
drains once space returns; redelivery changes nothing."""

from __future__ import annotations

import errno
import json
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.content.links import parse_share_link
from ledger.content.local_store import PACK_DIR, LocalContentStore
from ledger.content.share import decrypt_share
from ledger.issuance import anchor_once, anchoring, delivery, get_bundle, issue_many, rows_from_objects
from ledger.issuance.assembly import attach_shares
from ledger.issuance.context import BundleSink
from ledger.issuance.sharing import ShareStore
from ledger.protocol.bundle import parse_bundle
from ledger.storage.tables import CONTENT
from ledger.verification import Verdict
from tests.integration.issuance_support import DEGREE, EDU, degree_subject, issuer_world, make_context, verdict  # noqa: F401

VERIFIER = "https://verify.example"


class SwitchableDisk:
    """A writer for LocalContentStore that fails with ENOSPC while ``full`` (nothing else faked)."""

    def __init__(self) -> None:
        self.full = False

    def __call__(self, file, data: bytes) -> None:
        if self.full:
            file.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        file.write(data)


def share_of(shares: ShareStore, store, credential_id: str) -> bytes:
    link = parse_share_link(shares.link(EDU, credential_id, VERIFIER).url)
    return decrypt_share(store.get(link.cid), link.key)


def content_rows(ctx) -> list:
    with ctx.engine.connect() as conn:
        return conn.execute(select(CONTENT).order_by(CONTENT.c.credential_id)).all()


def issue(ctx, n: int, prefix: str) -> list[str]:
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"{prefix}{i}") for i in range(n)]))
    return [r.id for r in result.issued]


@pytest.mark.parametrize("where", ["here", "worker-process", "here-while-a-thread-runs"])
def test_bundles_go_to_the_store_a_chunk_at_a_time(issuer_world, database_url, tmp_path, monkeypatch, where):
    monkeypatch.setattr(delivery, "CHUNK", 4)
    monkeypatch.setattr(delivery, "PARALLEL_MIN", 11 if where == "here" else 10)  # a batch of 10
    worker = where == "worker-process"
    if worker:  # other tests' idle threads (a group writer) may still run in this process
        monkeypatch.setattr(delivery, "_can_fork", lambda: True)
    stop = threading.Event()
    if where == "here-while-a-thread-runs":  # forking then would copy that thread's locks mid-step
        threading.Thread(target=stop.wait, daemon=True).start()
    ctx = make_context(issuer_world, database_url)
    store = LocalContentStore(tmp_path / "content")
    shares = attach_shares(ctx, store)
    calls, built_by = [], set()
    sink = ctx.bundle_sink

    def prepare_with_pid(items):  # inherited by the forked worker, not pickled
        return [(share, os.getpid()) for share in shares.prepare(items)]

    ctx.bundle_sink = BundleSink(
        prepare_with_pid,
        lambda prepared: (
            calls.append(len(prepared)),
            built_by.update(pid for _, pid in prepared),
            sink.store([share for share, _ in prepared]),
        ),
    )
    ids = issue(ctx, 10, "chunk")
    report = anchor_once(ctx, flush=True)
    assert len(report.completed) == 1
    assert calls == [4, 4, 2]
    stop.set()
    assert (built_by != {os.getpid()}) if worker else (built_by == {os.getpid()})
    assert len(list((store.root / PACK_DIR).glob("*.pack"))) == 3  # one pack (one fsync) per chunk
    rows = content_rows(ctx)
    assert len(rows) == 10 and all(r.stored and r.pending_blob is None for r in rows)
    assert len({r.cid for r in rows}) == 10
    for credential_id in ids:
        share = share_of(shares, store, credential_id)
        assert json.loads(share) == json.loads(get_bundle(ctx, EDU, credential_id).to_bytes())
        assert verdict(issuer_world.world, parse_bundle(share))[0] is Verdict.VALID
    # At least once: delivering the same bundles again records and stores nothing new.
    items = [(i, get_bundle(ctx, EDU, i).to_bytes()) for i in ids]
    assert shares.store_bundles(items) == []
    assert shares.store_prepared(shares.prepare(items)) == []
    assert content_rows(ctx) == rows
    assert len(list((store.root / PACK_DIR).glob("*.pack"))) == 3
    ctx.engine.dispose()


def _fails(items):
    raise ValueError(f"cannot prepare {len(items)} bundles")


def test_a_chunk_that_fails_in_the_worker_process_leaves_the_batch_to_retry(
    issuer_world, database_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(delivery, "CHUNK", 4)
    monkeypatch.setattr(delivery, "PARALLEL_MIN", 4)
    monkeypatch.setattr(delivery, "_can_fork", lambda: True)
    clock = [datetime(2030, 1, 1, tzinfo=UTC)]
    ctx = make_context(issuer_world, database_url, clock=lambda: clock[0])
    store = LocalContentStore(tmp_path / "content")
    shares = attach_shares(ctx, store)
    working = ctx.bundle_sink
    ctx.bundle_sink = BundleSink(_fails, working.store)
    ids = issue(ctx, 6, "fails")
    report = anchor_once(ctx, flush=True)
    assert report.completed == [] and len(report.retrying) == 1
    with ctx.engine.connect() as conn:
        batch = conn.execute(select(anchoring.BATCH)).one()
    assert batch.state == "confirmed"
    assert (
        f"preparing the bundles of credentials {ids[0]} … {ids[3]} failed: ValueError: cannot prepare 4 bundles"
        in batch.last_error
    )
    assert content_rows(ctx) == []
    ctx.bundle_sink = working
    clock[0] += timedelta(hours=1)  # past the backoff
    assert anchor_once(ctx).completed == [batch.id]
    assert {r.credential_id for r in content_rows(ctx)} == set(ids)
    for credential_id in ids:
        assert json.loads(share_of(shares, store, credential_id)) == json.loads(
            get_bundle(ctx, EDU, credential_id).to_bytes()
        )
    ctx.engine.dispose()


def test_a_full_disk_queues_the_shares_and_they_are_stored_when_space_returns(issuer_world, database_url, tmp_path):
    clock = [datetime(2030, 1, 1, tzinfo=UTC)]
    ctx = make_context(issuer_world, database_url, clock=lambda: clock[0])
    disk = SwitchableDisk()
    store = LocalContentStore(tmp_path / "content", writer=disk)
    shares = ShareStore(ctx, store, backoff_s=2.0, backoff_max_s=10.0)
    ctx.bundle_sink = shares.sink()
    disk.full = True
    ids = issue(ctx, 5, "full")
    report = anchor_once(ctx, flush=True)
    assert len(report.completed) == 1  # anchoring is not held up
    assert shares.pending_count() == 5
    link = shares.link(EDU, ids[0], VERIFIER)  # links exist at once
    assert not store.has(parse_share_link(link.url).cid)
    assert list((store.root / PACK_DIR).iterdir()) == []  # nothing partial left

    delays = []
    for _ in range(4):  # still full: 2, 4, 8, 10 (capped) s
        (row, *_) = content_rows(ctx)
        delays.append((row.next_attempt_at.replace(tzinfo=UTC) - clock[0]).total_seconds())
        assert shares.push_pending() == 0  # not due yet: nothing tried
        clock[0] = row.next_attempt_at.replace(tzinfo=UTC)
        assert shares.push_pending() == 0  # due, tried, still full
    (row, *_) = content_rows(ctx)
    delays.append((row.next_attempt_at.replace(tzinfo=UTC) - clock[0]).total_seconds())
    assert delays == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert {r.attempts for r in content_rows(ctx)} == {5}

    disk.full = False
    clock[0] += timedelta(seconds=10)
    assert shares.push_pending() == 5
    assert shares.pending_count() == 0
    rows = content_rows(ctx)
    assert all(r.stored and r.pending_blob is None and r.next_attempt_at is None for r in rows)
    for credential_id in ids:
        assert json.loads(share_of(shares, store, credential_id)) == json.loads(
            get_bundle(ctx, EDU, credential_id).to_bytes()
        )
    assert shares.link(EDU, ids[0], VERIFIER) == link  # the link given out still works
    ctx.engine.dispose()


def test_retry_backoff_is_validated():
    with pytest.raises(ValueError):
        ShareStore(None, None, backoff_s=0)
    with pytest.raises(ValueError):
        ShareStore(None, None, backoff_s=5, backoff_max_s=1)
