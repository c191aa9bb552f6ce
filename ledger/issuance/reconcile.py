"""After a restore: credentials pending in the snapshot that the old directory anchored afterwards
are not anchored a second time.

A backup is a snapshot of the database. Batches closed before it are in it, root and members (a
batch's composition is written before its anchor is sent), so the restored directory finds their
roots on chain and adopts those anchors. A credential still *pending* in the snapshot is the gap: the
old directory may have batched and anchored it after the snapshot, and the chain's ``Anchored``
event carries the root and the count, not the leaves. So:

1. ``certledger restore`` puts each agency's pending credentials on hold (:func:`hold_pending`):
   one batch row in state ``held`` owns them, so no batch is closed from them.
2. The anchorer, before it closes batches, reconciles each held group with the chain
   (:func:`reconcile_held`): the agency's ``Anchored`` events after the last block the snapshot knew,
   whose roots the database does not hold. The old directory closed its batches from the oldest
   pending credentials in issuance order, so the first unknown anchor holds the oldest held
   credentials: the next ``count`` of them (issuance order) are hashed, and if their Merkle root is
   the anchored root, they become a batch with that root, which the pipeline adopts like any batch
   whose root it finds anchored (confirmed with that transaction, bundles delivered). Nothing is
   sent for them.
3. What is left: if no unknown anchor remains unmatched, nobody anchored it and it is released to be
   anchored as usual. If one does not match (its batch also held credentials issued after the
   snapshot, which this database never saw, so its root cannot be rebuilt), the rest stay held,
   since the oldest of them are in that anchor: they are not anchored again. ``certledger
   release-held CODE`` anchors them anyway (a second anchor, both valid) once the operator has
   decided; docs/operations.md.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from web3 import Web3

from ledger.protocol.digest import from_hex32, to_hex32
from ledger.protocol.identifiers import agency_id
from ledger.protocol.merkle import MerkleTree
from ledger.storage.states import BatchState, CredentialState
from ledger.storage.tables import AUDIT, BATCH, CRED

log = logging.getLogger(__name__)

_ANCHORED_TOPIC = "0x" + Web3.keccak(text="Anchored(bytes32,bytes32,uint32,address)").hex().removeprefix("0x")
_ORDER = (CRED.c.issued_at, CRED.c.request_row, CRED.c.id)  # issuance order, as batches are closed
IN_DOUBT = "in doubt"  # a held batch's last_error once an unknown anchor did not match: left to the operator


def hold_pending(engine: Engine, actor: str = "restore") -> dict[str, int]:
    """Put every agency's pending credentials on hold (one ``held`` batch each): agency -> how many."""
    now = datetime.now(UTC)
    held: dict[str, int] = {}
    with engine.begin() as conn:
        agencies: list[str] = list(
            conn.execute(select(CRED.c.agency_code).where(CRED.c.batch_id.is_(None)).distinct()).scalars()
        )
        for agency in agencies:
            rows = conn.execute(
                select(CRED.c.id, CRED.c.digest)
                .where(CRED.c.agency_code == agency, CRED.c.batch_id.is_(None))
                .order_by(*_ORDER)
            ).all()
            # the root column is unique: a name derived from the group's Merkle root, never a real root (the
            # old directory may have anchored exactly this group, whose batch is then added beside it)
            tree_root = MerkleTree.build([from_hex32(r.digest) for r in rows]).root
            root = "0x" + Web3.keccak(b"certledger:held:" + tree_root).hex().removeprefix("0x")
            batch_id = conn.execute(
                insert(BATCH).values(
                    agency_code=agency,
                    root=root,
                    count=len(rows),
                    state=BatchState.HELD,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]  # an insert of one row has its key
            conn.execute(
                update(CRED)
                .where(CRED.c.agency_code == agency, CRED.c.batch_id.is_(None))
                .values(batch_id=batch_id, updated_at=now)
            )
            conn.execute(
                insert(AUDIT).values(
                    at=now,
                    actor=actor,
                    agency=agency,
                    action="hold",
                    subject=root,
                    details={"batch": batch_id, "count": len(rows)},
                )
            )
            held[agency] = len(rows)
    return held


def _unknown_anchors(ctx, conn, agency: str) -> list[tuple[str, int]]:
    """(root, count) of the agency's anchors after the last block this database knows, whose roots it
    does not hold, in chain order."""
    known = set(conn.execute(select(BATCH.c.root).where(BATCH.c.agency_code == agency)).scalars())
    last = conn.execute(select(func.max(BATCH.c.block_number)).where(BATCH.c.agency_code == agency)).scalar()
    logs = ctx.chain.w3.eth.get_logs(
        {
            "address": Web3.to_checksum_address(ctx.chain.deployment.ledger),
            "fromBlock": last if last is not None else ctx.chain.deployment.block,
            "toBlock": "latest",
            "topics": [_ANCHORED_TOPIC, "0x" + agency_id(agency).hex()],
        }
    )
    found = []
    for entry in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
        root = "0x" + bytes(entry["topics"][2]).hex()
        if root not in known:
            found.append((root, int.from_bytes(bytes(entry["data"])[:32], "big")))
    return found


def reconcile_held(ctx) -> None:
    """Each held group not yet reconciled, against the chain (see the module's steps 2-3)."""
    with ctx.engine.connect() as conn:
        groups = conn.execute(
            select(BATCH.c.id, BATCH.c.agency_code).where(
                BATCH.c.state == BatchState.HELD, BATCH.c.last_error.is_(None)
            )
        ).all()
    for group in groups:
        _reconcile(ctx, group.id, group.agency_code)


def _reconcile(ctx, held_id: int, agency: str) -> None:
    now = ctx.now()
    with ctx.engine.connect() as conn:
        members = conn.execute(
            select(CRED.c.id, CRED.c.digest).where(CRED.c.batch_id == held_id).order_by(*_ORDER)
        ).all()
        anchors = _unknown_anchors(ctx, conn, agency)
    adopted, unmatched = [], None
    for root, count in anchors:
        if not members:
            break
        part = members[:count]
        if len(part) != count or to_hex32(MerkleTree.build([from_hex32(m.digest) for m in part]).root) != root:
            unmatched = root
            break
        with ctx.engine.begin() as conn:
            batch_id = conn.execute(
                insert(BATCH).values(
                    agency_code=agency,
                    root=root,
                    count=count,
                    state=BatchState.CLOSED,  # the pipeline finds the root anchored and adopts that anchor
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(  # one statement, executed per member
                update(CRED)
                .where(CRED.c.id == bindparam("member"))
                .values(batch_id=batch_id, leaf_index=bindparam("leaf"), state=CredentialState.BATCHED, updated_at=now),
                [{"member": m.id, "leaf": leaf} for leaf, m in enumerate(part)],
            )
            conn.execute(update(BATCH).where(BATCH.c.id == held_id).values(count=BATCH.c.count - count))
            conn.execute(
                insert(AUDIT).values(
                    at=now,
                    actor=ctx.worker_id,
                    agency=agency,
                    action="adopt",
                    subject=root,
                    details={"batch": batch_id, "count": count, "anchoredBy": "another directory, after the snapshot"},
                )
            )
        adopted.append(root)
        members = members[count:]
    if adopted:
        log.info("%s: %d anchor(s) made after the snapshot adopted: %s", agency, len(adopted), ", ".join(adopted))
    if members and unmatched is not None:
        with ctx.engine.begin() as conn:
            conn.execute(
                update(BATCH)
                .where(BATCH.c.id == held_id)
                .values(last_error=f"{IN_DOUBT}: root {unmatched} anchored after the snapshot", updated_at=now)
            )
        log.warning(
            "%s: %d credentials pending in the snapshot stay held: root %s, anchored after the snapshot, holds the "
            "oldest of them and credentials this database never saw; `certledger release-held %s` anchors them anyway",
            agency,
            len(members),
            unmatched,
            agency,
        )
        return
    release_held(ctx.engine, agency, actor=ctx.worker_id, only=held_id)


def release_held(engine: Engine, agency: str, actor: str, only: int | None = None) -> int:
    """Hand the agency's held credentials back to the anchorer; returns how many."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        query = select(BATCH.c.id).where(BATCH.c.agency_code == agency, BATCH.c.state == BatchState.HELD)
        if only is not None:
            query = query.where(BATCH.c.id == only)
        released = 0
        held_ids: list[int] = list(conn.execute(query).scalars())
        for held_id in held_ids:
            released += conn.execute(
                update(CRED)
                .where(CRED.c.batch_id == held_id)
                .values(batch_id=None, leaf_index=None, state=CredentialState.PENDING, updated_at=now)
            ).rowcount
            conn.execute(delete(BATCH).where(BATCH.c.id == held_id))
            conn.execute(
                insert(AUDIT).values(
                    at=now, actor=actor, agency=agency, action="release", subject=None, details={"count": released}
                )
            )
    return released


__all__ = ["IN_DOUBT", "hold_pending", "reconcile_held", "release_held"]
