"""Completed bundles as encrypted shares in the content store, and the links citizens share.

The anchoring pipeline hands completed bundles here, a chunk at a time (`sink`: `prepare`, then
`store_prepared`), at least once. Each is encrypted under a fresh key (docs/protocol.md §9 "Encrypted
share"), its CID computed locally and its key sealed, so a share link exists at once, even while
the store is down or full. The chunk goes to the store in one `put_many` (one durability barrier
for the embedded store), THEN the records are written in one transaction: a share is recorded as
stored only once the store has it durably.
What the store did not take is recorded with its encrypted object (`pending_blob`), a retry queue
that `push_pending` drains with exponential backoff per share (capped).

Idempotent: a credential whose share is recorded is skipped. A crash between the store's write
and the records leaves unreferenced encrypted objects in the store (their keys were never
recorded); the redelivered bundle gets a new share. Nothing is lost, nothing is linked twice.
The share key is sealed at rest and appears only in the link's fragment.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlmodel import Session

from ledger.content.cid import compute_cid
from ledger.content.links import ShareLink, build_share_link, normalise_verifier_url, share_url
from ledger.content.share import encrypt_shares
from ledger.content.store import ContentStore, ContentStoreError, ContentStoreFull, ContentStoreUnavailable
from ledger.issuance.context import BundleSink
from ledger.issuance.database_watch import DatabaseWatch
from ledger.issuance.errors import CredentialNotFound, NotAnchored
from ledger.storage.bulk import bulk_insert
from ledger.storage.db import reading
from ledger.storage.models import ContentRecord, CredentialRecord
from ledger.storage.tables import table_of

log = logging.getLogger(__name__)
CONTENT = table_of(ContentRecord)
CRED = table_of(CredentialRecord)
BACKOFF_S, BACKOFF_MAX_S = 2.0, 300.0
_PUSH_CHUNK = 1_000
_LINK_CHUNK = 5_000

# (credential id, CID (None until known), encrypted object, attempts so far): what _put hands the store
_Share = tuple[str, "str | None", bytes, int]


def _first_of_each(pairs) -> dict:
    out: dict = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


class PreparedShare(NamedTuple):
    """A completed bundle's share, ready to store and record: what ``ShareStore.prepare`` makes."""

    credential_id: str
    blob: bytes  # the encrypted object (docs/protocol.md §9 "Encrypted share")
    key: bytes  # its key: only ever in the link's fragment, sealed at rest
    cid: str  # the object's CID, as the store must name it
    sealed_key: bytes  # the key sealed with the storage key, bound to the credential id


