"""The anchoring pipeline: pending credentials -> batches -> one anchor transaction each -> bundles.

Batch states (``batch.state``)::

    closed ──send──> sent ──receipt + N confirmations──> confirmed ──bundles delivered──> completed
      ^                │
      └── dropped / ───┘
          reverted

1. **Close** (per agency): when ``policy.max_size`` credentials wait, or the oldest has waited
   ``policy.max_age_s`` (or ``flush=True``), the oldest pending credentials (issuance order) become a
   batch: the tree is built, and the batch row (state closed, stored as "sealed"; root) and every credential's
   ``batch_id``/``leaf_index`` (state batched) are written in ONE transaction.
2. **Send**: if ``anchorOf(agency, root)`` already shows the root (a restart after an unrecorded broadcast),
   the anchor is adopted; otherwise the anchor transaction is broadcast and its hash, nonce and
   time are recorded (state sent) before waiting for it.
3. **Confirm**: after the receipt and ``confirmations`` blocks, ``anchorOf(agency, root)`` gives the block and
   the anchor time (the block timestamp); the batch (confirmed) and its credentials (anchored, so
   their status can change from now on) are updated in one transaction.
4. **Complete**: the bundles are handed to ``ctx.bundle_sink`` a chunk at a time (or to
   ``ctx.store_bundle(credential_id, bundle_bytes)`` one by one), at least once: after a crash or a
   failed chunk a confirmed batch is delivered again from its first chunk, so the hook must be
   idempotent (``ledger.issuance.delivery``). Then the batch is completed.

Crash safety (kill -9 anywhere, then restart): every step is a state recorded before the next
begins, and every open batch is resumed from its state. A closed batch is checked on chain before
it is (re)sent; a "sent" batch's transaction is looked up: mined -> confirm; reverted with
``AlreadyAnchored`` or its root anchored by us anyway -> adopt that anchor (its transaction found
from the ``Anchored`` event); unknown to the node (dropped) -> sent again, with a log line; still
pending -> waited for. A root can be anchored once in an agency's namespace (what another agency
anchors is its own affair, protocol v2), so no credential is anchored twice;
a credential joins exactly one batch (a compare-and-set on its state), so none is lost or doubled.

One anchorer acts at a time: each round takes the ``anchorer`` lease (``ledger.issuance.lease``)
and renews it between batches. ``run_anchorer(ctx, stop_event)`` loops; ``anchor_once(ctx)`` is one
round (tests, the CLI's ``issue-bulk``).

Superseded credentials are revoked (reason 1) here, once their successor is anchored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import func, insert, select, tuple_, update
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception

from ledger.chain import ChainError, ContractReverted, PendingTx, Reason, TransactionDropped
from ledger.issuance.bulk_runtime import collection_paused
from ledger.issuance.database_watch import DatabaseWatch
from ledger.issuance.delivery import ContentHookFailed, deliver_bundles, sink_of
from ledger.issuance.lease import acquire_lease, lease_state, release_lease
from ledger.issuance.metrics import observe_anchored_batch
from ledger.issuance.node_watch import NodeWatch, unreachable
from ledger.issuance.reconcile import reconcile_held
from ledger.issuance.reorg_watch import ReorgWatch
from ledger.issuance.results import AnchorReport
from ledger.protocol.digest import from_hex32, to_hex32
from ledger.protocol.identifiers import agency_id
from ledger.protocol.merkle import MerkleTree
from ledger.storage.db import database_unavailable, reading
from ledger.storage.states import OPEN_BATCH_STATES, BatchState, CredentialState
from ledger.storage.tables import AUDIT, BATCH, CRED

log = logging.getLogger(__name__)

LEASE_NAME = "anchorer"

_ANCHORED_TOPIC = "0x" + Web3.keccak(text="Anchored(bytes32,bytes32,uint32,address)").hex().removeprefix("0x")
_RETRYABLE = (ChainError, Web3Exception, requests.RequestException, OSError, TimeoutError)


class _LeaseLost(Exception):
    pass


def _describe(batch) -> str:
    return f"batch {batch.id} of {batch.agency_code} ({batch.count} credentials, root {batch.root[:18]}…)"


def _load(engine, batch_id: int):
    with reading(engine).connect() as conn:
        return conn.execute(select(BATCH).where(BATCH.c.id == batch_id)).first()


def _set_state(ctx, batch, expected: tuple[str, ...], **values) -> bool:
    """Compare-and-set on the batch row: False when another worker moved it first."""
    values.setdefault("updated_at", ctx.now())
    with ctx.engine.begin() as conn:
        n = conn.execute(
            update(BATCH).where(BATCH.c.id == batch.id, BATCH.c.state.in_(expected)).values(**values)
        ).rowcount
    return n == 1


# ------------------------------------------------------------------ 1. close


def _pending_stats(ctx, agency: str | None = None):
    q = (
        select(CRED.c.agency_code, func.count(), func.min(CRED.c.issued_at))
        .where(CRED.c.batch_id.is_(None))
        .group_by(CRED.c.agency_code)
        .order_by(func.min(CRED.c.issued_at), CRED.c.agency_code)
    )  # the agency waiting longest first
    if agency is not None:
        q = q.where(CRED.c.agency_code == agency)
    with reading(ctx.engine).connect() as conn:
        return conn.execute(q).all()


class _OutOfOrder(Exception):
    """Rolls back the closing of a batch whose credentials changed since they were read."""


def close_batch(ctx, agency: str, limit: int) -> int | None:
    """Close one batch of at most ``limit`` of the agency's oldest pending credentials.

    The credentials and their order (issuance order) are read, and the tree built, before the write
    transaction, which then only records the batch and assigns the same credentials their leaf
    indexes: SQLite's write lock, which every issuance needs, is held for the update alone (reading
    and hashing inside it held up issuance by 25-60 ms per batch, measured with bench_issue_http).
    The update takes the pending credentials up to the last one read; a credential committed meanwhile
    that sorts before it changes the count, and the closing is then undone and tried again.
    """
    with collection_paused():  # ledger.issuance.bulk_runtime: up to a batch's rows, and their tree
        return _close_batch(ctx, agency, limit)


def _close_batch(ctx, agency: str, limit: int) -> int | None:
    now, started = ctx.now(), time.perf_counter()
    order = (CRED.c.issued_at, CRED.c.request_row, CRED.c.id)
    waiting = (CRED.c.agency_code == agency, CRED.c.batch_id.is_(None))  # waiting = not in a batch yet
    for _ in range(3):
        with reading(ctx.engine).connect() as conn:
            chosen = conn.execute(select(*order, CRED.c.digest).where(*waiting).order_by(*order).limit(limit)).all()
        if not chosen:
            return None
        tree = MerkleTree.build([from_hex32(row.digest) for row in chosen])
        root = to_hex32(tree.root)
        try:
            with ctx.engine.begin() as conn:
                batch_id = conn.execute(
                    insert(BATCH).values(
                        agency_code=agency,
                        root=root,
                        count=len(chosen),
                        state=BatchState.CLOSED,
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]
                leaves = (
                    select(CRED.c.id.label("cid"), (func.row_number().over(order_by=order) - 1).label("leaf"))
                    .where(*waiting, tuple_(*order) <= tuple_(*chosen[-1][:3]))
                    .subquery()
                )
                taken = conn.execute(
                    update(CRED)
                    .where(CRED.c.id == leaves.c.cid)
                    .values(batch_id=batch_id, leaf_index=leaves.c.leaf, state=CredentialState.BATCHED, updated_at=now)
                ).rowcount
                if taken != len(chosen):
                    raise _OutOfOrder
                conn.execute(
                    insert(AUDIT).values(
                        at=now,
                        actor=ctx.worker_id,
                        agency=agency,
                        action="batch-seal",  # the stored audit action of closing a batch (kept as recorded)
                        subject=root,
                        tx_hash=None,
                        details={"batch": batch_id, "count": len(chosen)},
                    )
                )
        except _OutOfOrder:  # a credential committed meanwhile sorts among the ones read: read again
            continue
        ctx.trees.put(batch_id, tree)
        log.info(
            "batch %d of %s closed: %d credentials, root %s (%.0f ms)",
            batch_id,
            agency,
            len(chosen),
            root,
            (time.perf_counter() - started) * 1000,
        )
        ctx.on_step("after_seal")
        return batch_id
    return None  # credentials kept arriving out of order: the next round closes them


def close_batches(ctx, *, flush: bool = False) -> list[int]:
    """Close every batch that is due (by size, by age, or all pending with ``flush``)."""
    policy = ctx.policy
    closed = []
    for agency, _, _ in _pending_stats(ctx):
        while True:
            stats = _pending_stats(ctx, agency)
            if not stats:
                break
            _, count, oldest = stats[0]
            due = count >= policy.max_size or flush or oldest <= ctx.now() - timedelta(seconds=policy.max_age_s)
            if not due:
                break
            batch_id = close_batch(ctx, agency, min(count, policy.max_size))
            if batch_id is None:
                break
            closed.append(batch_id)
    return closed


# ------------------------------------------------------------------ 2-3. send, confirm


def _anchor_tx_hash(ctx, agency: str, root: str, block_number: int) -> str | None:
    """The transaction that anchored ``root`` for ``agency`` (from its Anchored event in that block)."""
    logs = ctx.chain.w3.eth.get_logs(
        {
            "address": Web3.to_checksum_address(ctx.chain.deployment.ledger),
            "fromBlock": block_number,
            "toBlock": block_number,
            "topics": [_ANCHORED_TOPIC, "0x" + agency_id(agency).hex(), root],
        }
    )
    return "0x" + bytes(logs[0]["transactionHash"]).hex() if logs else None


def _wait_depth(ctx, block_number: int) -> None:
    deadline = time.monotonic() + ctx.chain.receipt_timeout_s
    while ctx.chain.w3.eth.block_number - block_number + 1 < ctx.chain.confirmations:
        if time.monotonic() > deadline:
            raise TimeoutError(f"block {block_number} did not reach {ctx.chain.confirmations} confirmations")
        time.sleep(0.2)


def _confirm(ctx, batch, anchor, tx_hash: str | None, report: AnchorReport) -> None:
    anchored_at = datetime.fromtimestamp(anchor.timestamp, UTC)
    now = ctx.now()
    with ctx.engine.begin() as conn:
        n = conn.execute(
            update(BATCH)
            .where(BATCH.c.id == batch.id, BATCH.c.state.in_((BatchState.CLOSED, BatchState.SENT)))
            .values(
                state=BatchState.CONFIRMED,
                tx_hash=tx_hash,
                block_number=anchor.block_number,
                anchored_at=anchored_at,
                last_error=None,
                next_attempt_at=None,
                updated_at=now,
            )
        ).rowcount
        if n != 1:
            return  # another worker confirmed it
        conn.execute(
            update(CRED)
            .where(CRED.c.batch_id == batch.id, CRED.c.state == CredentialState.BATCHED)
            .values(state=CredentialState.ANCHORED, updated_at=now)
        )
        conn.execute(
            insert(AUDIT).values(
                at=now,
                actor=ctx.worker_id,
                agency=batch.agency_code,
                action="anchor",
                subject=batch.root,
                tx_hash=tx_hash,
                details={
                    "batch": batch.id,
                    "count": batch.count,
                    "blockNumber": anchor.block_number,
                    "anchoredAt": anchored_at.isoformat(),
                },
            )
        )
    report.confirmed.append(batch.id)
    log.info("%s: anchored in block %d (tx %s)", _describe(batch), anchor.block_number, tx_hash)
    try:
        observe_anchored_batch(ctx, batch.id, batch.agency_code, batch.count, anchored_at)
    except Exception:  # noqa: BLE001 - the batch is confirmed; a metric never undoes or retries that
        log.warning("%s: could not record its anchoring metrics", _describe(batch), exc_info=True)
    ctx.on_step("after_confirm")


def _adopt(ctx, batch, anchor, report: AnchorReport) -> None:
    """The root is in the agency's namespace already: confirm the batch with that anchor. A revert
    saying so while ``anchorOf`` shows nothing (a node behind the one that estimated, a
    reorganisation between the two reads) is not an anchor: the batch is tried again later."""
    if not anchor.anchored:
        log.warning(
            "%s: the chain said the root is anchored, but anchorOf(%s, root) is empty; trying again",
            _describe(batch),
            batch.agency_code,
        )
        _set_state(
            ctx,
            batch,
            (BatchState.CLOSED, BatchState.SENT),
            state=BatchState.CLOSED,
            last_error="anchored per a revert, not per anchorOf",
            next_attempt_at=ctx.now() + _backoff(ctx, batch.attempts),
        )
        report.retrying.append(batch.id)
        return
    _wait_depth(ctx, anchor.block_number)
    tx_hash = _anchor_tx_hash(ctx, batch.agency_code, batch.root, anchor.block_number) or batch.tx_hash
    _confirm(ctx, batch, anchor, tx_hash, report)


def _anchor_of(ctx, batch):
    """``anchorOf(agency, root)``: the batch's anchor in its own agency's namespace."""
    return ctx.chain.reader().anchor_of(agency_id(batch.agency_code), from_hex32(batch.root))


def _send(ctx, batch, report: AnchorReport) -> None:
    anchor = _anchor_of(ctx, batch)
    if anchor.anchored:
        log.info(
            "%s: already anchored on chain (block %d); adopting that anchor", _describe(batch), anchor.block_number
        )
        _adopt(ctx, batch, anchor, report)
        return
    ctx.on_step("before_send")
    try:
        pending = ctx.chain.ledger(batch.agency_code).submit_anchor(from_hex32(batch.root), batch.count)
    except ContractReverted as exc:
        if exc.error_name == "AlreadyAnchored":
            _adopt(ctx, batch, _anchor_of(ctx, batch), report)
            return
        raise
    ctx.on_step("after_broadcast")
    if not _set_state(
        ctx,
        batch,
        (BatchState.CLOSED,),
        state=BatchState.SENT,
        tx_hash=pending.tx_hash,
        tx_nonce=pending.nonce,
        sent_at=ctx.now(),
        attempts=batch.attempts + 1,
        last_error=None,
        next_attempt_at=None,
    ):
        return
    log.info("%s: anchor transaction %s sent (nonce %d)", _describe(batch), pending.tx_hash, pending.nonce)
    ctx.on_step("after_send")
    _await(ctx, _load(ctx.engine, batch.id), report, pending)


def _pending_from_node(ctx, tx_hash: str) -> PendingTx | None:
    try:
        tx = ctx.chain.w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return None
    call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"]}
    return PendingTx("anchor", tx_hash, tx["nonce"], tx["gas"], call)


def _back_to_closed(ctx, batch, why: str, delay: bool) -> None:
    ctx.chain.reset_sender(batch.agency_code)  # its nonce may be reusable now
    next_at = ctx.now() + _backoff(ctx, batch.attempts) if delay else None
    _set_state(ctx, batch, (BatchState.SENT,), state=BatchState.CLOSED, last_error=why[:500], next_attempt_at=next_at)


def _settle_receipt(ctx, batch, receipt: dict, report: AnchorReport) -> None:
    """A mined anchor transaction found after a restart: confirm, adopt, or send again."""
    if receipt["status"] == 1:
        _wait_depth(ctx, receipt["blockNumber"])
        ctx.on_step("after_receipt")
    anchor = _anchor_of(ctx, batch)
    if anchor.anchored:
        if receipt["status"] == 1:
            _confirm(ctx, batch, anchor, batch.tx_hash, report)
        else:
            _adopt(ctx, batch, anchor, report)
        return
    log.warning(
        "%s: anchor transaction %s reverted and the root is not anchored; will send again",
        _describe(batch),
        batch.tx_hash,
    )
    _back_to_closed(ctx, batch, f"transaction {batch.tx_hash} reverted", delay=True)
    report.retrying.append(batch.id)


def _await(ctx, batch, report: AnchorReport, pending: PendingTx | None = None) -> None:
    sender = ctx.chain.sender(batch.agency_code)
    if pending is None:  # resumed after a restart or a timeout: what became of the recorded transaction?
        receipt = sender.receipt_of(batch.tx_hash)
        if receipt is not None:
            _settle_receipt(ctx, batch, receipt, report)
            return
        anchor = _anchor_of(ctx, batch)
        if anchor.anchored:
            _adopt(ctx, batch, anchor, report)
            return
        pending = _pending_from_node(ctx, batch.tx_hash)
        if pending is None:
            log.warning(
                "%s: anchor transaction %s was dropped (the node no longer knows it); sending again",
                _describe(batch),
                batch.tx_hash,
            )
            _back_to_closed(ctx, batch, f"transaction {batch.tx_hash} dropped", delay=False)
            report.retrying.append(batch.id)
            return
    try:
        sender.wait(pending)
    except ContractReverted as exc:
        anchor = _anchor_of(ctx, batch)
        if exc.error_name == "AlreadyAnchored" or anchor.anchored:
            log.info(
                "%s: transaction %s reverted with %s; the root is anchored, adopting that anchor",
                _describe(batch),
                pending.tx_hash,
                exc.error_name,
            )
            _adopt(ctx, batch, anchor, report)
            return
        log.warning(
            "%s: anchor transaction %s reverted: %s; will send again", _describe(batch), pending.tx_hash, exc.error_name
        )
        _back_to_closed(ctx, batch, str(exc), delay=True)
        report.retrying.append(batch.id)
        return
    except TransactionDropped:
        log.warning(
            "%s: no receipt for anchor transaction %s after %.0f s; checking whether it was dropped",
            _describe(batch),
            pending.tx_hash,
            ctx.chain.receipt_timeout_s,
        )
        _set_state(ctx, batch, (BatchState.SENT,), last_error=f"no receipt for {pending.tx_hash} yet")
        report.retrying.append(batch.id)
        return
    ctx.on_step("after_receipt")
    anchor = _anchor_of(ctx, batch)
    if not anchor.anchored:
        raise ChainError(
            f"transaction {pending.tx_hash} succeeded but anchorOf({batch.agency_code}, {batch.root}) "
            "is empty (reorganised?)"
        )
    _confirm(ctx, batch, anchor, pending.tx_hash, report)


# ------------------------------------------------------------------ 4. complete


def _complete(ctx, batch, report: AnchorReport) -> None:
    sink = sink_of(ctx)
    if sink is not None:
        deliver_bundles(ctx, batch, sink)
    if _set_state(
        ctx, batch, (BatchState.CONFIRMED,), state=BatchState.COMPLETED, last_error=None, next_attempt_at=None
    ):
        report.completed.append(batch.id)
        log.info("%s: completed", _describe(batch))


# ------------------------------------------------------------------ rounds


def _backoff(ctx, attempts: int) -> timedelta:
    p = ctx.policy
    return timedelta(seconds=min(p.retry_backoff_s * (2 ** min(max(attempts - 1, 0), 16)), p.retry_backoff_max_s))


def advance_batch(ctx, batch_id: int, report: AnchorReport | None = None) -> str:
    """Move one batch as far as it can go now; returns its state afterwards."""
    report = report if report is not None else AnchorReport()
    for _ in range(4):  # closed -> sent -> confirmed -> completed, or a retry
        batch = _load(ctx.engine, batch_id)
        if batch is None or batch.state not in OPEN_BATCH_STATES:
            break
        if batch.next_attempt_at is not None and batch.next_attempt_at > ctx.now():
            break
        before = (batch.state, batch.tx_hash)
        try:
            if batch.state == BatchState.CLOSED:
                _send(ctx, batch, report)
            elif batch.state == BatchState.SENT:
                _await(ctx, batch, report)
            else:
                _complete(ctx, batch, report)
        except (ContentHookFailed, *_RETRYABLE) as exc:
            delay = _backoff(ctx, batch.attempts + 1)
            log.warning("%s: %s; retrying in %.0f s", _describe(batch), exc, delay.total_seconds())
            _set_state(
                ctx,
                batch,
                (batch.state,),
                attempts=batch.attempts + 1,
                last_error=str(exc)[:500],
                next_attempt_at=ctx.now() + delay,
            )
            report.retrying.append(batch.id)
            break
        after = _load(ctx.engine, batch_id)
        if after is None or (after.state, after.tx_hash) == before or batch.id in report.retrying:
            break
    final = _load(ctx.engine, batch_id)
    return final.state if final is not None else "missing"


def _open_batches(ctx) -> Sequence[int]:
    with reading(ctx.engine).connect() as conn:
        return (
            conn.execute(select(BATCH.c.id).where(BATCH.c.state.in_(OPEN_BATCH_STATES)).order_by(BATCH.c.id))
            .scalars()
            .all()
        )


def _hold_lease(ctx) -> bool:
    return acquire_lease(ctx.engine, LEASE_NAME, ctx.worker_id, ctx.policy.lease_ttl_s, ctx.now())


def revoke_superseded(ctx, report: AnchorReport | None = None) -> list[str]:
    """Revoke every credential whose successor is anchored, with the successor's
    ``supersede_reason`` (NULL: 1, superseded; 3 after a key compromise)."""
    from ledger.issuance.lifecycle import revoke

    new, old = CRED.alias("new"), CRED.alias("old")
    with reading(ctx.engine).connect() as conn:
        rows: Sequence[Any] = conn.execute(  # (agency code, credential id, reason) rows
            select(old.c.agency_code, old.c.id, func.coalesce(new.c.supersede_reason, int(Reason.SUPERSEDED)))
            .join(new, new.c.supersedes == old.c.id)
            .where(
                new.c.state.in_((CredentialState.ANCHORED, CredentialState.SUSPENDED, CredentialState.REVOKED)),
                old.c.state.in_((CredentialState.ANCHORED, CredentialState.SUSPENDED)),
                old.c.agency_code == new.c.agency_code,
            )
            .order_by(old.c.agency_code, old.c.id)
        ).all()
    by_agency: dict[tuple[str, int], list[str]] = {}
    for agency, cid, reason in rows:
        by_agency.setdefault((agency, reason), []).append(cid)
    done = []
    for (agency, reason), ids in by_agency.items():
        try:
            result = revoke(ctx, agency, ids, reason, actor=ctx.worker_id)
        except (ChainError, Web3Exception, requests.RequestException, OSError) as exc:
            log.warning("revoking %d superseded credentials of %s failed: %s; will retry", len(ids), agency, exc)
            continue
        done += result.changed + result.unchanged
        log.info("revoked %d superseded credentials of %s", len(result.changed), agency)
    if report is not None:
        report.superseded_revoked += done
    return done


def anchor_once(ctx, *, flush: bool = False, reorgs: ReorgWatch | None = None) -> AnchorReport:
    """One round: take the lease, undo what a chain reorganisation undid (``reorgs`` remembers the
    chain between rounds; without it every round checks the whole window), close due batches (all
    pending with ``flush``), advance every open batch, revoke superseded credentials. Returns what
    happened (``lease_held=False``: another worker holds the lease and nothing was done)."""
    report = AnchorReport()
    if not _hold_lease(ctx):
        report.lease_held = False
        return report
    report.reanchoring = (reorgs or ReorgWatch()).round(ctx)
    reconcile_held(ctx)  # after a restore: adopt what the old directory anchored, before closing anything
    report.closed = close_batches(ctx, flush=flush)
    for batch_id in _open_batches(ctx):
        if not _hold_lease(ctx):
            report.lease_held = False
            log.warning("anchoring lease lost to another worker; stopping this round")
            return report
        advance_batch(ctx, batch_id, report)
    revoke_superseded(ctx, report)
    return report


def run_anchorer(ctx, stop_event: threading.Event, node: NodeWatch | None = None) -> None:
    """Anchor until ``stop_event`` is set: a round, then a pause of ``policy.poll_interval_s`` unless
    the round found work. Errors are logged and the round retried; the lease is released on exit.
    ``node`` (given to watch it from outside, e.g. a health check) says whether the chain answers."""
    log.info(
        "anchorer %s started (batches of at most %d, closed after %.1f s)",
        ctx.worker_id,
        ctx.policy.max_size,
        ctx.policy.max_age_s,
    )
    node, reorgs = node or NodeWatch(), ReorgWatch(ctx.policy.reorg_window_blocks, ctx.policy.reorg_check_interval_s)
    database = DatabaseWatch(ctx.engine, "anchoring", log)
    try:
        while not stop_event.is_set():
            pause = node.check(ctx)  # an unreachable node pauses the rounds (with backoff), not each batch
            if pause is not None:
                stop_event.wait(pause)
                continue
            busy, error = False, None
            try:
                busy = anchor_once(ctx, reorgs=reorgs).busy
            except Exception as exc:  # keep anchoring; the cause is in the log
                error = exc
            pause = database.after(error)  # so does an unavailable database (one line per try)
            if pause is not None:
                stop_event.wait(pause)
                continue
            if unreachable(error):  # the node went away during the round: the next check says so
                log.warning("anchoring round interrupted: the chain node stopped answering")
            elif error is not None:
                log.error("anchoring round failed; retrying", exc_info=error)
            if not busy:
                stop_event.wait(ctx.policy.poll_interval_s)
    finally:
        try:
            release_lease(ctx.engine, LEASE_NAME, ctx.worker_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning(
                "anchoring lease not released (the database is unavailable); it lapses after %.0f s",
                ctx.policy.lease_ttl_s,
            )
        log.info("anchorer %s stopped", ctx.worker_id)


def anchor_pending(ctx, timeout_s: float = 120.0) -> None:
    """Anchor everything waiting now: rounds with ``flush`` until nothing is pending or open (this
    process takes the lease, or waits for the worker holding it). ``TimeoutError`` after ``timeout_s``.
    The lease is let go on return: a one-shot run (the demo, ``issue-bulk``) must not leave the
    anchorer of a service started next waiting ``lease_ttl_s`` for a lease nobody holds any more."""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            anchor_once(ctx, flush=True)
            work = pending_work(ctx)
            if not work["pending_credentials"] and not any(work.get("batches", {}).values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"credentials are still waiting to be anchored after {timeout_s:.0f} s: {work}")
            time.sleep(0.5)
    finally:
        try:
            release_lease(ctx.engine, LEASE_NAME, ctx.worker_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning(
                "anchoring lease not released (the database is unavailable); it lapses after %.0f s",
                ctx.policy.lease_ttl_s,
            )


def pending_work(ctx) -> dict:
    """Counts for monitoring: credentials waiting, open batches by state."""
    with reading(ctx.engine).connect() as conn:
        waiting = conn.execute(select(func.count()).where(CRED.c.batch_id.is_(None))).scalar_one()
        states: dict[str, int] = dict(
            conn.execute(
                select(BATCH.c.state, func.count())
                .where(BATCH.c.state.in_((*OPEN_BATCH_STATES, BatchState.HELD)))
                .group_by(BATCH.c.state)
            ).all()
        )
    return {"pending_credentials": waiting, "batches": states}


def anchoring_wait(ctx, anchorer: str | None, chain_reachable: bool | None) -> dict:
    """What anchoring is waiting for, as ``/healthz`` shows it. ``anchorer``: the worker id of the
    anchoring worker this service runs (None: none runs); ``chain_reachable``: what it last saw.

    ``waitingFor`` is ``"anchorer"`` (no anchoring worker runs here), ``"chain"`` (the node does not
    answer), ``"lease"`` (another worker holds the anchoring lease: after a crash, until it lapses;
    ``leaseSecondsLeft`` says how long) or None (nothing: anchoring runs)."""
    held = lease_state(ctx.engine, LEASE_NAME, ctx.now())
    lease = None if held is None else {"holder": held[0], "secondsLeft": round(held[1], 1)}
    if anchorer is None:
        waiting = "anchorer"
    elif chain_reachable is False:
        waiting = "chain"
    elif held is not None and held[0] != anchorer:
        waiting = "lease"
    else:
        waiting = None
    return {
        "waitingFor": waiting,
        "leaseSecondsLeft": round(held[1], 1) if waiting == "lease" and held is not None else None,
        "lease": lease,
    }


__all__ = [
    "LEASE_NAME",
    "anchoring_wait",
    "advance_batch",
    "anchor_once",
    "anchor_pending",
    "close_batches",
    "pending_work",
    "revoke_superseded",
    "run_anchorer",
    "close_batch",
]
