"""What the verifier's OpenAPI document will say of the W3C VC API routes (``verifier.vc_api``).

Not wired yet: ``POST /credentials/verify`` and ``POST /presentations/verify`` are served in front
of the framework (``verifier.vc_api_endpoint``) and are not routes of the FastAPI app. Wiring them
into the shared document (``verifier.openapi_docs``) — declared routes with these keyword
arguments, in the authorisation matrix and the schemathesis run — is the next step of issue 19.
"""
from __future__ import annotations

from ledger.openapi_problems import problem_responses

CHECK_ENTRY = {
    "type": "object",
    "required": ["check", "code", "message"],
    "properties": {
        "check": {"type": "string", "description": "the check that found it"},
        "code": {"type": "string", "description": "stable code, e.g. INVALID_SIGNATURE, TERM_UNDEFINED, REVOKED"},
        "member": {"type": "string", "description": "the member at fault, as a JSON path (credentialStatus[1].id)"},
        "message": {"type": "string"},
    },
}
VERIFICATION_RESULT = {
    "type": "object",
    "required": ["verified", "checks", "warnings", "errors"],
    "properties": {
        "verified": {"type": "boolean"},
        "checks": {"type": "array", "items": {"type": "string"}, "description": "the checks that ran"},
        "warnings": {"type": "array", "items": CHECK_ENTRY},
        "errors": {"type": "array", "items": CHECK_ENTRY},
        "report": {"type": "object", "description": "the CertLedger report, when the six checks ran"},
        "credentialResults": {"type": "array", "description": "presentations: one result per credential"},
    },
}
CHECKS = {"type": "array", "items": {"enum": ["format", "proof", "dataModel", "anchor", "issuer", "status",
                                              "validity"]}}


def _answers(what: str) -> dict:
    result = {"application/json": {"schema": VERIFICATION_RESULT}}
    return {200: {"description": f"{what} verified", "content": result},
            422: {"description": "a check failed (errors say which, and the member at fault)", "content": result},
            503: {"description": "a check could not decide (a chain or status list unreachable); Retry-After",
                  "content": result},
            **problem_responses(400, 405, 413, 415, s400="not JSON, a member missing, an unknown check or option")}


VERIFY_CREDENTIAL = {
    "summary": "Verify a credential or a bundle (W3C VC API)",
    "tags": ["vc-api"],
    "openapi_extra": {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["verifiableCredential"], "additionalProperties": False,
        "properties": {"verifiableCredential": {"type": "object", "description": "a credential, or a CertLedger bundle"},
                       "options": {"type": "object", "properties": {
                           "checks": CHECKS,
                           "anchor": {"type": "object", "description": "the anchor of the credential's bundle"}}}}}}}}},
    "responses": _answers("the credential was"),
}
VERIFY_PRESENTATION = {
    "summary": "Verify a presentation and its credentials (W3C VC API)",
    "tags": ["vc-api"],
    "openapi_extra": {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["verifiablePresentation"], "additionalProperties": False,
        "properties": {"verifiablePresentation": {"type": "object"},
                       "options": {"type": "object", "properties": {
                           "challenge": {"type": "string"}, "domain": {"type": "string"},
                           "checks": {"type": "array", "items": {"enum": ["proof", "dataModel", "validity",
                                                                          "status"]}}}}}}}}}},
    "responses": _answers("the presentation and its credentials were"),
}

__all__ = ["VERIFICATION_RESULT", "VERIFY_CREDENTIAL", "VERIFY_PRESENTATION"]