class ShareStore:
    def __init__(
        self, ctx, content: ContentStore, *, backoff_s: float = BACKOFF_S, backoff_max_s: float = BACKOFF_MAX_S
    ):
        if backoff_s <= 0 or backoff_max_s < backoff_s:
            raise ValueError("the content retry backoff must be > 0 and its cap >= it")
        self.ctx, self.content = ctx, content
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s

    def sink(self) -> BundleSink:
        """The anchoring pipeline's sink: ``prepare`` (possibly in a worker process), then
        ``store_prepared``."""
        return BundleSink(self.prepare, self.store_prepared)

    def prepare(self, items: list[tuple[str, bytes]]) -> list[PreparedShare]:
        """The share of each ``(credential id, bundle bytes)``: encrypted, its CID computed, its key
        sealed. No I/O, so the anchoring pipeline may run it in a worker process (it inherits the
        storage key), off the process that stores and records."""
        encrypted = encrypt_shares([data for _, data in items])
        sealed = self.ctx.sealer.seal_many(
            [(key, credential_id.encode()) for (credential_id, _), (_, key) in zip(items, encrypted)]
        )
        return [
            PreparedShare(credential_id, blob, key, compute_cid(blob), sealed_key)
            for (credential_id, _), (blob, key), sealed_key in zip(items, encrypted, sealed)
        ]

    def store_bundles(self, items: list[tuple[str, bytes]]) -> list[PreparedShare]:
        """Encrypt, store and record the shares of completed bundles ``(credential id, bundle bytes)``;
        already recorded ones are skipped. A store that is down or full only delays them (queued).
        Returns the shares recorded now."""
        return self._store(self.prepare(list(self._unrecorded(_first_of_each(items)).items())))

    def store_prepared(self, prepared: list[PreparedShare]) -> list[PreparedShare]:
        """Store and record shares made by ``prepare``; already recorded ones are skipped (their new
        encryption is dropped). Returns the shares recorded now: their links are the ones that open."""
        fresh = self._unrecorded(_first_of_each((share.credential_id, share) for share in prepared))
        return self._store(list(fresh.values()))

    def _unrecorded(self, by_id: dict) -> dict:
        """``by_id`` without the credentials whose share is recorded."""
        with reading(self.ctx.engine).connect() as conn:
            known: set[str] = set(
                conn.execute(select(CONTENT.c.credential_id).where(CONTENT.c.credential_id.in_(list(by_id)))).scalars()
            )
        return {i: v for i, v in by_id.items() if i not in known}

    def _store(self, prepared: list[PreparedShare]) -> list[PreparedShare]:
        if not prepared:
            return []
        # A CID given is checked against the store's (_put); a share it names otherwise waits.
        stored, waiting, _ = self._put([(share.credential_id, share.cid, share.blob, 0) for share in prepared])
        retry_at = {share[0]: self._retry_time(share) for share in waiting}
        rows = []
        for share in prepared:
            later = retry_at.get(share.credential_id)
            rows.append(
                {
                    "credential_id": share.credential_id,
                    "cid": share.cid,
                    "sealed_share_key": share.sealed_key,
                    "pending_blob": None if later is None else share.blob,
                    "stored": later is None,
                    "attempts": 0 if later is None else 1,
                    "next_attempt_at": later,
                }
            )
        with self.ctx.engine.begin() as conn:
            bulk_insert(conn, CONTENT, rows)
        return prepared

    def store_bundle(self, credential_id: str, bundle_bytes: bytes) -> None:
        self.store_bundles([(credential_id, bundle_bytes)])

    def push_pending(self, limit: int = _PUSH_CHUNK) -> int:
        """Retry the queued shares that are due, ``limit`` at a time, until none is due or the store
        fails. Returns how many the store took."""
        done = 0
        while True:
            now = self.ctx.now()
            with reading(self.ctx.engine).connect() as conn:
                due = [
                    tuple(r)
                    for r in conn.execute(
                        select(CONTENT.c.credential_id, CONTENT.c.cid, CONTENT.c.pending_blob, CONTENT.c.attempts)
                        .where(CONTENT.c.stored.is_(False))
                        .where((CONTENT.c.next_attempt_at.is_(None)) | (CONTENT.c.next_attempt_at <= now))
                        .limit(limit)
                    )
                ]
            if not due:
                return done
            stored, waiting, halted = self._put(due)  # type: ignore[arg-type]  # rows of exactly those 4 columns
            with self.ctx.engine.begin() as conn:
                if stored:
                    conn.execute(
                        update(CONTENT)
                        .where(CONTENT.c.credential_id.in_([i for i, _ in stored]))
                        .values(stored=True, pending_blob=None, next_attempt_at=None)
                    )
                for share in waiting:
                    conn.execute(
                        update(CONTENT)
                        .where(CONTENT.c.credential_id == share[0])
                        .values(attempts=share[3] + 1, next_attempt_at=self._retry_time(share))
                    )
            done += len(stored)
            if halted or len(due) < limit:
                return done  # the store is down or full, or the queue is drained

    def run_retries(self, stop_event, interval_s: float = 5.0) -> None:
        """``push_pending`` every ``interval_s`` until ``stop_event`` is set. An unavailable database
        pauses the rounds (one line per try, a growing delay); any other error is logged with its
        traceback and the next round retries."""
        database = DatabaseWatch(
            self.ctx.engine, "the content retry queue", log, first_delay_s=interval_s, max_delay_s=max(interval_s, 15.0)
        )
        pause: float | None = interval_s
        while not stop_event.wait(pause):
            error = None
            try:
                self.push_pending()
            except Exception as exc:  # noqa: BLE001 - the next round retries
                error = exc
            pause = database.after(error)
            if pause is None:
                if error is not None:
                    log.error("content retry round failed", exc_info=error)
                pause = interval_s

    def _put(self, shares: list[_Share]) -> tuple[list[tuple[str, str]], list[_Share], bool]:
        """Hand the shares to the store; returns ((credential id, CID) stored, shares to retry later,
        whether the store is down or full). A share's CID, when known, must be the store's.
        A store that is down or full stops the round (no point hammering it); a share it refuses
        for itself (a wrong CID, say) waits alone and the rest go on."""
        stored: list[tuple[str, str]] = []
        waiting: list[_Share] = []
        rest = shares
        while rest:
            try:
                cids = self.content.put_many([blob for _, _, blob, _ in rest])
                failed_at, error = len(rest), None
            except ContentStoreError as exc:
                cids, failed_at, error = exc.stored, len(exc.stored), exc
            for share, cid in zip(rest[:failed_at], cids):
                if share[1] is None or cid == share[1]:
                    stored.append((share[0], cid))
                else:
                    log.warning(
                        "the content store named the share %s of %s %s instead: retrying later", share[1], share[0], cid
                    )
                    waiting.append(share)
            if error is None:
                return stored, waiting, False
            transient = isinstance(error, (ContentStoreUnavailable, ContentStoreFull))
            log.warning(
                "the content store did not take %d share(s), retrying later: %s",
                len(rest) - failed_at if transient else 1,
                error,
            )
            if transient:
                return stored, waiting + rest[failed_at:], True
            waiting.append(rest[failed_at])
            rest = rest[failed_at + 1 :]
        return stored, waiting, False

    def _retry_time(self, share: _Share):
        """When to try a share again: doubling per attempt, capped."""
        return self.ctx.now() + timedelta(seconds=self.backoff_delay(share[3]))

    def backoff_delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts + 1``-th failed attempt."""
        return min(self.backoff_s * 2 ** min(attempts, 32), self.backoff_max_s)

    def link(self, agency: str, credential_id: str, verifier_url: str) -> ShareLink:
        """The share link of one of `agency`'s credentials (NotAnchored until its bundle is complete)."""
        with Session(self.ctx.engine) as session:
            credential = session.get(CredentialRecord, credential_id)
            if credential is None or credential.agency_code != agency:
                raise CredentialNotFound([credential_id])
            record = session.get(ContentRecord, credential_id)
        if record is None:
            raise NotAnchored([credential_id])
        key = self.ctx.sealer.open(record.sealed_share_key, credential_id.encode())
        return build_share_link(verifier_url, record.cid, key)

    def link_urls(self, agency: str, credential_ids: Sequence[str], verifier_url: str) -> Iterator[tuple[str, str]]:
        """``(credential id, share link)`` of each of ``agency``'s credentials, in the order given,
        read ``_LINK_CHUNK`` at a time (a bulk upload's links). CredentialNotFound or NotAnchored
        for the first chunk holding such ids. The links carry their keys: never log them."""
        base = normalise_verifier_url(verifier_url)
        open_key = self.ctx.sealer.open
        for start in range(0, len(credential_ids), _LINK_CHUNK):
            ids = credential_ids[start : start + _LINK_CHUNK]
            with reading(self.ctx.engine).connect() as conn:
                mine: set[str] = set(
                    conn.execute(select(CRED.c.id).where(CRED.c.agency_code == agency, CRED.c.id.in_(ids))).scalars()
                )
                shares = {
                    r.credential_id: r
                    for r in conn.execute(
                        select(CONTENT.c.credential_id, CONTENT.c.cid, CONTENT.c.sealed_share_key).where(
                            CONTENT.c.credential_id.in_(ids)
                        )
                    )
                }
            if len(mine) < len(ids):
                raise CredentialNotFound([i for i in ids if i not in mine])
            if len(shares) < len(ids):
                raise NotAnchored([i for i in ids if i not in shares])
            for i in ids:
                share = shares[i]
                yield i, share_url(base, share.cid, open_key(share.sealed_share_key, i.encode()))

    def pending_count(self) -> int:
        with reading(self.ctx.engine).connect() as conn:
            return conn.execute(select(func.count()).where(CONTENT.c.stored.is_(False))).scalar_one()
