"""Share links and QR codes of the caller's agency's anchored credentials."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from starlette.responses import Response

from http_common.openapi_problems import problem_responses
from issuer_api.deps import scope, service
from issuer_api.schemas import ShareLink
from ledger.content import links
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


def _qr_route(path: str, name: str, media_type: str, render: Callable[[links.ShareLink], bytes]) -> None:
    """The share link's QR code in one image format (the PNG and SVG routes differ only in it)."""

    def qr(credential_id: str, who: Principal = Depends(scope("read")), svc=Depends(service)):
        link = svc.shares.link(who.agency, credential_id, svc.settings.verifier_url)
        return Response(render(link), media_type=media_type, headers={"Cache-Control": "no-store"})

    router.get(
        path,
        summary=f"QR code of the share link, {name}",
        response_class=Response,
        responses={200: {"content": {media_type: {}}}},
        name=f"qr_as_{name.lower()}",
    )(qr)


_qr_route("/{credential_id}/qr.png", "PNG", "image/png", qr_png)
_qr_route("/{credential_id}/qr.svg", "SVG", "image/svg+xml", qr_svg)
