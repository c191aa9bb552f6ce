"""What the verifier's OpenAPI document says each route takes and answers.

The routes read their bodies themselves (``POST /verify`` is served in front of the framework), so
the request bodies and every answer, reports and problem+json refusals alike, are declared here.
"""

from __future__ import annotations

from typing import Any

from http_common.openapi_problems import problem_responses
from ledger.verification.messages import MESSAGES
from ledger.verification.report import CHECK_NAMES, Status, Verdict

HEX32: dict[str, Any] = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}  # lower case only (docs/protocol.md 1.3)
CAIP10: dict[str, Any] = {"type": "string", "pattern": "^eip155:[0-9]+:0x[0-9a-fA-F]{40}$"}
AGENCY_IRI: dict[str, Any] = {"type": "string", "pattern": "^urn:certledger:agency:[a-z0-9-]{3,64}$"}
DID_KEY: dict[str, Any] = {"type": "string", "pattern": "^did:key:z"}

# The same documents as issuer_api/schemas.py declares for GET /credentials/{id}/bundle (a test keeps them equal).
STATUS_ENTRY: dict[str, Any] = {
    "type": "object",
    "description": "A W3C Bitstring Status List entry (docs/protocol.md 3.5, 8)",
    "required": ["id", "type", "statusPurpose", "statusListIndex", "statusListCredential"],
    "properties": {
        "id": {"type": "string", "description": "<statusListCredential>#<statusListIndex>"},
        "type": {"const": "BitstringStatusListEntry"},
        "statusPurpose": {"enum": ["revocation", "suspension"]},
        "statusListIndex": {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"},
        "statusListCredential": {
            "type": "string",
            "pattern": "^https?://",
            "description": "<status base URL>/<agency code>/<list id>/<purpose>",
        },
    },
}

CREDENTIAL: dict[str, Any] = {
    "type": "object",
    "description": "The W3C Verifiable Credential 2.0 with its eddsa-jcs-2022 proof (docs/protocol.md 3, 4)",
    "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject", "credentialStatus", "proof"],
    "properties": {
        "@context": {
            "const": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"]
        },
        "id": {"type": "string", "pattern": "^urn:uuid:"},
        "type": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 2,
            "maxItems": 2,
            "description": '["VerifiableCredential", <type name>]',
        },
        "issuer": {
            "type": "object",
            "description": "The signing key's did:key, the display name, and the agency (protocol v2)",
            "required": ["id", "name", "agency"],
            "properties": {"id": DID_KEY, "name": {"type": "string", "minLength": 1}, "agency": AGENCY_IRI},
        },
        "validFrom": {"type": "string"},
        "validUntil": {"type": "string"},
        "credentialSubject": {"type": "object"},
        "credentialStatus": {
            "type": "array",
            "items": STATUS_ENTRY,
            "minItems": 2,
            "maxItems": 2,
            "description": "one revocation and one suspension entry, same list id and index",
        },
        "proof": {
            "type": "object",
            "required": ["type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue"],
            "properties": {
                "type": {"const": "DataIntegrityProof"},
                "cryptosuite": {"const": "eddsa-jcs-2022"},
                "created": {"type": "string"},
                "verificationMethod": {
                    "type": "string",
                    "pattern": "^did:key:z",
                    "description": "<issuer.id>#<multibase key>",
                },
                "proofPurpose": {"const": "assertionMethod"},
                "@context": {"type": "array", "items": {"type": "string"}},
                "proofValue": {"type": "string", "pattern": "^z"},
            },
        },
    },
}

ANCHOR: dict[str, Any] = {
    "type": "object",
    "required": ["ledger", "registry", "digest", "root", "path", "txHash", "blockNumber"],
    "properties": {
        "ledger": CAIP10,
        "registry": CAIP10,
        "digest": HEX32,
        "root": HEX32,
        "path": {"type": "array", "items": HEX32, "maxItems": 64},
        "txHash": HEX32,
        "blockNumber": {"type": "integer", "minimum": 0, "description": "at most 2**64 - 1"},
    },
    "additionalProperties": False,
}

BUNDLE: dict[str, Any] = {
    "type": "object",
    "description": "A CertLedger bundle, protocol version 2 (docs/protocol.md 7): a signed credential and its "
    "anchor. Another version is answered with a report whose format check is UNSUPPORTED_VERSION.",
    "required": ["type", "version", "credential", "anchor"],
    "properties": {
        "type": {"const": "CertLedgerBundle"},
        "version": {"const": 2},
        "credential": CREDENTIAL,
        "anchor": {"anyOf": [{"type": "null"}, ANCHOR]},
    },
    "additionalProperties": False,
}

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

__all__ = ["BUNDLE", "VERIFY", "VERIFY_BATCH", "CONTENT", "SHARE_PAGE", "INDEX_PAGE", "HEALTHZ"]
