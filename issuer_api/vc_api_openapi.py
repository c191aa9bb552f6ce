"""What the issuer's OpenAPI document says of ``POST /credentials/issue`` (the W3C VC API,
docs/protocol.md §13.2): the keyword arguments of the route (``issuer_api.routes.vc_api``); the
credential it answers with is ``issuer_api.schemas.W3C_CREDENTIAL_SCHEMA``.
"""

from __future__ import annotations

from typing import Any

from http_common.openapi_problems import problem_responses
from issuer_api.schemas import W3C_ISSUED_SCHEMA

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
# A DegreeCertificate as POST /credentials/issue takes it (issued through the type's JSON Schema; its subject's
# terms defined by the undefined-terms context); the schema-driven tests send it as the request's example.
EXAMPLE: dict[str, Any] = {
    "credential": {
        "@context": [V2, UNDEFINED_TERMS],
        "type": ["VerifiableCredential", "DegreeCertificate"],
        "credentialSubject": {
            "name": "王伟 (Wang Wei)",
            "idNumber": "330106199001011234",
            "degree": "工学学士 Bachelor of Engineering",
            "major": "计算机科学与技术",
            "institution": "浙江大学",
            "graduationDate": "2024-06-30",
        },
    }
}
_LOCATION: dict[str, Any] = {
    "Location": {
        "required": True,
        "description": "/credentials/<record id>: the record (its bundle at …/bundle once anchored)",
        "schema": {"type": "string", "pattern": "^/credentials/urn:uuid:"},
    }
}
_ISSUED: dict[str, Any] = {"application/json": {"schema": W3C_ISSUED_SCHEMA}}

ISSUE: dict[str, Any] = {
    "summary": "Issue a W3C credential (VC API): the agency signs it with its current key",
    "description": "A credential whose only type besides VerifiableCredential is a CertLedger type the agency may "
    "issue is issued as that type (its JSON Schema applies); any other is a GenericCredential, which "
    "governance must have permitted (docs/protocol.md §3.8, §13.2). Refusals name the member at "
    "fault (`code`, `errors[].member`).",
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["credential"],
                        "additionalProperties": False,
                        "properties": {
                            "credential": {"type": "object", "description": "an unsecured VC 2.0 credential"},
                            "options": {
                                "type": "object",
                                "maxProperties": 0,
                                "description": "no issue option is supported yet",
                            },
                        },
                    },
                    "example": EXAMPLE,
                }
            },
        }
    },
    "responses": {
        201: {"description": "issued (pending anchoring)", "headers": _LOCATION, "content": _ISSUED},
        200: {
            "description": "an idempotent retry (the same Idempotency-Key and body): the credential issued first",
            "headers": _LOCATION,
            "content": _ISSUED,
        },
        **problem_responses(
            400,
            401,
            403,
            409,
            413,
            422,
            503,
            s400="not JSON, not an object, a member other than credential and options, an option",
            s403="a key without the issue scope, or a type the agency may not issue",
            s409="Idempotency-Key reused for another request, or the urn:uuid id already issued",
            s422="the credential does not conform: code and errors[].member say where",
            s503="the database or the chain is not reachable now (Retry-After)",
        ),
    },
}

__all__ = ["EXAMPLE", "ISSUE"]
