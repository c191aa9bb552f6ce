"""Tables. Personal data never goes here in plaintext: credentials are referenced by id and digest."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import JSON, Column, Field, SQLModel


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AuditEvent(SQLModel, table=True):
    """Every state change (deploy, agency, key, issue, anchor, revoke, suspend...), append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=_now, index=True)
    actor: str = Field(max_length=128)            # an address or an API key id, never a secret
    agency: str | None = Field(default=None, max_length=64, index=True)
    action: str = Field(max_length=64, index=True)
    subject: str | None = Field(default=None, max_length=200)   # a credential id, digest, root, key...
    tx_hash: str | None = Field(default=None, max_length=66)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AgencyRecord(SQLModel, table=True):
    """An agency this installation acts for or governs; key files live in the data directory."""

    __tablename__ = "agency"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    operator_address: str = Field(max_length=42)
    signing_public_key: str = Field(max_length=66)   # 0x + 64 hex (Ed25519)
    types: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=_now)
