"""Revoke, suspend, reinstate — one credential or many, with a reason code (``ledger.chain.Reason``).

Each change is sent on chain with the credential's Merkle proof (rebuilt from its stored batch),
then recorded in the database with an audit event carrying the transaction hash.

Refusals, before anything is sent: a credential that is not this agency's — or does not exist — is
:class:`CredentialNotFound` (the same error: another agency's credentials are never revealed); one
not anchored yet is :class:`NotAnchored`; suspending or reinstating a revoked one (revocation is
final) is :class:`InvalidTransition`. A credential already in the wanted state is reported
``unchanged`` and costs nothing.

The chain is the truth: before sending, each credential's status is read from the ledger and a
database that lags behind (a crash between a transaction and its database update) is brought in
line first. Retrying any call is therefore safe.

One exception: a revocation the database records but the chain does not show. It is recorded only
once mined, so its transaction was lost in a chain reorganisation; revocation is final, so the
record stands (suspend and reinstate are refused, revoke sends it again, and so does the reorg watch,
``reorg_watch``). A lost suspension or reinstatement is not final: the chain's state is taken, and a
newer explicit change of that credential wins over sending the lost one again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update

from ledger.chain import ContractReverted, Reason
from ledger.issuance.errors import CredentialNotFound, InvalidTransition, NotAnchored, StatusChangeFailed
from ledger.issuance.results import StatusChange
from ledger.protocol.digest import from_hex32
from ledger.protocol.identifiers import agency_id
from ledger.storage.models import AuditEvent, BatchRecord, CredentialRecord
from ledger.storage.tables import table_of

log = logging.getLogger(__name__)

CRED = table_of(CredentialRecord)
BATCH = table_of(BatchRecord)
AUDIT = table_of(AuditEvent)
ACTIVE, SUSPENDED, REVOKED = "anchored", "suspended", "revoked"
_CHAIN_STATE = {0: ACTIVE, 1: SUSPENDED, 2: REVOKED}
_TARGET = {"revoke": REVOKED, "suspend": SUSPENDED, "reinstate": ACTIVE}
_ALREADY = {"CredentialRevoked", "AlreadySuspended", "NotSuspended", "RootRevoked"}
_IN_CHUNK = 500


def _as_ids(ids: str | Iterable[str]) -> list[str]:
    return [ids] if isinstance(ids, str) else list(dict.fromkeys(ids))


def _load(ctx, agency: str, ids: list[str]) -> dict[str, Any]:  # id -> its row
    found = {}
    with ctx.engine.connect() as conn:
        for i in range(0, len(ids), _IN_CHUNK):
            part = ids[i : i + _IN_CHUNK]
            rows = conn.execute(
                select(
                    CRED.c.id,
                    CRED.c.digest,
                    CRED.c.state,
                    CRED.c.status_reason,
                    CRED.c.batch_id,
                    CRED.c.leaf_index,
                    BATCH.c.root,
                    BATCH.c.state.label("batch_state"),
                )
                .select_from(CRED.outerjoin(BATCH, BATCH.c.id == CRED.c.batch_id))
                .where(CRED.c.agency_code == agency, CRED.c.id.in_(part))
            ).all()
            found.update({r.id: r for r in rows})
    return found


def _record(
    ctx, agency: str, changes: list[tuple[str, str, int, str]], action: str, actor: str, tx_hash: str | None
) -> None:
    """changes: (credential id, new state, reason, digest) — one transaction with their audit events."""
    if not changes:
        return
    now = ctx.now()
    with ctx.engine.begin() as conn:
        for cid, state, reason, _ in changes:
            conn.execute(
                update(CRED)
                .where(CRED.c.id == cid, CRED.c.agency_code == agency)
                .values(state=state, status_reason=reason, updated_at=now)
            )
        conn.execute(
            insert(AUDIT),
            [
                {
                    "at": now,
                    "actor": actor,
                    "agency": agency,
                    "action": action,
                    "subject": cid,
                    "tx_hash": tx_hash,
                    "details": {"state": state, "reason": reason, "digest": digest},
                }
                for cid, state, reason, digest in changes
            ],
        )


def _reconcile(ctx, agency: str, rows: list, actor: str) -> dict[str, str]:
    """Each credential's state on chain; the database is corrected where it lags."""
    reader, aid = ctx.chain.reader(), agency_id(agency)
    states, fixes = {}, []
    for r in rows:
        status = reader.credential_status(aid, from_hex32(r.digest), from_hex32(r.root))
        state = _CHAIN_STATE.get(status.state, ACTIVE)
        states[r.id] = state
        if state != r.state and r.state != REVOKED:  # a revocation the chain lost stands (see above)
            fixes.append((r.id, state, status.reason, r.digest))
    if fixes:
        log.info("%d credentials of %s had a status on chain the database did not show; corrected", len(fixes), agency)
        _record(ctx, agency, fixes, "status-sync", actor, None)
    return states


