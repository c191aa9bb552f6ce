"""What the verifier's OpenAPI document says of the W3C VC API routes (``verifier.vc_api``,
docs/protocol.md §13.3): the keyword arguments of the declared routes in ``verifier.app`` (served by
``verifier.vc_api_endpoint`` in front of the framework, like ``POST /verify``).

Every answer is declared by its status: 200 verified, 422 a check failed, 503 (with ``Retry-After``)
nothing failed but a check could not decide — the chain or a status list could not be read — and the
problem+json refusals of malformed requests (400, 413, 415; 414, 429, 431 for every operation).
"""

from __future__ import annotations

from typing import Any

from http_common.openapi_problems import problem_responses
from verifier.openapi_docs import REPORT
from verifier.vc_api import ANSWER_CHECKS, UNDECIDED_CODES

CHECK_ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["check", "code", "message"],
    "additionalProperties": False,
    "properties": {
        "check": {"enum": list(ANSWER_CHECKS), "description": "the check that found it (report: the full verdict)"},
        "code": {
            "type": "string",
            "pattern": "^[A-Z][A-Z0-9_]*$",
            "description": "stable code, e.g. INVALID_SIGNATURE, TERM_UNDEFINED, REVOKED, ANCHOR_NOT_CHECKED",
        },
        "member": {"type": "string", "description": "the member at fault, as a JSON path (credentialStatus[1].id)"},
        "message": {"type": "string"},
    },
}
CHECK_NAMES: dict[str, Any] = {
    "type": "array",
    "items": {"enum": ["format", "proof", "dataModel", "anchor", "issuer", "status", "validity"]},
}
_COMMON: dict[str, Any] = {
    "verified": {"type": "boolean"},
    "checks": {**CHECK_NAMES, "uniqueItems": True, "description": "the checks that ran, in order"},
    "warnings": {"type": "array", "items": CHECK_ENTRY},
    "errors": {"type": "array", "items": CHECK_ENTRY},
}
CREDENTIAL_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["verified", "checks", "warnings", "errors"],
    "additionalProperties": False,
    "properties": _COMMON,
}
VERIFICATION_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["verified", "checks", "warnings", "errors"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "report": {
            **REPORT,
            "description": "the CertLedger report, when the six checks ran (a bundle, or options.anchor)",
        },
        "credentialResults": {
            "type": "array",
            "items": CREDENTIAL_RESULT,
            "description": "presentations: one result per embedded credential, in order",
        },
    },
}
_UNDECIDED_ENTRY: dict[str, Any] = {"type": "object", "properties": {"code": {"enum": sorted(UNDECIDED_CODES)}}}


def _result(verified: bool, undecided: bool = False) -> dict:
    extra = {"verified": {"const": verified}, "errors": {"maxItems": 0} if verified else {"minItems": 1}}
    if undecided:
        extra["errors"] = {"minItems": 1, "items": _UNDECIDED_ENTRY}
    return {"application/json": {"schema": {"allOf": [VERIFICATION_RESULT, {"properties": extra}]}}}


def _answers(what: str) -> dict:
    return {
        200: {"description": f"{what} verified (warnings may say what was not checked)", "content": _result(True)},
        422: {
            "description": "not verified: a check failed (errors say which, and the member at fault)",
            "content": _result(False),
        },
        503: {
            "description": "not decided: nothing failed, but a check could not decide (the chain or a status list "
            "could not be read; errors say which). Send the same request again after Retry-After "
            "seconds.",
            "headers": {
                "Retry-After": {
                    "required": True,
                    "description": "seconds",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            },
            "content": _result(False, undecided=True),
        },
        **problem_responses(
            400,
            413,
            415,
            s400="not JSON, a member missing or unknown, an option of the wrong type, an unknown check",
            s413="the body is too large",
            s415="not sent as JSON",
        ),
    }


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


VERIFY_CREDENTIAL: dict[str, Any] = {
    "summary": "Verify a credential or a bundle (W3C VC API)",
    "description": "A bare credential gets the checks proof (eddsa-jcs-2022, eddsa-rdfc-2022), dataModel, validity "
    "and status (its Bitstring Status Lists), and the warning ANCHOR_NOT_CHECKED; a CertLedger bundle, "
    "or a credential with its bundle's anchor in options.anchor, gets the six checks "
    "(docs/protocol.md §13.3). options.checks chooses among them.",
    "tags": ["vc-api"],
    "openapi_extra": _body(
        {
            "type": "object",
            "required": ["verifiableCredential"],
            "additionalProperties": False,
            "properties": {
                "verifiableCredential": {"type": "object", "description": "a credential, or a CertLedger bundle"},
                "options": {
                    "type": "object",
                    "properties": {
                        "checks": CHECK_NAMES,
                        "anchor": {"type": "object", "description": "the anchor of the credential's bundle"},
                    },
                },
            },
        },
        '{"verifiableCredential": <credential or bundle>, "options": {"checks"?, "anchor"?}}',
    ),
    "responses": _answers("the credential was"),
}
VERIFY_PRESENTATION: dict[str, Any] = {
    "summary": "Verify a presentation and its credentials (W3C VC API)",
    "description": "The presentation's authentication proof (options.challenge required, options.domain when given, "
    "signed by the holder's key) and data model, then each embedded credential as a bare credential "
    "(credentialResults).",
    "tags": ["vc-api"],
    "openapi_extra": _body(
        {
            "type": "object",
            "required": ["verifiablePresentation"],
            "additionalProperties": False,
            "properties": {
                "verifiablePresentation": {"type": "object"},
                "options": {
                    "type": "object",
                    "properties": {
                        "challenge": {"type": "string"},
                        "domain": {"type": "string"},
                        "checks": {"type": "array", "items": {"enum": ["proof", "dataModel", "validity", "status"]}},
                    },
                },
            },
        },
        '{"verifiablePresentation": <presentation>, "options": {"challenge", "domain"?, "checks"?}}',
    ),
    "responses": _answers("the presentation and its credentials were"),
}

__all__ = ["VERIFICATION_RESULT", "VERIFY_CREDENTIAL", "VERIFY_PRESENTATION"]
