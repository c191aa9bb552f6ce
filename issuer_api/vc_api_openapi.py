"""What the issuer's OpenAPI document will say of ``POST /credentials/issue`` (the W3C VC API).

Not wired yet: the route is declared with ``include_in_schema=False`` (``issuer_api.routes.vc_api``).
Wiring it into the shared document (these keyword arguments on the route, its schemas in
``issuer_api.schemas``), the authorisation matrix and the schemathesis run is the next step of
issue 19.
"""
from __future__ import annotations

from ledger.openapi_problems import problem_responses

ISSUE = {
    "summary": "Issue a W3C credential (VC API): the agency signs it with its current key",
    "tags": ["vc-api"],
    "description": "A credential whose only type besides VerifiableCredential is a CertLedger type the agency may "
                   "issue is issued as that type (its JSON Schema applies); any other is a GenericCredential, which "
                   "governance must have permitted (docs/protocol.md §3.8). Refusals name the member at fault.",
    "openapi_extra": {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["credential"], "additionalProperties": False,
        "properties": {"credential": {"type": "object", "description": "an unsecured VC 2.0 credential"},
                       "options": {"type": "object", "maxProperties": 0}}}}}}},
    "responses": {
        201: {"description": "issued (pending anchoring); Location: /credentials/<record id>",
              "content": {"application/json": {"schema": {"type": "object", "required": ["verifiableCredential"],
                                                          "properties": {"verifiableCredential": {"type": "object"}}}}}},
        200: {"description": "an idempotent retry"},
        **problem_responses(400, 401, 403, 409, 413, 422, 503, s403="a key without the issue scope, or a type the agency "
                            "may not issue", s409="Idempotency-Key reused, or the urn:uuid id already issued",
                            s422="the credential does not conform: code and errors[].member say where"),
    },
}

__all__ = ["ISSUE"]
