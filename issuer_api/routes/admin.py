"""Governance (types, agencies) and each agency's own API keys and audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from http_common.openapi_problems import problem_responses as refusals
from http_common.problem import Problem
from issuer_api import schemas as out
from issuer_api.deps import scope, service
from ledger import issuance
from ledger.governance.api_keys import (
    GOVERNANCE_SCOPE,
    SCOPES,
    LabelInUse,
    Principal,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from ledger.protocol.credential_types import CredentialType

router = APIRouter(tags=["governance and administration"])


class TypeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "DrivingLicence",
                    "description": "A driving licence",
                    "schema": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "class": {"enum": ["A", "B", "C"]}},
                        "required": ["name", "class"],
                        "additionalProperties": False,
                    },
                }
            ]
        },
    )
    name: str
    subject_schema: dict[str, Any] = Field(alias="schema")
    description: str = ""


class AgencyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "zj-hz-education",
                    "name": "杭州市教育局 Hangzhou Education Bureau",
                    "types": ["DegreeCertificate"],
                }
            ]
        },
    )
    code: str
    name: str = Field(min_length=1, max_length=200)
    types: list[str] = Field(min_length=1)


class KeyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"scopes": ["issue", "read"], "label": "registrar"}]}
    )
    scopes: list[str] = Field(min_length=1)
    label: str = Field("", max_length=200)


@router.get(
    "/types",
    summary="Credential types and their subject schemas",
    responses={200: {"model": list[out.TypeInfo]}, **refusals(401, 403)},
)
def types(svc=Depends(service), who: Principal = Depends(scope("read"))):
    return [{"name": t.name, "description": t.description, "schema": t.schema} for t in issuance.list_types(svc.ctx)]


@router.post(
    "/types",
    status_code=201,
    summary="Add a credential type (governance)",
    responses={201: {"model": out.TypeAdded}, **refusals(400, 401, 403, 413, 422)},
)
def add_type(body: TypeRequest, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    try:
        ctype = CredentialType(body.name, body.subject_schema, body.description)
    except ValueError as exc:
        raise Problem(422, "INVALID_TYPE", str(exc), "The credential type is invalid") from None
    issuance.register_type(svc.ctx, ctype, actor=who.key_id)
    return {"name": ctype.name, "typeId": "0x" + ctype.type_id.hex()}


@router.post(
    "/agencies",
    status_code=201,
    summary="Onboard an agency (governance): keys, chain, first admin key",
    description="Creates the agency's operator account and signing key (encrypted in the data directory), "
    "registers agency, operator, key and types on chain (retry-safe), records the agency, and "
    "returns its first admin API key — shown once.",
    responses={201: {"model": out.AgencyOnboarded}, **refusals(400, 401, 403, 413, 422, 503)},
)
async def add_agency(body: AgencyRequest, svc=Depends(service), who: Principal = Depends(scope(GOVERNANCE_SCOPE))):
    record = await run_in_threadpool(svc.onboard, body.code, body.name, body.types, who.key_id)
    _, key = create_api_key(svc.ctx.engine, record.code, ["admin"], "first admin key", actor=who.key_id)
    return {
        "code": record.code,
        "operator": record.operator_address,
        "signingKey": record.signing_public_key,
        "types": record.types,
        "apiKey": key,
    }


@router.post(
    "/api-keys",
    status_code=201,
    summary="Create an API key of the caller's agency (shown once)",
    description="A label names one live key: a retried request with the same label is refused (409, naming the "
    "key it made) instead of leaving two keys, as `certledger api-key create --name` does.",
    responses={
        201: {"model": out.KeyCreated},
        **refusals(400, 401, 403, 409, 413, 422, s409="a live key of the agency already has this label"),
    },
)
def new_key(body: KeyRequest, svc=Depends(service), who: Principal = Depends(scope("admin"))):
    return create_key(svc.ctx.engine, who.agency_code, body, who.key_id)


def create_key(engine, agency: str, body: KeyRequest, actor: str) -> dict:
    """An API key of ``agency`` (the agency's admin's or governance's request), its secret shown once."""
    unknown = [s for s in body.scopes if s not in SCOPES]
    if unknown:
        raise Problem(422, "INVALID_SCOPE", f"scopes {unknown} are not among {list(SCOPES)}", "Unknown scope")
    try:
        row, key = create_api_key(engine, agency, body.scopes, body.label, actor=actor, unique_label=True)
    except LabelInUse as exc:
        raise Problem(
            409,
            "KEY_LABEL_IN_USE",
            f"label: the live key {exc.key_id} is already labelled {exc.label!r}; revoke it or choose another",
            "Label in use",
            keyId=exc.key_id,
        ) from None
    return {"id": row.id, "scopes": row.scopes, "label": row.label, "apiKey": key}


def key_list(engine, agency: str) -> list[dict]:
    return [
        {
            "id": k.id,
            "scopes": k.scopes,
            "label": k.label,
            "createdAt": k.created_at.isoformat(),
            "revokedAt": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in list_api_keys(engine, agency)
    ]


@router.get(
    "/api-keys",
    summary="The caller's agency's API keys (never their secrets)",
    responses={200: {"model": list[out.KeyInfo]}, **refusals(401, 403)},
)
def keys(svc=Depends(service), who: Principal = Depends(scope("admin"))):
    return key_list(svc.ctx.engine, who.agency_code)


@router.delete(
    "/api-keys/{key_id}",
    summary="Revoke one of the caller's agency's API keys",
    responses={200: {"model": out.KeyRevoked}, **refusals(401, 403, 404)},
)
def drop_key(key_id: str, svc=Depends(service), who: Principal = Depends(scope("admin"))):
    if not revoke_api_key(svc.ctx.engine, key_id, who.agency, who.key_id):
        raise Problem(404, "NOT_FOUND", f"no API key {key_id} for this agency", "Not found")
    return {"id": key_id, "revoked": True}


@router.get(
    "/audit",
    summary="The caller's agency's audit log (newest first)",
    responses={200: {"model": out.AuditPage}, **refusals(401, 403, 422)},
)
def audit(
    action: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
    svc=Depends(service),
    who: Principal = Depends(scope("read")),
):
    page = issuance.audit_log(
        svc.ctx, who.agency_code, action=action, subject=subject, since=since, until=until, limit=limit, cursor=cursor
    )
    return {"items": [e.to_dict() for e in page.items], "nextCursor": page.next_cursor}
