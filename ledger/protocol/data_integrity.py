"""Verifying the Data Integrity proofs of any W3C credential or presentation: one entry point over
the two EdDSA cryptosuites (``eddsa-jcs-2022``: ``ledger.protocol.proof``; ``eddsa-rdfc-2022``:
``ledger.protocol.rdfc``), plus what a proof's purpose asks of its verifier.

* A single proof or a **proof set** (an array: each proof signs the document without any proof;
  a proof chain, ``previousProof``, is refused).
* ``expires`` (Data Integrity §2.1), when present, must be a later dateTimeStamp than now.
* ``authentication`` proofs (presentations, VC API §3.5): ``challenge`` must be the one the
  verifier issued, and ``domain`` (a string or an array) must hold the expected domain.

Every failure is a :class:`ledger.protocol.proof.ProofVerificationError` with a stable code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ledger.protocol import proof as jcs
from ledger.protocol import rdfc
from ledger.protocol.datetimes import DateTimeFormatError, parse_xsd_datetime
from ledger.protocol.proof import (
    PROOF_MALFORMED,
    PROOF_MISSING,
    WRONG_CRYPTOSUITE,
    ProofVerificationError,
    VerifiedProof,
)

AUTHENTICATION = "authentication"
CRYPTOSUITES = (jcs.CRYPTOSUITE, rdfc.CRYPTOSUITE)

# Stable codes added here
PROOF_EXPIRED = "PROOF_EXPIRED"
INVALID_EXPIRES = "INVALID_EXPIRES"
CHALLENGE_MISMATCH = "CHALLENGE_MISMATCH"
DOMAIN_MISMATCH = "DOMAIN_MISMATCH"
PROOF_CHAIN_UNSUPPORTED = "PROOF_CHAIN_UNSUPPORTED"


def _verify_one(document: Mapping[str, Any], purpose: str, plain_json: bool = False) -> VerifiedProof:
    suite = document["proof"].get("cryptosuite") if isinstance(document["proof"], Mapping) else None
    if suite == rdfc.CRYPTOSUITE:
        return rdfc.verify_proof_rdfc(document, expected_proof_purpose=purpose)
    if suite == jcs.CRYPTOSUITE:
        return jcs.verify_proof_and_digest(document, expected_proof_purpose=purpose, plain_json=plain_json)[0]
    if isinstance(document["proof"], Mapping) and document["proof"].get("type") != jcs.PROOF_TYPE:
        raise ProofVerificationError(
            jcs.WRONG_PROOF_TYPE, f"proof type {document['proof'].get('type')!r} is not {jcs.PROOF_TYPE}"
        )
    raise ProofVerificationError(WRONG_CRYPTOSUITE, f"cryptosuite {suite!r} is not one of {', '.join(CRYPTOSUITES)}")


def _check_options(proof: Mapping[str, Any], now: datetime, challenge: str | None, domain: str | None) -> None:
    if "expires" in proof:
        try:
            expires = parse_xsd_datetime(proof["expires"])
        except DateTimeFormatError as exc:
            raise ProofVerificationError(INVALID_EXPIRES, f"proof expires: {exc}") from None
        if expires <= now:
            raise ProofVerificationError(PROOF_EXPIRED, f"the proof expired at {proof['expires']}")
    if challenge is not None and proof.get("challenge") != challenge:
        raise ProofVerificationError(CHALLENGE_MISMATCH, "the proof's challenge is not the one this verifier expects")
    if domain is not None:
        given = proof.get("domain")
        domains = given if isinstance(given, list) else [given]
        if domain not in domains:
            raise ProofVerificationError(DOMAIN_MISMATCH, f"the proof's domain is not {domain!r}")


def verify_data_integrity(
    document: object,
    *,
    purpose: str = jcs.ASSERTION_METHOD,
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
    plain_json: bool = False,
) -> list[VerifiedProof]:
    """Verify every proof of ``document`` (one, or a proof set); returns what each established.
    ``plain_json``: the document came from a JSON parser that found it plain
    (``ledger.protocol.strict_json.parse_strict_json_plain``), so eddsa-jcs-2022 may use the C encoder."""
    if not isinstance(document, Mapping):
        raise ProofVerificationError(PROOF_MALFORMED, "the document is not a JSON object")
    if "proof" not in document:
        raise ProofVerificationError(PROOF_MISSING, "the document has no proof")
    now = now or datetime.now(UTC)
    proofs = document["proof"]
    if not isinstance(proofs, list):
        proofs = [proofs]
    if not proofs:
        raise ProofVerificationError(PROOF_MISSING, "the document's proof set is empty")
    verified = []
    for proof in proofs:
        if not isinstance(proof, Mapping):
            raise ProofVerificationError(PROOF_MALFORMED, "a proof is not a JSON object")
        if "previousProof" in proof:
            raise ProofVerificationError(PROOF_CHAIN_UNSUPPORTED, "proof chains (previousProof) are not supported")
        single = document if len(proofs) == 1 and document["proof"] is proof else {**document, "proof": proof}
        result = _verify_one(single, purpose, plain_json)
        _check_options(proof, now, challenge, domain)
        verified.append(result)
    return verified


def controller_of(verification_method: str) -> str:
    """The DID (or URL) a verification method belongs to: its text before ``#``."""
    return verification_method.split("#", 1)[0]


__all__ = [
    "AUTHENTICATION",
    "CHALLENGE_MISMATCH",
    "CRYPTOSUITES",
    "DOMAIN_MISMATCH",
    "PROOF_EXPIRED",
    "controller_of",
    "verify_data_integrity",
]
