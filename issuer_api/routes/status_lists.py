"""The agencies' W3C status lists, public: ``GET /status/{agency}/{list_id}/{purpose}``.

Serves the signed BitstringStatusListCredential the publisher stored (ledger.issuance.status_publisher)
byte for byte, to anyone (a verifier checking a credential's ``credentialStatus`` has no API key), as
``application/vc`` — the media type IANA registered for the VC Data Model 2.0 (``application/vc+ld+json``
was the drafts' name, dropped before the Recommendation). Caches may keep it 60 s (the list's ``ttl``);
the ETag changes with the bits and with every re-signing, and ``If-None-Match`` gets a 304.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Header
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from http_common.openapi_problems import problem_responses
from http_common.problem import Problem
from issuer_api.deps import service
from ledger.issuance.status_publisher import get_list_credential
from ledger.protocol.identifiers import is_agency_code
from ledger.protocol.status_list import MEDIA_TYPE, PURPOSES

router = APIRouter(tags=["status lists"])

_LIST_ID = re.compile(r"[1-9][0-9]{0,9}")
_MAX_LIST_ID = 2**31 - 1  # an INTEGER column
CACHE_CONTROL = "public, max-age=60"


def _not_found(field: str, detail: str) -> Problem:
    return Problem(
        404, "STATUS_LIST_NOT_FOUND", detail, "No such status list", errors=[{"field": field, "reason": detail}]
    )


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


@router.get(
    "/status/{agency}/{list_id}/{purpose}",
    summary="A status list credential (W3C Bitstring Status List), public",
    description="The signed BitstringStatusListCredential that credentials' `credentialStatus` entries point "
    "to: `purpose` is `revocation` or `suspension`, `list_id` a positive decimal integer. No API key.",
    response_class=Response,
    responses={
        200: {
            "description": "The signed list credential (JSON)",
            "content": {MEDIA_TYPE: {"schema": {"type": "object"}}},
        },
        304: {"description": "Not modified (If-None-Match)"},
        **problem_responses(404, s404="No such status list: the field at fault is named"),
    },
)
async def status_list(
    agency: str,
    list_id: str,
    purpose: str,
    if_none_match: str | None = Header(None, description="An ETag of this list seen before"),
    svc=Depends(service),
):
    if not is_agency_code(agency):
        raise _not_found("agency", "agency: not an agency code")
    if not _LIST_ID.fullmatch(list_id) or int(list_id) > _MAX_LIST_ID:
        raise _not_found("list_id", "list_id: must be a positive decimal integer (no sign, no leading zero)")
    if purpose not in PURPOSES:
        raise _not_found("purpose", f"purpose: must be one of {', '.join(PURPOSES)}")
    stored = await run_in_threadpool(get_list_credential, svc.ctx.engine, agency, int(list_id), purpose)
    if stored is None:
        raise _not_found("list_id", f"list_id: agency {agency} has no {purpose} list {list_id}")
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": stored.etag, "Access-Control-Allow-Origin": "*"}
    if _matches(if_none_match, stored.etag):
        return Response(status_code=304, headers=headers)
    return Response(stored.body.encode("utf-8"), media_type=MEDIA_TYPE, headers=headers)
