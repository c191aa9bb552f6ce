"""The two state machines the database records, one enum each (``credential.state``, ``batch.state``).

``StrEnum``: a member is its stored string (``CredentialState.ANCHORED == "anchored"``, and ``str()``,
f-strings, JSON and the database drivers all give the value), so rows written before these enums
existed read the same, and nothing stored changes.

Credential: ``pending`` (issued, waiting for a batch) -> ``batched`` (in a closed batch) ->
``anchored`` (its batch's root is on chain: the credential is active, and its status can change) <->
``suspended``; ``revoked`` is final. A chain reorganisation can send ``anchored`` back to ``batched``.

Batch (ledger.issuance.anchoring): closed -> sent -> confirmed -> completed; a failed or dropped
send goes back to closed. ``held``: not a batch but the credentials a restore found pending, until
they are reconciled with the chain (ledger.issuance.reconcile). A closed batch is stored as ``"sealed"``, its name before "seal" was
given up for three different ideas (a closed batch, encryption at rest, key files): the stored
value is kept.
"""

from __future__ import annotations

from enum import StrEnum


class CredentialState(StrEnum):
    PENDING = "pending"
    BATCHED = "batched"
    ANCHORED = "anchored"  # active
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class BatchState(StrEnum):
    CLOSED = "sealed"  # the stored value predates the name
    SENT = "sent"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    HELD = "held"  # restored credentials that may have been anchored since the snapshot (ledger.issuance.reconcile)


# a batch not finished yet (the anchoring pipeline resumes it)
OPEN_BATCH_STATES = (BatchState.CLOSED, BatchState.SENT, BatchState.CONFIRMED)
# a batch whose root is on chain with enough confirmations: its bundles exist
ANCHORED_BATCH_STATES = (BatchState.CONFIRMED, BatchState.COMPLETED)

__all__ = ["ANCHORED_BATCH_STATES", "OPEN_BATCH_STATES", "BatchState", "CredentialState"]
