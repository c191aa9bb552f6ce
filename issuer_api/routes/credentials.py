"""Issue (one, bulk), read, search, and change the status of the caller's agency's credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from http_common.openapi_problems import problem_responses as refusals
from http_common.problem import Problem
from issuer_api import schemas as out
from issuer_api.deps import scope, service
from ledger import issuance
from ledger.governance.api_keys import Principal

router = APIRouter(prefix="/credentials", tags=["credentials"])

SUBJECT_EXAMPLE: dict[str, Any] = {
    "name": "王伟 (Wang Wei)",
    "idNumber": "330106199001011234",
    "degree": "工学学士 Bachelor of Engineering",
    "major": "计算机科学与技术",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}


# A status change names credentials (404 when not the agency's), may be refused by their state (409)
# or by the chain (502), and needs the chain (503 while it is unreachable).
STATUS_REFUSALS = refusals(
    400, 401, 403, 404, 409, 413, 422, 502, 503, s409="not anchored yet, or not in a state this change applies to"
)
BULK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "name,idNumber,degree,major,institution,graduationDate\n"
                "张三,330106199001011234,学士,数学,浙江大学,2024-06-30\n",
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


class IssueRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"type": "DegreeCertificate", "subject": SUBJECT_EXAMPLE, "validFrom": "2024-07-01T00:00:00Z"}]
        },
    )
    type: str = Field(description="A credential type the agency may issue, e.g. DegreeCertificate")
    subject: dict[str, Any] = Field(description="credentialSubject, checked against the type's JSON Schema")
    validFrom: datetime | None = None
    validUntil: datetime | None = None


class SupersedeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: dict[str, Any]
    validFrom: datetime | None = None
    validUntil: datetime | None = None


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": 1}]})
    reason: int = Field(
        0,
        ge=0,
        le=255,
        description="0 unspecified, 1 superseded, 2 issued in error, "
        "3 key compromise, 4 holder request, 5 administrative decision, 6 expired by law",
    )


class ManyStatusRequest(StatusRequest):
    action: Literal["revoke", "suspend", "reinstate"]
    ids: list[str] = Field(min_length=1, max_length=10_000)


def _issued(issued) -> JSONResponse:
    body = {
        "id": issued.id,
        "digest": issued.digest,
        "type": issued.type_name,
        "state": issued.state,
        "issuedAt": issued.issued_at.isoformat(),
        "supersedes": issued.supersedes,
        "replayed": issued.replayed,
    }
    return JSONResponse(body, status_code=200 if issued.replayed else 201)


@router.post(
    "",
    status_code=201,
    summary="Issue one credential",
    responses={
        201: {"description": "issued (pending anchoring)", "model": out.Issued},
        200: {"description": "an idempotent retry", "model": out.Issued},
        **refusals(
            400,
            401,
            403,
            409,
            413,
            422,
            503,
            s403="a key without the issue scope, or a type the agency may not issue",
            s409="Idempotency-Key reused for another request",
            s422="schema violation, naming each field",
        ),
    },
)
def issue(
    body: IssueRequest,
    who: Principal = Depends(scope("issue")),
    svc=Depends(service),
    idempotency_key: str | None = Header(None, max_length=200),
):
    issued = issuance.issue_one(
        svc.ctx,
        who.agency_code,
        body.type,
        body.subject,
        valid_from=body.validFrom,
        valid_until=body.validUntil,
        idempotency_key=idempotency_key,
        actor=who.key_id,
    )
    return _issued(issued)


@router.post(
    "/bulk",
    summary="Issue many credentials from CSV or JSON Lines",
    description="Body: `text/csv` (header = subject fields, optional validFrom/validUntil columns) or "
    "`application/x-ndjson` (one subject object per line). Valid rows are issued and every bad "
    "row is reported with its number and fields; with `all_or_nothing=true` one bad row "
    "refuses the whole upload (422) and nothing is issued.",
    responses={200: {"model": out.BulkIssued}, **refusals(400, 401, 403, 409, 413, 415, 422, 503)},
    openapi_extra=BULK_BODY,
)
async def issue_bulk(
    request: Request,
    type: str = Query(..., description="credential type"),
    all_or_nothing: bool = False,
    who: Principal = Depends(scope("issue")),
    svc=Depends(service),
    idempotency_key: str | None = Header(None, max_length=200),
):
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    formats = {
        "text/csv": "csv",
        "application/x-ndjson": "jsonl",
        "application/jsonl": "jsonl",
        "application/json-lines": "jsonl",
    }
    if media not in formats:
        raise Problem(415, "UNSUPPORTED_MEDIA_TYPE", "send text/csv or application/x-ndjson", "Unsupported media type")
    data = await request.body()
    result = await run_in_threadpool(
        issuance.issue_file,
        svc.ctx,
        who.agency_code,
        type,
        data,
        formats[media],
        all_or_nothing=all_or_nothing,
        idempotency_key=idempotency_key,
        actor=who.key_id,
    )
    return result.to_dict()


@router.get(
    "",
    summary="List and search the agency's credentials (newest first)",
    responses={200: {"model": out.CredentialPage}, **refusals(401, 403, 422)},
)
def search(
    type: str | None = None,
    holder: str | None = None,
    state: str | None = None,
    issued_from: datetime | None = Query(None, alias="from"),
    issued_until: datetime | None = Query(None, alias="until"),
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
    who: Principal = Depends(scope("read")),
    svc=Depends(service),
):
    page = issuance.list_credentials(
        svc.ctx,
        who.agency_code,
        type_name=type,
        holder_id=holder,
        state=state,
        issued_from=issued_from,
        issued_until=issued_until,
        limit=limit,
        cursor=cursor,
    )
    return {"items": [c.to_dict() for c in page.items], "nextCursor": page.next_cursor}


@router.post(
    "/status",
    summary="Revoke, suspend or reinstate many credentials (one transaction per chunk)",
    responses={200: {"model": out.StatusChanged}, **STATUS_REFUSALS},
)
def change_many(body: ManyStatusRequest, who: Principal = Depends(scope("revoke")), svc=Depends(service)):
    return _status(
        issuance.change_status(svc.ctx, who.agency_code, body.ids, body.action, body.reason, actor=who.key_id)
    )


@router.get(
    "/{credential_id}",
    summary="What is stored in clear about one credential",
    responses={200: {"model": out.CredentialInfo}, **refusals(401, 403, 404)},
)
def info(credential_id: str, who: Principal = Depends(scope("read")), svc=Depends(service)):
    return issuance.get_credential_info(svc.ctx, who.agency_code, credential_id).to_dict()


@router.get(
    "/{credential_id}/bundle",
    summary="The citizen's bundle (anchor null until anchored)",
    responses={200: out.BUNDLE, **refusals(401, 403, 404)},
)
def bundle(credential_id: str, who: Principal = Depends(scope("read")), svc=Depends(service)):
    data = issuance.get_bundle(svc.ctx, who.agency_code, credential_id).to_bytes()
    return Response(data, media_type="application/json")


@router.post(
    "/{credential_id}/supersede",
    status_code=201,
    summary="Issue a corrected credential replacing this one",
    responses={
        201: {"model": out.Issued},
        200: {"description": "an idempotent retry", "model": out.Issued},
        **STATUS_REFUSALS,
    },
)
def supersede(
    credential_id: str,
    body: SupersedeRequest,
    who: Principal = Depends(scope("issue")),
    svc=Depends(service),
    idempotency_key: str | None = Header(None, max_length=200),
):
    _require(who, "revoke")  # the old credential is revoked with reason "superseded"
    issued = issuance.supersede(
        svc.ctx,
        who.agency_code,
        credential_id,
        body.subject,
        valid_from=body.validFrom,
        valid_until=body.validUntil,
        idempotency_key=idempotency_key,
        actor=who.key_id,
    )
    return _issued(issued)


@router.post(
    "/{credential_id}/{action}",
    summary="Revoke, suspend or reinstate one credential",
    responses={200: {"model": out.StatusChanged}, **STATUS_REFUSALS},
)
def change_one(
    credential_id: str,
    action: Literal["revoke", "suspend", "reinstate"],
    body: StatusRequest,
    who: Principal = Depends(scope("revoke")),
    svc=Depends(service),
):
    return _status(
        issuance.change_status(svc.ctx, who.agency_code, [credential_id], action, body.reason, actor=who.key_id)
    )


def _require(who: Principal, name: str) -> None:
    if not who.allows(name):
        raise Problem(403, "FORBIDDEN", f"this API key lacks the {name!r} scope", "Not allowed")


def _status(change) -> dict:
    return {
        "action": change.action,
        "changed": change.changed,
        "unchanged": change.unchanged,
        "txHashes": change.tx_hashes,
    }
