"""Anchors and status changes a chain reorganisation undid: found, logged, audited, done again.

A reorganisation (or a node restarted without its last blocks) can drop blocks the pipeline has
already counted: a batch recorded as confirmed or completed whose anchor is gone, a revocation the
database records whose transaction is gone. Each anchoring round, under the anchoring lease:

1. **When to look.** The block the previous round saw as the head is looked up again: gone, or with
   another hash, means a reorganisation, and the window is checked at once. The window is also
   checked on a process's first round, every ``check_interval_s`` (a reorganisation of only the
   blocks above that head is not seen by the first test), and every round while something is still
   being redone.
2. **Anchors.** Every batch confirmed or completed in the last ``window_blocks`` blocks is looked up
   with ``anchorOf(root)``. Missing, or in another block than recorded: a warning, an audit event
   ``anchor-reorged`` (the lost transaction and block), and the batch goes back to closed (its
   active credentials back to ``batched``) in one transaction. The normal send path then anchors it
   again in the same round, or adopts the anchor if the root is on chain in another block. A root can
   be anchored only once, so nothing is anchored twice.
3. **Status changes.** Every revoke / suspend / reinstate recorded since the window's first block
   whose transaction has no receipt any more, and which is still the credential's latest change, is
   sent again through ``lifecycle.change_status`` (it brings the database in line with the chain
   first, then sends: retry-safe). A credential whose batch is being re-anchored waits for it.
   A lost suspension or reinstatement that someone overrode meanwhile (the credential's state
   changed since) is not sent again: the newer explicit change wins. A lost revocation cannot be
   overridden: ``lifecycle`` keeps the database's record of it and refuses suspend / reinstate, so
   it is always sent again (revocation is final).

**Bundles** of a re-anchored batch carry a new ``txHash`` and ``blockNumber``. Verifiers do not rely
on those two fields (the anchor check reads ``anchorOf(root)`` from the chain), so bundles already
handed out still verify. The encrypted shares already stored are kept: citizens may hold their links,
and a new share would have a new CID and key. The content hook sees the batch again and skips them
(idempotent per credential); ``get_bundle`` builds bundles from the batch row, so the API serves the
new fields.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import insert, select, update
from web3.exceptions import BlockNotFound, TransactionNotFound, Web3Exception

from ledger.chain import ChainError
from ledger.issuance.errors import InvalidTransition, NotAnchored, StatusChangeFailed
from ledger.issuance.lifecycle import change_status
from ledger.protocol.digest import from_hex32
from ledger.protocol.identifiers import agency_id
from ledger.storage.db import reading
from ledger.storage.states import ANCHORED_BATCH_STATES, BatchState, CredentialState
from ledger.storage.tables import AUDIT, BATCH, CRED

log = logging.getLogger(__name__)

_STATUS_ACTIONS = ("revoke", "suspend", "reinstate")
_CLOCK_SLACK = timedelta(minutes=10)  # the database's clock against block timestamps
_RETRYABLE = (ChainError, Web3Exception, requests.RequestException, OSError, TimeoutError)


class ReorgWatch:
    """One per anchoring worker: it remembers the chain head between rounds."""

    def __init__(self, window_blocks: int = 64, check_interval_s: float = 30.0, clock=time.monotonic):
        if window_blocks < 1 or check_interval_s < 0:
            raise ValueError("window_blocks must be >= 1 and check_interval_s >= 0")
        self.window_blocks, self.check_interval_s, self.clock = window_blocks, check_interval_s, clock
        self._head: tuple[int, bytes] | None = None  # (number, hash) seen by the last check
        self._checked_at: float | None = None
        self._unsettled = False  # something lost is still being redone

    @property
    def redoing(self) -> bool:
        """Something lost is still being redone (the window is checked again next round)."""
        return self._unsettled

    def round(self, ctx) -> list[int]:
        """Check if due; returns the ids of the batches sent back to closed."""
        w3 = ctx.chain.w3
        try:
            head = w3.eth.get_block("latest")
            reorganised = self._reorganised(w3)
            due = (
                reorganised
                or self._unsettled
                or self._checked_at is None
                or self.clock() - self._checked_at >= self.check_interval_s
            )
            lost, waiting = [], False
            if due:
                lost = self._lost_anchors(ctx, head["number"])
                waiting = self._redo_status_changes(ctx, head["number"])
        except _RETRYABLE as exc:
            log.warning("reorganisation check failed (%s: %s); checking again next round", type(exc).__name__, exc)
            self._unsettled = True
            return []
        self._head = (head["number"], bytes(head["hash"]))
        if due:
            self._checked_at, self._unsettled = self.clock(), bool(lost) or waiting
        return lost

    def _reorganised(self, w3) -> bool:
        if self._head is None:
            return False
        number, seen = self._head
        try:
            now = bytes(w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            now = None
        if now == seen:
            return False
        log.warning(
            "chain reorganised: block %d %s; checking the anchors and status changes of the last %d blocks",
            number,
            "is gone" if now is None else "changed",
            self.window_blocks,
        )
        return True

    # ------------------------------------------------------------------ anchors

    def _lost_anchors(self, ctx, head: int) -> list[int]:
        with reading(ctx.engine).connect() as conn:
            batches = conn.execute(
                select(BATCH)
                .where(BATCH.c.state.in_(ANCHORED_BATCH_STATES), BATCH.c.block_number >= head - self.window_blocks)
                .order_by(BATCH.c.id)
            ).all()
        reader = ctx.chain.reader()
        lost = []
        for batch in batches:
            anchor = reader.anchor_of(agency_id(batch.agency_code), from_hex32(batch.root))
            if anchor.anchored and anchor.block_number == batch.block_number:
                continue
            now = f"now in block {anchor.block_number}" if anchor.anchored else "no longer on chain"
            log.warning(
                "batch %d of %s (%d credentials, root %s…): its anchor (tx %s, block %d) is %s after a "
                "chain reorganisation; anchoring it again",
                batch.id,
                batch.agency_code,
                batch.count,
                batch.root[:18],
                batch.tx_hash,
                batch.block_number,
                now,
            )
            if _back_to_closed(ctx, batch, now):
                lost.append(batch.id)
        return lost

    # ------------------------------------------------------------------ status changes

    def _redo_status_changes(self, ctx, head: int) -> bool:
        """Send again the status changes whose transaction vanished; True while some must wait."""
        w3 = ctx.chain.w3
        first = w3.eth.get_block(max(head - self.window_blocks, 0))
        since = datetime.fromtimestamp(first["timestamp"], UTC) - _CLOCK_SLACK
        with reading(ctx.engine).connect() as conn:
            events = conn.execute(
                select(AUDIT.c.id, AUDIT.c.agency, AUDIT.c.action, AUDIT.c.subject, AUDIT.c.tx_hash, AUDIT.c.details)
                .where(AUDIT.c.action.in_(_STATUS_ACTIONS), AUDIT.c.tx_hash.is_not(None), AUDIT.c.at >= since)
                .order_by(AUDIT.c.id)
            ).all()
        latest = {}
        for e in events:
            latest[e.subject] = e.id  # a later change of the same credential supersedes an earlier one
        waiting = False
        vanished = []
        for tx_hash in dict.fromkeys(e.tx_hash for e in events):
            state = _transaction_state(w3, tx_hash)
            if state == "pending":
                waiting = True
            elif state == "vanished":
                vanished.append(tx_hash)
        if not vanished:
            return waiting
        gone = set(vanished)
        redo: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        with reading(ctx.engine).connect() as conn:
            for e in events:
                if e.tx_hash not in gone or latest[e.subject] != e.id:
                    continue
                current = conn.execute(
                    select(CRED.c.state, BATCH.c.state.label("batch_state"))
                    .join(BATCH, BATCH.c.id == CRED.c.batch_id)
                    .where(CRED.c.id == e.subject)
                ).first()
                if current is None or current.state != e.details.get("state"):
                    continue
                if current.batch_state not in ANCHORED_BATCH_STATES:
                    waiting = True  # its batch is being anchored again first
                    continue
                redo[(e.agency, e.action, int(e.details.get("reason") or 0))].append(e.subject)
        for (agency, action, reason), ids in redo.items():
            log.warning(
                "%d %s of %s (reason %d) lost in a chain reorganisation (their transaction is gone); sending again",
                len(ids),
                _PAST[action],
                agency,
                reason,
            )
            ctx.chain.reset_sender(agency)  # the chain forgot the nonces the lost transactions used
            try:
                change_status(ctx, agency, ids, action, reason, actor="reorg-watch")
            except NotAnchored:
                waiting = True  # a batch reorganised away meanwhile; the next round sends them
            except (InvalidTransition, StatusChangeFailed) as exc:
                log.error("%d %s of %s could not be sent again: %s", len(ids), _PAST[action], agency, exc)
        return waiting


_PAST = {"revoke": "revocations", "suspend": "suspensions", "reinstate": "reinstatements"}


def _transaction_state(w3, tx_hash: str) -> str:
    """mined | pending | vanished"""
    try:
        if w3.eth.get_transaction_receipt(tx_hash) is not None:
            return "mined"
    except TransactionNotFound:
        pass
    try:
        w3.eth.get_transaction(tx_hash)
        return "pending"
    except TransactionNotFound:
        return "vanished"


def _back_to_closed(ctx, batch, now_on_chain: str) -> bool:
    """The batch back to closed (compare-and-set on what was checked), its active credentials to
    ``batched``, with an audit event: one transaction. False if another worker moved it first."""
    now = ctx.now()
    with ctx.engine.begin() as conn:
        moved = conn.execute(
            update(BATCH)
            .where(BATCH.c.id == batch.id, BATCH.c.state == batch.state, BATCH.c.block_number == batch.block_number)
            .values(
                state=BatchState.CLOSED,
                tx_hash=None,
                block_number=None,
                anchored_at=None,
                attempts=0,
                next_attempt_at=None,
                last_error=f"anchor lost in a chain reorganisation (tx {batch.tx_hash}, block {batch.block_number})",
                updated_at=now,
            )
        ).rowcount
        if moved != 1:
            return False
        conn.execute(
            update(CRED)
            .where(CRED.c.batch_id == batch.id, CRED.c.state == CredentialState.ANCHORED)
            .values(state=CredentialState.BATCHED, updated_at=now)
        )
        conn.execute(
            insert(AUDIT).values(
                at=now,
                actor=ctx.worker_id,
                agency=batch.agency_code,
                action="anchor-reorged",
                subject=batch.root,
                tx_hash=batch.tx_hash,
                details={
                    "batch": batch.id,
                    "count": batch.count,
                    "blockNumber": batch.block_number,
                    "now": now_on_chain,
                },
            )
        )
    ctx.chain.reset_sender(batch.agency_code)  # the chain forgot the nonce the lost anchor used
    return True


__all__ = ["ReorgWatch"]
