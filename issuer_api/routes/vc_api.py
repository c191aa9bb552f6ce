"""The W3C CCG VC API issuer endpoint: ``POST /credentials/issue``.

Authenticated like every issuer write (an agency API key with the ``issue`` scope), with an
optional ``Idempotency-Key``. The body is ``{"credential": {...}, "options": {...}}`` (no option
is supported yet: a non-empty ``options`` is refused). The agency signs the credential with its
current key after the checks of ``ledger.issuance.w3c_issue`` (VC 2.0 data model, the governed
type); the answer is ``201 {"verifiableCredential": …}`` with ``Location: /credentials/<record
id>`` (where its bundle will be, ``…/bundle``, once anchored), or an ``application/problem+json``
4xx whose ``code`` and ``errors[].member`` name what was wrong.

Its OpenAPI description (every answer, the Location header, the request's example) is
``issuer_api.vc_api_openapi``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from http_common.problem import Problem
from issuer_api.deps import scope, service
from issuer_api.vc_api_openapi import ISSUE
from ledger.governance.api_keys import Principal
from ledger.issuance.w3c_issue import issue_w3c
from ledger.protocol.data_model import DataModelError
from ledger.protocol.strict_json import JsonBodyError, parse_strict_json

router = APIRouter(tags=["vc-api"])


def parse_json_body(data: bytes) -> object:
    """The request's JSON (``ledger.protocol.strict_json``), or a 400 problem."""
    try:
        return parse_strict_json(data)
    except JsonBodyError as exc:
        raise Problem(400, "BAD_REQUEST", str(exc), "Malformed JSON") from None


def data_model_problem(exc: DataModelError, status: int = 422) -> Problem:
    """A refusal naming each member at fault: ``code`` is the first violation's."""
    errors = [{"field": v.member, "member": v.member, "code": v.code, "reason": v.reason} for v in exc.violations]
    return Problem(status, exc.code, str(exc), "The credential does not conform", errors=errors)


@router.post("/credentials/issue", status_code=201, **ISSUE)
async def issue_credential(
    request: Request,
    who: Principal = Depends(scope("issue")),
    svc=Depends(service),
    idempotency_key: str | None = Header(None, max_length=200),
):
    body = parse_json_body(await request.body())
    if not isinstance(body, dict):
        raise Problem(400, "BAD_REQUEST", 'send {"credential": {...}}', "Malformed request")
    unknown = sorted(set(body) - {"credential", "options"})
    if unknown:
        raise Problem(
            400, "BAD_REQUEST", f'unknown member {unknown[0]!r}: send {{"credential", "options"}}', "Malformed request"
        )
    if "credential" not in body:
        raise Problem(400, "BAD_REQUEST", "the request has no credential", "Malformed request")
    options = body.get("options")
    if options is not None and not isinstance(options, dict):
        raise Problem(400, "BAD_REQUEST", "options must be an object", "Malformed request")
    if options:
        raise Problem(
            400, "OPTION_UNSUPPORTED", f"the issue option {sorted(options)[0]!r} is not supported", "Unsupported option"
        )
    try:
        issued = await run_in_threadpool(
            issue_w3c, svc.ctx, who.agency_code, body["credential"], idempotency_key=idempotency_key, actor=who.key_id
        )
    except DataModelError as exc:
        raise data_model_problem(exc) from None
    return JSONResponse(
        {"verifiableCredential": issued.credential},
        status_code=200 if issued.replayed else 201,
        headers={"Location": f"/credentials/{issued.id}"},
    )


__all__ = ["data_model_problem", "parse_json_body", "router"]
