"""Errors of the verifier service as RFC 9457 problem details (``application/problem+json``).

Every refusal carries a stable ``code`` a client can branch on (the page translates it), a short
English ``title`` and a ``detail`` naming what was wrong. Details never echo secrets: a share key
lives only in a link's fragment, which no request carries, and no detail quotes a request's body.
"""

from __future__ import annotations

from http_common.problem import PROBLEM_JSON
from http_common.problem import Problem as _Problem

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
    "BAD_CURSOR": "The cursor is not one this listing gave",
    "INDEX_UNAVAILABLE": "This verifier has no chain index",
    "METHOD_NOT_ALLOWED": "Method not allowed",
    "INTERNAL_ERROR": "The verifier failed",
}


class Problem(_Problem):
    """Raised by the service layer; turned into a problem+json response by the app."""

    def __init__(self, status: int, code: str, detail: str, **extra):
        super().__init__(status, code, detail, TITLES.get(code, code), **extra)


__all__ = ["Problem", "PROBLEM_JSON", "TITLES"]
