"""The SQLAlchemy Core ``Table`` of every model, named once, for the modules that write SQL
expressions (``CRED.c.state``) rather than go through the ORM."""

from __future__ import annotations

from ledger.storage.models import (
    AgencyRecord,
    ApiKey,
    AuditEvent,
    BatchRecord,
    ContentRecord,
    CredentialBodyRecord,
    CredentialRecord,
    CredentialTypeRecord,
    IdempotencyRecord,
    Lease,
    StatusListCredentialRecord,
    StatusListRecord,
)

AGENCY = AgencyRecord.__table__
API_KEY = ApiKey.__table__
AUDIT = AuditEvent.__table__
BATCH = BatchRecord.__table__
BODY = CredentialBodyRecord.__table__  # credential_body: a credential's encrypted signed credential
CONTENT = ContentRecord.__table__
CRED = CredentialRecord.__table__
CREDENTIAL_TYPE = CredentialTypeRecord.__table__
IDEMPOTENCY = IdempotencyRecord.__table__
LEASE = Lease.__table__
STATUS_LIST = StatusListRecord.__table__
STATUS_LIST_CREDENTIAL = StatusListCredentialRecord.__table__

__all__ = [
    "AGENCY",
    "API_KEY",
    "AUDIT",
    "BATCH",
    "BODY",
    "CONTENT",
    "CRED",
    "CREDENTIAL_TYPE",
    "IDEMPOTENCY",
    "LEASE",
    "STATUS_LIST",
    "STATUS_LIST_CREDENTIAL",
]
