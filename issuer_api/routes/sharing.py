"""Share links and QR codes of the caller's agency's anchored credentials."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from http_common.openapi_problems import problem_responses
from issuer_api.deps import scope, service
from issuer_api.schemas import ShareLink
from ledger.content.links import qr_png, qr_svg
from ledger.governance.api_keys import Principal

# 409 until the credential is anchored; 503 while the content store cannot take the share.
router = APIRouter(prefix="/credentials", tags=["sharing"], responses=problem_responses(401, 403, 404, 409, 503))


@router.get(
    "/{credential_id}/share",
    summary="The share link (the key sits in its fragment)",
    responses={200: {"model": ShareLink}},
)
def share(credential_id: str, who: Principal = Depends(scope("read")), svc=Depends(service)):
    link = svc.shares.link(who.agency, credential_id, svc.settings.verifier_url)
    return {
        "link": link.url,
        "cid": link.cid,
        "qrPng": f"/credentials/{credential_id}/qr.png",
        "qrSvg": f"/credentials/{credential_id}/qr.svg",
    }


@router.get(
    "/{credential_id}/qr.png",
    summary="QR code of the share link, PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def qr_as_png(credential_id: str, who: Principal = Depends(scope("read")), svc=Depends(service)):
    link = svc.shares.link(who.agency, credential_id, svc.settings.verifier_url)
    return Response(qr_png(link), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get(
    "/{credential_id}/qr.svg",
    summary="QR code of the share link, SVG",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def qr_as_svg(credential_id: str, who: Principal = Depends(scope("read")), svc=Depends(service)):
    link = svc.shares.link(who.agency, credential_id, svc.settings.verifier_url)
    return Response(qr_svg(link), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
