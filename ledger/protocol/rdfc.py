"""W3C Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite: verification (and, for the
tests, creation).

Implements W3C "Data Integrity EdDSA Cryptosuites v1.0" (Recommendation, 2025-05-15) §3.2 step by
step, beside ``ledger.protocol.proof`` (``eddsa-jcs-2022``), which stays the one JCS implementation:

* verify (§3.2.2): ``unsecuredDocument`` is the document without ``proof``; ``proofOptions`` the
  proof without ``proofValue``; when the options carry an ``@context``, the document's
  ``@context`` must start with it, and it replaces the document's;
* transformation (§3.2.3): RDF Dataset Canonicalization (RDFC-1.0, pyld's URDNA2015
  implementation) of the unsecured document, as canonical N-Quads;
* proof configuration (§3.2.5): the options with the unsecured document's ``@context``,
  canonicalised the same way (``created``, when present, must be a ``dateTimeStamp``);
* hashing (§3.2.4): ``SHA-256(canonical proof configuration) || SHA-256(canonical document)``;
* Ed25519 over those 64 bytes under the ``did:key`` of the verification method.

JSON-LD runs on the contexts CertLedger bundles only (``ledger.protocol.jsonld_contexts``) and in "safe
mode": a property no context defines would be left out of the canonical form, so it would be
unsigned; such a document is refused (``NOT_CANONICALIZABLE``) rather than verified without it.
Errors are :class:`ledger.protocol.proof.ProofVerificationError` with the same stable codes as
``eddsa-jcs-2022``.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from ledger.protocol import did_key
from ledger.protocol.datetimes import format_utc
from ledger.protocol.jsonld_contexts import ContextNotBundled
from ledger.protocol.keys import PublicKey, SigningKey
from ledger.protocol.proof import (
    ASSERTION_METHOD,
    CONTEXT_MISMATCH,
    INVALID_SIGNATURE,
    NOT_CANONICALIZABLE,
    PROOF_MALFORMED,
    PROOF_MISSING,
    PROOF_SET_UNSUPPORTED,
    PROOF_TYPE,
    ProofError,
    ProofVerificationError,
    VerifiedProof,
    check_proof_options,
)

CRYPTOSUITE = "eddsa-rdfc-2022"


class _Dropped(Exception):
    def __init__(self, term: object) -> None:
        super().__init__(term)
        self.term = term


def _raise_dropped(term: object) -> None:
    raise _Dropped(term)


def canonicalize_rdfc(document: Mapping[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (bundled contexts, safe mode).

    Raises :class:`ProofVerificationError` (``NOT_CANONICALIZABLE``) when the document cannot be
    expanded on the bundled contexts, or when JSON-LD would drop one of its properties."""
    from pyld import jsonld

    from ledger.protocol.data_model import jsonld_options, processor

    options = {**jsonld_options(), "algorithm": "URDNA2015", "format": "application/n-quads"}
    try:
        normalized: str = processor(_raise_dropped).normalize(copy.deepcopy(dict(document)), options)
        return normalized
    except _Dropped as exc:
        raise ProofVerificationError(
            NOT_CANONICALIZABLE,
            f"the term {exc.term!r} is not defined by the document's contexts: it would not be signed",
        ) from None
    except jsonld.JsonLdError as exc:
        cause = _root(exc)
        if isinstance(cause, _Dropped):
            raise ProofVerificationError(
                NOT_CANONICALIZABLE,
                f"the term {cause.term!r} is not defined by the document's contexts: it would not be signed",
            ) from None
        if isinstance(cause, ContextNotBundled):
            raise ProofVerificationError(NOT_CANONICALIZABLE, str(cause)) from None
        message = cause.args[0] if cause.args and isinstance(cause.args[0], str) else str(cause)
        raise ProofVerificationError(NOT_CANONICALIZABLE, f"JSON-LD: {message}"[:300]) from None
    except ContextNotBundled as exc:
        raise ProofVerificationError(NOT_CANONICALIZABLE, str(exc)) from None
    except (RecursionError, KeyError, TypeError, ValueError) as exc:
        raise ProofVerificationError(NOT_CANONICALIZABLE, f"JSON-LD: {type(exc).__name__}: {exc}"[:300]) from None


