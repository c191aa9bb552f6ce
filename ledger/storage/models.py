"""Tables. Personal data never goes here in plaintext: credentials are referenced by id and digest."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKeyConstraint, Index, Text, text
from sqlmodel import JSON, Column, Field, SQLModel

from ledger.storage.states import BatchState, CredentialState


def only_where(condition: str, postgresql: str | None = None) -> dict:
    """A partial index's condition on each database (the same SQL unless told otherwise). Write it
    as the queries that need the index are written: SQLite uses a partial index only when the
    query's WHERE contains the index's condition."""
    return {"sqlite_where": text(condition), "postgresql_where": text(postgresql or condition)}


def _now() -> datetime:
    return datetime.now(UTC)


class AuditEvent(SQLModel, table=True):
    """Every state change (deploy, agency, key, issue, anchor, revoke, suspend...), append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=_now, index=True)
    actor: str = Field(max_length=128)  # an address or an API key id, never a secret
    agency: str | None = Field(default=None, max_length=64, index=True)
    action: str = Field(max_length=64, index=True)
    subject: str | None = Field(default=None, max_length=200)  # a credential id, digest, root, key...
    tx_hash: str | None = Field(default=None, max_length=66)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AgencyRecord(SQLModel, table=True):
    """An agency this installation acts for or governs; key files live in the data directory."""

    __tablename__ = "agency"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    operator_address: str = Field(max_length=42)
    signing_public_key: str = Field(max_length=66)  # 0x + 64 hex (Ed25519)
    types: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)


# --- the issuer service ------------------------------------------------------------------------------
# Signed credentials hold personal data: they are stored encrypted (ledger.storage.at_rest), and
# only their id, digest, type, an optional holder id (a DID/URN, not a name) and dates are in clear.


