"""The issuer API's answers, as declared in its OpenAPI document (`responses={…: {"model": …}}`).

Documentation only: the routes build their JSON themselves; schema-driven tests hold them to these
shapes. Closed objects (no extra members), so that nothing else, a secret least of all, slips out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from http_common.openapi_bundle import BUNDLE as BUNDLE_SCHEMA
from http_common.openapi_bundle import CREDENTIAL

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


# The bundle, as the verifier's document declares what it takes (http_common/openapi_bundle.py).
BUNDLE: dict[str, Any] = {
    "description": "The bundle (docs/protocol.md, section 7)",
    "content": {"application/json": {"schema": BUNDLE_SCHEMA}},
}


# POST /credentials/issue (the W3C VC API, docs/protocol.md 13.2): the credential the agency signed,
# typed (the same profile as CREDENTIAL) or generic (3.8: more contexts, a URL id, further types, several
# subjects, other status objects after the two entries). Its proof is always eddsa-jcs-2022.
_URL_STRING: dict[str, Any] = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$"}
W3C_CREDENTIAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The signed W3C credential: a CertLedger credential type issued through its JSON Schema "
    "(docs/protocol.md 3), or a GenericCredential (3.8), with the agency as issuer, the two status "
    "entries and an eddsa-jcs-2022 proof",
    "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject", "credentialStatus", "proof"],
    "properties": {
        "@context": {
            "type": "array",
            "minItems": 2,
            "items": {"anyOf": [_URL_STRING, {"type": "object"}]},
            "description": "the VC 2.0 context, the undefined-terms context, then the request's others",
        },
        "id": _URL_STRING,
        "type": {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "string", "minLength": 1},
            "description": '["VerifiableCredential", <the governed type: a CertLedger type or '
            '"GenericCredential">, …the request\'s other types]',
        },
        "issuer": CREDENTIAL["properties"]["issuer"],
        "validFrom": {"type": "string"},
        "validUntil": {"type": "string"},
        "credentialSubject": {
            "anyOf": [
                {"type": "object", "minProperties": 1},
                {"type": "array", "minItems": 1, "items": {"type": "object", "minProperties": 1}},
            ]
        },
        "credentialStatus": {
            "type": "array",
            "minItems": 2,
            "items": {"type": "object", "required": ["type"]},
            "description": "the revocation and suspension BitstringStatusListEntry first, then "
            "the request's other status objects",
        },
        "proof": CREDENTIAL["properties"]["proof"],
    },
}
W3C_ISSUED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["verifiableCredential"],
    "additionalProperties": False,
    "properties": {"verifiableCredential": W3C_CREDENTIAL_SCHEMA},
}
