"""What the verifier's OpenAPI document says each route takes and answers.

The routes read their bodies themselves (``POST /verify`` is served in front of the framework), so
the request bodies and every answer, reports and problem+json refusals alike, are declared here.
"""

from __future__ import annotations

from typing import Any

from http_common.openapi_bundle import BUNDLE, DID_KEY
from http_common.openapi_problems import problem_responses
from ledger.verification.messages import MESSAGES
from ledger.verification.report import CHECK_NAMES, Status, Verdict

CHECK: dict[str, Any] = {
    "type": "object",
    "required": ["name", "status", "code", "message", "messages"],
    "properties": {
        "name": {"enum": list(CHECK_NAMES)},
        "status": {"enum": [s.value for s in Status]},
        "code": {"enum": sorted(MESSAGES), "description": "stable (docs/protocol.md 10.7)"},
        "message": {"type": "string"},
        "messages": {
            "type": "object",
            "required": ["en", "zh-CN"],
            "properties": {"en": {"type": "string"}, "zh-CN": {"type": "string"}},
        },
    },
}

REPORT_CREDENTIAL: dict[str, Any] = {
    "description": "{} when the format check did not pass; otherwise the credential as the report names it: "
    "the issuer's did:key and display name as the credential says, the agency by its code and its "
    "on-chain name (null until the issuer check read it), the anchor time (null when not anchored)",
    "anyOf": [
        {"type": "object", "maxProperties": 0},
        {
            "type": "object",
            "required": ["id", "type", "issuer", "anchoredAt"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string"},
                "type": {"type": "string"},
                "issuer": {
                    "type": "object",
                    "required": ["id", "name", "agency"],
                    "additionalProperties": False,
                    "properties": {
                        "id": DID_KEY,
                        "name": {"type": "string"},
                        "agency": {
                            "type": "object",
                            "required": ["code", "name"],
                            "additionalProperties": False,
                            "properties": {
                                "code": {"type": "string", "pattern": "^[a-z0-9-]{3,64}$"},
                                "name": {"type": ["string", "null"]},
                            },
                        },
                    },
                },
                "anchoredAt": {"type": ["string", "null"]},
            },
        },
    ],
}

REPORT: dict[str, Any] = {
    "type": "object",
    "description": "The verdict and each check; 200 whatever the verdict (INVALID is an answer, not an error).",
    "required": ["verdict", "checks", "credential"],
    "properties": {
        "verdict": {"enum": [v.value for v in Verdict]},
        "checks": {"type": "array", "items": CHECK, "minItems": 6, "maxItems": 6},
        "credential": REPORT_CREDENTIAL,
    },
}

SHARE: dict[str, Any] = {
    "type": "object",
    "description": "An encrypted share (AES-256-GCM); the key travels only in the link's fragment.",
    "required": ["v", "alg", "iv", "ct"],
    "properties": {"v": {"const": 1}, "alg": {"const": "A256GCM"}, "iv": {"type": "string"}, "ct": {"type": "string"}},
}

HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status", "index"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "index": {"type": "array", "items": {"type": "object"}},
        "indexerError": {"type": ["string", "null"]},
        "contentStore": {"type": ["string", "null"]},
    },
}

HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    # The routes take the JSON as text/plain and application/octet-stream too (drag and drop, curl -T).
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


_BODY_REFUSALS = problem_responses(
    400,
    413,
    415,
    422,
    s400="Not JSON, or an empty body",
    s413="The body (or the batch) is too large",
    s415="Not sent as JSON",
    s422="JSON, but not a bundle (or not an array of them)",
)

VERIFY: dict[str, Any] = {
    "responses": {200: _json(REPORT, "The report"), **_BODY_REFUSALS},
    "openapi_extra": _body(BUNDLE, "The bundle's JSON"),
}
VERIFY_BATCH: dict[str, Any] = {
    "responses": {
        200: _json({"type": "array", "items": REPORT}, "The reports, in the order of the bundles"),
        **_BODY_REFUSALS,
    },
    "openapi_extra": _body(
        {"type": "array", "items": {}, "maxItems": 10_000},
        "A JSON array of bundles (an element that is not a bundle gets an INVALID report)",
    ),
}
CONTENT: dict[str, Any] = {
    "responses": {
        200: _json(SHARE, "The encrypted share, cacheable forever (a CID names its bytes)"),
        304: {"description": "Not modified (If-None-Match named this CID)"},
        **problem_responses(
            400,
            404,
            502,
            503,
            s400="The CID is malformed",
            s404="No content with this CID",
            s502="The content store returned corrupt content",
            s503="The content store is unavailable",
        ),
    }
}
SHARE_PAGE: dict[str, Any] = {
    "responses": {
        200: {"description": "The page, which decrypts the share in the browser", "content": HTML},
        **problem_responses(400, s400="The CID is malformed"),
    }
}
INDEX_PAGE: dict[str, Any] = {"responses": {200: {"description": "The page", "content": HTML}}}
HEALTHZ: dict[str, Any] = {
    "responses": {200: _json(HEALTH, "The index is fresh"), 503: _json(HEALTH, "The index cannot vouch for status now")}
}

METRICS: dict[str, Any] = {
    "summary": "Prometheus metrics",
    "description": "Verdicts, request latency and reachability in the Prometheus text format "
    "(docs/operations.md, Monitoring). Public like every route here: no label names a credential or a person.",
    "responses": {200: {"description": "The Prometheus text format, version 0.0.4"}},
}

__all__ = ["BUNDLE", "VERIFY", "VERIFY_BATCH", "CONTENT", "SHARE_PAGE", "INDEX_PAGE", "HEALTHZ", "METRICS"]
