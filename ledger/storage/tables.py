"""The SQLAlchemy Core ``Table`` of every model, named once, for the modules that write SQL
expressions (``CRED.c.state``) rather than go through the ORM."""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

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


def table_of(model: type[SQLModel]) -> Table:
    """``model.__table__``: SQLModel sets it on every ``table=True`` class but does not declare it,
    so type checkers do not know it (nor that it is a ``Table``)."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]  # set by SQLModel, undeclared


AGENCY = table_of(AgencyRecord)
API_KEY = table_of(ApiKey)
AUDIT = table_of(AuditEvent)
BATCH = table_of(BatchRecord)
BODY = table_of(CredentialBodyRecord)  # credential_body: a credential's encrypted signed credential
CONTENT = table_of(ContentRecord)
CRED = table_of(CredentialRecord)
CREDENTIAL_TYPE = table_of(CredentialTypeRecord)
IDEMPOTENCY = table_of(IdempotencyRecord)
LEASE = table_of(Lease)
STATUS_LIST = table_of(StatusListRecord)
STATUS_LIST_CREDENTIAL = table_of(StatusListCredentialRecord)

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
    "table_of",
]