def _root(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            return exc
        if isinstance(nxt, (_Dropped, ContextNotBundled)):
            return nxt
        exc = nxt
    return exc


def hash_data(canonical_document: str, canonical_proof_config: str) -> bytes:
    """§3.2.4: ``SHA-256(proof config) || SHA-256(document)``, each over the UTF-8 N-Quads."""
    return (
        hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
        + hashlib.sha256(canonical_document.encode("utf-8")).digest()
    )


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def verify_proof_rdfc(
    secured_document: Mapping[str, Any],
    *,
    public_key: PublicKey | None = None,
    expected_proof_purpose: str = ASSERTION_METHOD,
) -> VerifiedProof:
    """§3.2.2 Verify Proof for ``eddsa-rdfc-2022``: :class:`ledger.protocol.proof.VerifiedProof`, or
    :class:`ProofVerificationError` with a stable code."""
    if not isinstance(secured_document, Mapping):
        raise ProofVerificationError(PROOF_MALFORMED, "the document is not a JSON object")
    if "proof" not in secured_document:
        raise ProofVerificationError(PROOF_MISSING, "the document has no proof")
    proof = secured_document["proof"]
    if isinstance(proof, list):
        raise ProofVerificationError(PROOF_SET_UNSUPPORTED, "verify the proofs of a proof set one by one")
    if not isinstance(proof, Mapping):
        raise ProofVerificationError(PROOF_MALFORMED, "proof is not a JSON object")
    purpose, created, vm, key, signature = check_proof_options(proof, CRYPTOSUITE, expected_proof_purpose, public_key)

    # §3.2.2 steps 1-4
    unsecured = {k: v for k, v in secured_document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options:
        own = _as_list(secured_document["@context"]) if "@context" in secured_document else []
        signed = _as_list(options["@context"])
        if own[: len(signed)] != signed:
            raise ProofVerificationError(
                CONTEXT_MISMATCH, "the document's @context does not start with the proof's @context"
            )
        unsecured["@context"] = options["@context"]
    # §3.2.3 transformation, §3.2.5 proof configuration (the options in the document's context)
    canonical_document = canonicalize_rdfc(unsecured)
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    canonical_config = canonicalize_rdfc(config)
    # §3.2.4 hashing, then the signature
    try:
        key.verify(signature, hash_data(canonical_document, canonical_config))
    except InvalidSignature:
        raise ProofVerificationError(
            INVALID_SIGNATURE,
            "the signature does not match the document: it was altered after signing or signed by another key",
        ) from None
    return VerifiedProof(key, vm, purpose, created, unsecured)


def create_proof_rdfc(
    unsecured_document: Mapping[str, Any],
    signing_key: SigningKey,
    *,
    created: datetime | str,
    proof_purpose: str = ASSERTION_METHOD,
    verification_method: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """§3.2.1 Create Proof (``extra``: more proof options, e.g. ``challenge``, ``domain``)."""
    if "proof" in unsecured_document:
        raise ProofError("the document already has a proof")
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_utc(created) if isinstance(created, datetime) else created,
        "verificationMethod": verification_method or signing_key.public_key.verification_method,
        "proofPurpose": proof_purpose,
        **extra,
    }
    config = dict(options)
    if "@context" in unsecured_document:
        config["@context"] = unsecured_document["@context"]
    try:
        data = hash_data(canonicalize_rdfc(unsecured_document), canonicalize_rdfc(config))
    except ProofVerificationError as exc:
        raise ProofError(exc.reason) from None
    return {**options, "proofValue": did_key.b58btc_encode(signing_key.sign(data))}


__all__ = ["CRYPTOSUITE", "canonicalize_rdfc", "create_proof_rdfc", "hash_data", "verify_proof_rdfc"]
