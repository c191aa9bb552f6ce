"""The chain's status records of this installation's agencies, folded into the database.

The status lists (``status_publisher``) are computed from ``credential.state``. Changes made through
this issuer reach that column once confirmed (``lifecycle``); this module covers the others — a
status change or a whole-batch revocation (``revokeRoot``) sent to the ledger by other means, e.g. by
an operator with the agency's key and a wallet. Each round reads the ledger's ``StatusChanged`` and
``RootStatusChanged`` events in each agency's namespace (the agency id is an indexed topic) up to the
last confirmed block, and records in the database every credential whose state differs from what the
events say, with an audit event (``status-sync``). The lists therefore follow the confirmed chain
state, whoever changed it.

Where a round starts: per agency, at its first anchored batch's block (no status can exist in its
namespace before its first anchor), then where the previous round ended (kept in memory: a process
that restarts reads its agencies' status events again, which changes nothing already recorded).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update
from web3 import Web3

from ledger.protocol.digest import to_hex32
from ledger.protocol.identifiers import agency_id
from ledger.storage.db import reading
from ledger.storage.models import (
    AgencyRecord,
    AuditEvent,
    BatchRecord,
    CredentialRecord,
)
from ledger.storage.tables import table_of

log = logging.getLogger(__name__)

CRED = table_of(CredentialRecord)
BATCH = table_of(BatchRecord)
AUDIT = table_of(AuditEvent)
AGENCY = table_of(AgencyRecord)
LOG_RANGE = 5_000  # blocks per eth_getLogs request
_STATE = {0: "anchored", 1: "suspended", 2: "revoked"}
_STATUS_CHANGED = Web3.keccak(text="StatusChanged(bytes32,bytes32,uint8,uint8)")
_ROOT_STATUS_CHANGED = Web3.keccak(text="RootStatusChanged(bytes32,bytes32,uint8,uint8)")


@dataclass
class StatusSync:
    """Per-process cursor over the chain's status events, by agency."""

    cursor: dict[str, int] = field(default_factory=dict)  # agency code -> next block to read

    def run(self, ctx) -> int:
        """One round; returns how many credentials' states were corrected."""
        w3 = ctx.chain.w3
        last = w3.eth.block_number - ctx.chain.confirmations + 1  # the last confirmed block
        with reading(ctx.engine).connect() as conn:
            agencies = [r.code for r in conn.execute(select(AGENCY.c.code))]
            first_anchor: dict[str, int] = dict(
                conn.execute(
                    select(BATCH.c.agency_code, func.min(BATCH.c.block_number))
                    .where(BATCH.c.block_number.is_not(None))
                    .group_by(BATCH.c.agency_code)
                ).all()
            )
        corrected = 0
        for agency in agencies:
            start = self.cursor.get(agency, first_anchor.get(agency))
            if start is None or start > last:
                continue
            corrected += self._fold(ctx, w3, agency, start, last)
            self.cursor[agency] = last + 1
        return corrected

    def _fold(self, ctx, w3, agency: str, start: int, last: int) -> int:
        topic = "0x" + agency_id(agency).hex()
        ledger = Web3.to_checksum_address(ctx.chain.deployment.ledger)
        digests: dict[str, tuple[str, int]] = {}  # digest -> (state, reason), the last event wins
        roots: dict[str, int] = {}  # revoked root -> reason
        for lo in range(start, last + 1, LOG_RANGE):
            logs = w3.eth.get_logs(
                {
                    "address": ledger,
                    "fromBlock": lo,
                    "toBlock": min(lo + LOG_RANGE - 1, last),
                    "topics": [[_STATUS_CHANGED, _ROOT_STATUS_CHANGED], topic],
                }
            )
            for entry in logs:
                subject = to_hex32(bytes(entry["topics"][2]))
                data = bytes(entry["data"])
                state, reason = int.from_bytes(data[0:32], "big"), int.from_bytes(data[32:64], "big")
                if state not in _STATE:
                    log.warning("%s: status event with unknown state %d for %s ignored", agency, state, subject)
                elif bytes(entry["topics"][0]) == _ROOT_STATUS_CHANGED:
                    if state == 2:
                        roots[subject] = reason
                else:
                    digests[subject] = (_STATE[state], reason)
        if not digests and not roots:
            return 0
        return _record(ctx, agency, digests, roots)


def _record(ctx, agency: str, digests: dict[str, tuple[str, int]], roots: dict[str, int]) -> int:
    """The credentials whose recorded state differs from the chain's, corrected in one transaction."""
    now = ctx.now()
    changes: list[tuple[str, str, str, int]] = []  # (credential id, digest, state, reason)
    with ctx.engine.begin() as conn:
        if digests:
            rows = conn.execute(
                select(CRED.c.id, CRED.c.digest, CRED.c.state).where(
                    CRED.c.agency_code == agency, CRED.c.digest.in_(list(digests))
                )
            ).all()
            changes += [
                (r.id, r.digest, *digests[r.digest])
                for r in rows
                if r.state in _STATE.values() and r.state != digests[r.digest][0] and r.state != "revoked"
            ]
        for root, reason in roots.items():
            rows = conn.execute(
                select(CRED.c.id, CRED.c.digest, CRED.c.state)
                .select_from(CRED.join(BATCH, BATCH.c.id == CRED.c.batch_id))
                .where(BATCH.c.agency_code == agency, BATCH.c.root == root)
            ).all()
            changes += [(r.id, r.digest, "revoked", reason) for r in rows if r.state in ("anchored", "suspended")]
        for cid, _, state, reason in changes:
            conn.execute(update(CRED).where(CRED.c.id == cid).values(state=state, status_reason=reason, updated_at=now))
        if changes:
            conn.execute(
                insert(AUDIT),
                [
                    {
                        "at": now,
                        "actor": ctx.worker_id,
                        "agency": agency,
                        "action": "status-sync",
                        "subject": cid,
                        "tx_hash": None,
                        "details": {"state": state, "reason": reason, "digest": digest},
                    }
                    for cid, digest, state, reason in changes
                ],
            )
    if changes:
        log.info("%s: %d credentials changed status on chain outside this issuer; recorded", agency, len(changes))
    return len(changes)


__all__ = ["StatusSync"]
