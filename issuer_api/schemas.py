"""The issuer API's answers, as declared in its OpenAPI document (`responses={…: {"model": …}}`).

Documentation only: the routes build their JSON themselves; schema-driven tests hold them to these
shapes. Closed objects (no extra members), so that nothing else, a secret least of all, slips out.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

HEX32 = r"^0x[0-9a-f]{64}$"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Issued(_Closed):
    id: str
    digest: str = Field(pattern=HEX32)
    type: str
    state: str
    issuedAt: str
    supersedes: str | None
    replayed: bool


class BulkRow(_Closed):
    row: int
    id: str
    digest: str = Field(pattern=HEX32)


class BulkRowError(_Closed):
    row: int
    errors: list[dict[str, str]]


class BulkIssued(_Closed):
    issued: list[BulkRow]
    errors: list[BulkRowError]
    replayed: bool


class CredentialInfo(_Closed):
    id: str
    agency: str
    type_name: str
    holder_id: str | None
    digest: str = Field(pattern=HEX32)
    state: str
    status_reason: int | None
    issued_at: str
    valid_from: str | None
    valid_until: str | None
    batch_id: int | None
    supersedes: str | None


class CredentialPage(_Closed):
    items: list[CredentialInfo]
    nextCursor: str | None


class StatusChanged(_Closed):
    action: str
    changed: list[str]
    unchanged: list[str]
    txHashes: list[str]


class ShareLink(_Closed):
    link: str = Field(description="<verifier>/s/<cid>#k=<key>: the key sits in the fragment")
    cid: str
    qrPng: str
    qrSvg: str


class TypeInfo(_Closed):
    name: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")


class TypeAdded(_Closed):
    name: str
    typeId: str = Field(pattern=HEX32)


class AgencyOnboarded(_Closed):
    code: str
    operator: str
    signingKey: str
    types: list[str]
    apiKey: str = Field(description="the agency's first admin key: shown once")


class KeyCreated(_Closed):
    id: str
    scopes: list[str]
    label: str
    apiKey: str = Field(description="shown once")


class KeyInfo(_Closed):
    id: str
    scopes: list[str]
    label: str
    createdAt: str
    revokedAt: str | None


class KeyRevoked(_Closed):
    id: str
    revoked: bool


class AuditEntry(_Closed):
    id: int
    at: str
    actor: str
    agency: str | None
    action: str
    subject: str | None
    tx_hash: str | None
    details: dict[str, Any]


class AuditPage(_Closed):
    items: list[AuditEntry]
    nextCursor: str | None


BUNDLE = {"description": "The bundle (DESIGN.md, Wire formats)", "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "version", "credential", "anchor"],
    "properties": {"type": {"const": "CertLedgerBundle"}, "version": {"const": 1},
                   "credential": {"type": "object"}, "anchor": {"type": ["object", "null"]}}}}}}