class ApiKey(SQLModel, table=True):
    """An agency's API key: only a hash of the secret is kept; the secret is shown once."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=32)  # public part, e.g. "clk_3f9a1c2e5b7d"
    agency_code: str | None = Field(
        default=None, foreign_key="agency.code", index=True, max_length=64
    )  # None: governance
    secret_hash: str = Field(max_length=64)  # SHA-256 hex of the secret part
    scopes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # issue, revoke, read, admin
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=_now)
    revoked_at: datetime | None = None


class CredentialTypeRecord(SQLModel, table=True):
    """A credential type and the JSON Schema of its credentialSubject (typeId = keccak256(name))."""

    __tablename__ = "credential_type"

    name: str = Field(primary_key=True, max_length=64)
    subject_schema: dict = Field(sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=_now)


class BatchRecord(SQLModel, table=True):
    """One anchoring batch. States (``BatchState``, ledger.storage.states): closed (stored as "sealed")
    -> sent -> confirmed -> completed (ledger.issuance.anchoring); a failed send stays closed (or sent)
    with ``last_error`` and is retried at ``next_attempt_at``."""

    __tablename__ = "batch"

    id: int | None = Field(default=None, primary_key=True)
    agency_code: str = Field(foreign_key="agency.code", index=True, max_length=64)
    root: str = Field(unique=True, max_length=66)
    count: int
    state: str = Field(default=BatchState.CLOSED, index=True, max_length=16)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = None
    anchored_at: datetime | None = None  # the block timestamp
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    tx_nonce: int | None = None  # nonce of the last anchor transaction sent
    sent_at: datetime | None = None  # when that transaction was broadcast
    next_attempt_at: datetime | None = None  # backoff after a failure


class CredentialRecord(SQLModel, table=True):
    """One issued credential. States (``CredentialState``, ledger.storage.states): pending (waiting
    for a batch) -> batched -> anchored; revoked and suspended follow the chain."""

    __tablename__ = "credential"
    __table_args__ = (
        Index(
            "ix_credential_agency_unbatched",
            "agency_code",
            "issued_at",
            "request_row",
            "id",
            **only_where("batch_id IS NULL"),
        ),
        Index("ix_credential_agency_issued", "agency_code", "issued_at", "id"),
        Index(
            "ix_credential_agency_idempotency",
            "agency_code",
            "idempotency_key",
            **only_where("idempotency_key IS NOT NULL"),
        ),
        Index("ix_credential_batch_leaf", "batch_id", "leaf_index", **only_where("batch_id IS NOT NULL")),
        Index(
            "ix_credential_agency_holder",
            "agency_code",
            "subject_id",
            "issued_at",
            "id",
            **only_where("subject_id IS NOT NULL"),
        ),  # a holder's credentials, newest first
        Index("ix_credential_supersedes", "supersedes", unique=True, **only_where("supersedes IS NOT NULL")),
        # the status-list publisher's query: one list's revoked and suspended credentials (migration 0007).
        # On PostgreSQL (0008) the credentials whose status ever changed: a condition on ``state`` would
        # rule out HOT for confirming a batch (a state-only update), which also needs the free space
        # ``fillfactor = 50`` leaves on each page (set by 0008, PostgreSQL only).
        Index(
            "ix_credential_status_list",
            "agency_code",
            "status_list_id",
            "status_index",
            **only_where("state IN ('revoked', 'suspended')", "status_reason IS NOT NULL"),
        ),
    )
    # Few index entries on purpose (migrations 0004, 0006): closing and confirming a batch rewrite
    # every row of it, and on PostgreSQL such an update adds an entry to every index that holds the
    # new row, unless it is HOT. No index holds or (on PostgreSQL, 0008) names ``state``, so
    # confirming (state only) is HOT there and touches no index. Partial indexes
    # leave out the rows a query never looks for: waiting credentials (``batch_id IS NULL``, in
    # issuance order) drop out of theirs when their batch is closed, and the mostly empty holder id, predecessor
    # and idempotency key are indexed only where present. The holder's index is in listing order:
    # SQLite otherwise walked all the agency's credentials by date to find one holder's.

    id: str = Field(primary_key=True, max_length=45)  # urn:uuid:…
    agency_code: str = Field(foreign_key="agency.code", max_length=64)
    type_name: str = Field(max_length=64)
    subject_id: str | None = Field(default=None, max_length=200)
    digest: str = Field(unique=True, max_length=66)
    state: str = Field(default=CredentialState.PENDING, max_length=16)
    status_reason: int | None = None
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    leaf_index: int | None = None
    idempotency_key: str | None = Field(default=None, max_length=200)  # of the request that issued it
    supersedes: str | None = Field(default=None, max_length=45)  # one successor at most (unique index)
    issued_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    request_row: int = Field(
        default=0, sa_column_kwargs={"server_default": "0"}
    )  # position in its issuing request: leaves keep issuance order
    status_list_id: int | None = None  # its two W3C status entries: list (status_list.list_id) and index
    status_index: int | None = None
    signing_key: str | None = Field(default=None, max_length=66)  # 0x + 64 hex: the key that signed it (0009)
    supersede_reason: int | None = None  # reason code the superseded credential is revoked with (NULL: 1)


class CredentialBodyRecord(SQLModel, table=True):
    """The signed credential of a ``credential`` row, sealed (encrypted at rest), kept apart from it
    (migration 0005): closing and confirming a batch rewrite every credential row of it, and with
    the ~1.5 KB sealed credential inside, each rewrite wrote ~400 MB per 100,000 credentials."""

    __tablename__ = "credential_body"

    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=45)
    sealed_credential: bytes


class IdempotencyRecord(SQLModel, table=True):
    """An agency's idempotency key: the request it was first used for, and what that request gave.

    A retry with the same key and the same request returns the same result; the same key with
    another request is refused (ledger.issuance.errors.IdempotencyConflict)."""

    __tablename__ = "idempotency_key"

    agency_code: str = Field(foreign_key="agency.code", primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)  # SHA-256 hex of the canonical request
    operation: str = Field(max_length=16)  # issue | issue-bulk | supersede
    credential_id: str | None = Field(default=None, max_length=45)
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)


class StorageKeyRecord(SQLModel, table=True):
    """How the storage key is derived from the key passphrase (ledger.storage.at_rest): scrypt
    parameters, salt, and a check value that tells a wrong passphrase from corrupted data."""

    __tablename__ = "storage_key"

    id: int = Field(default=1, primary_key=True)
    salt: bytes
    scrypt_n: int
    scrypt_r: int
    scrypt_p: int
    check_value: bytes  # a known plaintext sealed under the key
    created_at: datetime = Field(default_factory=_now)


class ContentRecord(SQLModel, table=True):
    """The encrypted share of a completed bundle in the content store; the share key is sealed."""

    __tablename__ = "content"
    # the retry queue (migrations 0003, 0006): only the shares waiting in it, as push_pending asks
    # for them (``stored IS false``); no index on ``cid``: nothing looks a share up by it
    __table_args__ = (Index("ix_content_queued", "next_attempt_at", **only_where("stored IS 0", "stored IS false")),)

    credential_id: str = Field(primary_key=True, foreign_key="credential.id", max_length=45)
    cid: str = Field(max_length=100)
    sealed_share_key: bytes
    pending_blob: bytes | None = None  # the encrypted share until the store has it (a retry queue)
    stored: bool = False  # False: waiting in the retry queue (store unreachable)
    attempts: int = 0
    next_attempt_at: datetime | None = None


class Lease(SQLModel, table=True):
    """A named lease: only its holder acts (one anchoring worker across all API processes)."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime


# --- W3C Bitstring Status Lists (ledger.protocol.status_list, ledger.issuance.status_allocation / status_publisher) ---


class StatusListRecord(SQLModel, table=True):
    """One status list of an agency: ``size`` entries, owned by one signing key; indexes are handed
    out in order from ``next_index`` (reserved before signing, never handed out twice)."""

    __tablename__ = "status_list"

    agency_code: str = Field(primary_key=True, foreign_key="agency.code", max_length=64)
    list_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # per agency, from 1
    public_key: str = Field(max_length=66)  # 0x + 64 hex: the Ed25519 key that signs the list
    size: int
    next_index: int = 0
    created_at: datetime = Field(default_factory=_now)


class StatusListCredentialRecord(SQLModel, table=True):
    """The signed BitstringStatusListCredential last published for one list and purpose."""

    __tablename__ = "status_list_credential"
    __table_args__ = (
        ForeignKeyConstraint(["agency_code", "list_id"], ["status_list.agency_code", "status_list.list_id"]),
    )

    agency_code: str = Field(primary_key=True, max_length=64)
    list_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    purpose: str = Field(primary_key=True, max_length=16)  # revocation | suspension
    body: str = Field(sa_column=Column(Text, nullable=False))  # the signed JSON, served as is
    bits_sha256: str = Field(max_length=64)  # SHA-256 hex of the raw bitstring
    generated_at: datetime  # the states it shows were read at this time (validFrom)
    valid_until: datetime
