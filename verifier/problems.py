"""Errors of the verifier service as RFC 9457 problem details (``application/problem+json``).

Every refusal carries a stable ``code`` a client can branch on (the page translates it), a short
English ``title`` and a ``detail`` naming what was wrong. Details never echo secrets: a share key
lives only in a link's fragment, which no request carries, and no detail quotes a request's body.
"""
from __future__ import annotations

import json

from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"

TITLES = {
    "NOT_JSON": "The body is not JSON",
    "EMPTY_BODY": "The body is empty",
    "NOT_A_BUNDLE": "The body is not a CertLedger bundle",
    "NOT_AN_ARRAY": "The body is not a JSON array of bundles",
    "BODY_TOO_LARGE": "The body is too large",
    "BATCH_TOO_LARGE": "Too many bundles in one batch",
    "UNSUPPORTED_MEDIA_TYPE": "Send the bundle as JSON",
    "BAD_REQUEST": "The request is malformed",
    "CID_MALFORMED": "The content identifier (CID) is malformed",
    "CONTENT_NOT_FOUND": "No content with this CID",
    "CONTENT_CORRUPT": "The content store returned corrupt content",
    "CONTENT_STORE_UNAVAILABLE": "The content store is unavailable",
    "NOT_FOUND": "No such page",
    "METHOD_NOT_ALLOWED": "Method not allowed",
    "INTERNAL_ERROR": "The verifier failed",
}


class Problem(Exception):
    """Raised by the service layer; turned into a problem+json response by the app."""

    def __init__(self, status: int, code: str, detail: str, **extra):
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.extra = status, code, detail, extra

    def to_json(self) -> dict:
        return {
            "type": f"urn:certledger:problem:{self.code.lower().replace('_', '-')}",
            "title": TITLES.get(self.code, self.code),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            **self.extra,
        }

    def response(self, headers: dict | None = None) -> Response:
        body = json.dumps(self.to_json(), ensure_ascii=False).encode("utf-8")
        return Response(body, status_code=self.status, media_type=PROBLEM_JSON, headers=headers)


__all__ = ["Problem", "PROBLEM_JSON", "TITLES"]