def _send(ctx, agency: str, action: str, rows: list, reason: int):
    items = []
    for r in rows:
        tree = ctx.trees.get(ctx.engine, r.batch_id, r.root)
        items.append((from_hex32(r.digest), from_hex32(r.root), tree.proof(r.leaf_index)))
    ledger = ctx.chain.ledger(agency)
    if len(items) == 1:
        return getattr(ledger, action)(*items[0], reason)
    return getattr(ledger, f"{action}_many")(items, reason)


def change_status(
    ctx, agency: str, ids: str | Iterable[str], action: str, reason: int = Reason.UNSPECIFIED, *, actor: str = "system"
) -> StatusChange:
    """``action``: revoke | suspend | reinstate (see the module documentation)."""
    if action not in _TARGET:
        raise ValueError(f"unknown status action {action!r}")
    reason = int(reason)
    if not 0 <= reason <= 255:
        raise ValueError("reason must be a code from 0 to 255 (ledger.chain.Reason)")
    ids = _as_ids(ids)
    found = _load(ctx, agency, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise CredentialNotFound(missing)
    unanchored = [i for i in ids if found[i].batch_state not in ("confirmed", "completed")]
    if unanchored:
        raise NotAnchored(unanchored)
    rows = [found[i] for i in ids]
    states = _reconcile(ctx, agency, rows, actor)
    target = _TARGET[action]
    if action != "revoke":
        final = [i for i in ids if REVOKED in (states[i], found[i].state)]
        if final:
            raise InvalidTransition(
                f"cannot {action} a revoked credential (revocation is final): {', '.join(final[:5])}", final
            )
    result = StatusChange(action, unchanged=[i for i in ids if states[i] == target])
    todo = [found[i] for i in ids if states[i] != target]
    chunk = max(1, ctx.policy.status_chunk)
    for k in range(0, len(todo), chunk):
        part = todo[k : k + chunk]
        try:
            tx = _send(ctx, agency, action, part, reason)
        except ContractReverted as exc:
            if exc.error_name not in _ALREADY:
                raise StatusChangeFailed(f"the ledger refused to {action}: {exc}") from None
            # someone changed some of them meanwhile: take the chain's word, then send the rest once
            now_states = _reconcile(ctx, agency, part, actor)
            result.unchanged += [r.id for r in part if now_states[r.id] == target]
            part = [r for r in part if now_states[r.id] != target]
            if not part:
                continue
            try:
                tx = _send(ctx, agency, action, part, reason)
            except ContractReverted as exc2:
                raise StatusChangeFailed(f"the ledger refused to {action}: {exc2}") from None
        _record(ctx, agency, [(r.id, target, reason, r.digest) for r in part], action, actor, tx.tx_hash)
        result.changed += [r.id for r in part]
        result.tx_hashes.append(tx.tx_hash)
        log.info("%s: %d credentials of %s (reason %d) in tx %s", action, len(part), agency, reason, tx.tx_hash)
    return result


def revoke(
    ctx, agency: str, ids: str | Iterable[str], reason: int = Reason.UNSPECIFIED, *, actor: str = "system"
) -> StatusChange:
    """Revoke for good (reason e.g. Reason.ISSUED_IN_ERROR)."""
    return change_status(ctx, agency, ids, "revoke", reason, actor=actor)


def suspend(
    ctx, agency: str, ids: str | Iterable[str], reason: int = Reason.UNSPECIFIED, *, actor: str = "system"
) -> StatusChange:
    return change_status(ctx, agency, ids, "suspend", reason, actor=actor)


def reinstate(
    ctx, agency: str, ids: str | Iterable[str], reason: int = Reason.UNSPECIFIED, *, actor: str = "system"
) -> StatusChange:
    """Lift a suspension."""
    return change_status(ctx, agency, ids, "reinstate", reason, actor=actor)


__all__ = ["change_status", "reinstate", "revoke", "suspend"]
