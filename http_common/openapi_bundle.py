"""The CertLedger bundle, protocol version 2, as both OpenAPI documents declare it: what the
verifier's ``POST /verify`` takes and what the issuer API's ``GET /credentials/{id}/bundle``
answers (docs/protocol.md 7; the credential: 3, 4). One definition, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

HEX32: dict[str, Any] = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}  # lower case only (docs/protocol.md 1.3)
CAIP10: dict[str, Any] = {"type": "string", "pattern": "^eip155:[0-9]+:0x[0-9a-fA-F]{40}$"}
AGENCY_IRI: dict[str, Any] = {"type": "string", "pattern": "^urn:certledger:agency:[a-z0-9-]{3,64}$"}
DID_KEY: dict[str, Any] = {"type": "string", "pattern": "^did:key:z"}

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


__all__ = ["HEX32", "CAIP10", "AGENCY_IRI", "DID_KEY", "STATUS_ENTRY", "CREDENTIAL", "ANCHOR", "BUNDLE"]
