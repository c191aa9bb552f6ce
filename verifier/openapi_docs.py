"""What the verifier's OpenAPI document says each route takes and answers.

The routes read their bodies themselves (``POST /verify`` is served in front of the framework), so
the request bodies and every answer, reports and problem+json refusals alike, are declared here.
"""
from __future__ import annotations

from ledger.openapi_problems import problem_responses

from .report import CHECK_NAMES, Status, Verdict

HEX32 = {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}
CAIP10 = {"type": "string", "pattern": "^eip155:[0-9]+:0x[0-9a-fA-F]{40}$"}

BUNDLE = {
    "type": "object",
    "description": "A CertLedger bundle (DESIGN.md, Wire formats): a signed credential and its anchor.",
    "required": ["type", "version", "credential", "anchor"],
    "properties": {
        "type": {"const": "CertLedgerBundle"},
        "version": {"const": 1},
        "credential": {"type": "object", "description": "the W3C Verifiable Credential with its proof"},
        "anchor": {"anyOf": [{"type": "null"}, {
            "type": "object",
            "required": ["ledger", "registry", "digest", "root", "path", "txHash", "blockNumber"],
            "properties": {"ledger": CAIP10, "registry": CAIP10, "digest": HEX32, "root": HEX32,
                           "path": {"type": "array", "items": HEX32}, "txHash": HEX32,
                           "blockNumber": {"type": "integer", "minimum": 0}},
        }]},
    },
}

CHECK = {
    "type": "object",
    "required": ["name", "status", "code", "message", "messages"],
    "properties": {
        "name": {"enum": list(CHECK_NAMES)},
        "status": {"enum": [s.value for s in Status]},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "messages": {"type": "object", "required": ["en", "zh-CN"],
                     "properties": {"en": {"type": "string"}, "zh-CN": {"type": "string"}}},
    },
}

REPORT = {
    "type": "object",
    "description": "The verdict and each check; 200 whatever the verdict (INVALID is an answer, not an error).",
    "required": ["verdict", "checks", "credential"],
    "properties": {
        "verdict": {"enum": [v.value for v in Verdict]},
        "checks": {"type": "array", "items": CHECK},
        "credential": {"type": "object"},
    },
}

SHARE = {
    "type": "object",
    "description": "An encrypted share (AES-256-GCM); the key travels only in the link's fragment.",
    "required": ["v", "alg", "iv", "ct"],
    "properties": {"v": {"const": 1}, "alg": {"const": "A256GCM"},
                   "iv": {"type": "string"}, "ct": {"type": "string"}},
}

HEALTH = {
    "type": "object",
    "required": ["status", "index"],
    "properties": {"status": {"enum": ["ok", "degraded"]}, "index": {"type": "array", "items": {"type": "object"}},
                   "indexerError": {"type": ["string", "null"]}, "contentStore": {"type": ["string", "null"]}},
}

HTML = {"text/html": {"schema": {"type": "string"}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict, description: str) -> dict:
    # The routes take the JSON as text/plain and application/octet-stream too (drag and drop, curl -T).
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


_BODY_REFUSALS = problem_responses(400, 413, 415, 422, s400="Not JSON, or an empty body",
                                   s413="The body (or the batch) is too large",
                                   s415="Not sent as JSON", s422="JSON, but not a bundle (or not an array of them)")

VERIFY = {
    "responses": {200: _json(REPORT, "The report"), **_BODY_REFUSALS},
    "openapi_extra": _body(BUNDLE, "The bundle's JSON"),
}
VERIFY_BATCH = {
    "responses": {200: _json({"type": "array", "items": REPORT}, "The reports, in the order of the bundles"),
                  **_BODY_REFUSALS},
    "openapi_extra": _body({"type": "array", "items": {}, "maxItems": 10_000},
                           "A JSON array of bundles (an element that is not a bundle gets an INVALID report)"),
}
CONTENT = {"responses": {
    200: _json(SHARE, "The encrypted share, cacheable forever (a CID names its bytes)"),
    304: {"description": "Not modified (If-None-Match named this CID)"},
    **problem_responses(400, 404, 502, 503, s400="The CID is malformed", s404="No content with this CID",
                        s502="The content store returned corrupt content",
                        s503="The content store is unavailable")}}
SHARE_PAGE = {"responses": {200: {"description": "The page, which decrypts the share in the browser",
                                  "content": HTML},
                            **problem_responses(400, s400="The CID is malformed")}}
INDEX_PAGE = {"responses": {200: {"description": "The page", "content": HTML}}}
HEALTHZ = {"responses": {200: _json(HEALTH, "The index is fresh"),
                         503: _json(HEALTH, "The index cannot vouch for status now")}}

__all__ = ["VERIFY", "VERIFY_BATCH", "CONTENT", "SHARE_PAGE", "INDEX_PAGE", "HEALTHZ"]
