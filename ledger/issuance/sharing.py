"""Completed bundles as encrypted shares in the content store, and the links citizens share.

The anchoring pipeline hands every completed bundle here (at least once). Each is encrypted under a
fresh key (DESIGN.md "Encrypted share"); the CID is computed locally, so a share link exists at once,
even while the store (an IPFS node) is down: the encrypted object then waits in the database and
`push_pending` retries with exponential backoff. The share key is sealed at rest and appears only
in the link's fragment.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlmodel import Session

from ledger.content.cid import compute_cid
from ledger.content.links import ShareLink, build_share_link
from ledger.content.share import encrypt_share
from ledger.content.store import ContentStore, ContentStoreError, ContentStoreFull, ContentStoreUnavailable
from ledger.storage.models import ContentRecord, CredentialRecord

from .errors import CredentialNotFound, NotAnchored

log = logging.getLogger(__name__)
CONTENT = ContentRecord.__table__
_BACKOFF_S, _BACKOFF_MAX_S = 2.0, 600.0


class ShareStore:
    def __init__(self, ctx, content: ContentStore):
        self.ctx, self.content = ctx, content

    def store_bundles(self, items: list[tuple[str, bytes]]) -> None:
        """Record and push the shares of completed bundles; already recorded ones are skipped."""
        ids = [cid for cid, _ in items]
        with self.ctx.engine.connect() as conn:
            known = set(conn.execute(select(CONTENT.c.credential_id).where(CONTENT.c.credential_id.in_(ids))).scalars())
        rows = []
        for credential_id, bundle_bytes in items:
            if credential_id in known:
                continue
            blob, key = encrypt_share(bundle_bytes)
            rows.append({"credential_id": credential_id, "cid": compute_cid(blob), "pending_blob": blob,
                         "sealed_share_key": self.ctx.sealer.seal(key, credential_id.encode()), "stored": False,
                         "attempts": 0, "next_attempt_at": None})
        if rows:
            with self.ctx.engine.begin() as conn:
                conn.execute(CONTENT.insert(), rows)
            self._push([(r["credential_id"], r["cid"], r["pending_blob"], 0) for r in rows])

    def store_bundle(self, credential_id: str, bundle_bytes: bytes) -> None:
        self.store_bundles([(credential_id, bundle_bytes)])

    def push_pending(self, limit: int = 1000) -> int:
        """Retry shares the store did not take yet (due ones only). Returns how many it took now."""
        now = self.ctx.now()
        with self.ctx.engine.connect() as conn:
            due = conn.execute(
                select(CONTENT.c.credential_id, CONTENT.c.cid, CONTENT.c.pending_blob, CONTENT.c.attempts)
                .where(CONTENT.c.stored.is_(False))
                .where((CONTENT.c.next_attempt_at.is_(None)) | (CONTENT.c.next_attempt_at <= now))
                .limit(limit)).all()
        return self._push([tuple(r) for r in due])

    def _push(self, items: list[tuple[str, str, bytes, int]]) -> int:
        done = 0
        for credential_id, cid, blob, attempts in items:
            try:
                stored_cid = self.content.put(blob)
                if stored_cid != cid:
                    raise ContentStoreError(f"the store returned {stored_cid}, expected {cid}", cid=cid)
                self.content.pin(cid)
            except (ContentStoreUnavailable, ContentStoreFull) as exc:
                self._later(items[done:], exc)
                return done  # the store is down or full: the rest waits too, no point hammering it
            except ContentStoreError as exc:
                self._later([(credential_id, cid, blob, attempts)], exc)
                continue
            with self.ctx.engine.begin() as conn:
                conn.execute(update(CONTENT).where(CONTENT.c.credential_id == credential_id)
                             .values(stored=True, pending_blob=None, next_attempt_at=None))
            done += 1
        return done

    def _later(self, items, exc: Exception) -> None:
        now = self.ctx.now()
        log.warning("content store did not take %d share(s), retrying later: %s", len(items), exc)
        with self.ctx.engine.begin() as conn:
            for credential_id, _cid, _blob, attempts in items:
                delay = min(_BACKOFF_S * 2 ** attempts, _BACKOFF_MAX_S)
                conn.execute(update(CONTENT).where(CONTENT.c.credential_id == credential_id)
                             .values(attempts=attempts + 1, next_attempt_at=now + timedelta(seconds=delay)))

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

    def pending_count(self) -> int:
        with self.ctx.engine.connect() as conn:
            return conn.execute(select(func.count()).where(CONTENT.c.stored.is_(False))).scalar_one()
