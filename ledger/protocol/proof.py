"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite.

Implements W3C "Data Integrity EdDSA Cryptosuites v1.0" (Recommendation,
2025-05-15) §3.3, step by step:

* proof configuration (§3.3.5): the proof options without ``proofValue``, with
  the document's ``@context`` copied in (§3.3.1 step 2), canonicalised (JCS);
* transformation (§3.3.3): JCS of the document without its proof;
* hashing (§3.3.4): ``hashData = SHA-256(config) || SHA-256(document)``;
* Ed25519 over ``hashData``; ``proofValue`` = multibase base58btc signature.

Verification (§3.3.2) rebuilds the same bytes and, when the proof carries an
``@context``, requires the document's ``@context`` to start with it and
substitutes it, exactly as the specification says. Every failure raises
:class:`ProofVerificationError` with a stable ``code`` and a sentence saying
what is wrong, so a verifier can report the reason rather than "invalid".
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature

from ledger.protocol import did_key
from ledger.protocol.canonical import CanonicalizationError, canonicalize, text_bytes
from ledger.protocol.canonical_plain import plain_object_text, plain_object_text_sharing, shared_member_text
from ledger.protocol.datetimes import DateTimeFormatError, format_utc, parse_xsd_datetime
from ledger.protocol.keys import PublicKey, SigningKey, WeakKeyError

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ASSERTION_METHOD = "assertionMethod"

# Stable codes carried by ProofVerificationError.code
PROOF_MISSING = "PROOF_MISSING"
PROOF_SET_UNSUPPORTED = "PROOF_SET_UNSUPPORTED"
PROOF_MALFORMED = "PROOF_MALFORMED"
WRONG_PROOF_TYPE = "WRONG_PROOF_TYPE"
WRONG_CRYPTOSUITE = "WRONG_CRYPTOSUITE"
WRONG_PROOF_PURPOSE = "WRONG_PROOF_PURPOSE"
INVALID_CREATED = "INVALID_CREATED"
INVALID_VERIFICATION_METHOD = "INVALID_VERIFICATION_METHOD"
KEY_MISMATCH = "KEY_MISMATCH"
WEAK_KEY = "WEAK_KEY"
INVALID_PROOF_VALUE = "INVALID_PROOF_VALUE"
CONTEXT_MISMATCH = "CONTEXT_MISMATCH"
NOT_CANONICALIZABLE = "NOT_CANONICALIZABLE"
INVALID_SIGNATURE = "INVALID_SIGNATURE"


class ProofError(ValueError):
    """A proof that cannot be created (W3C error type PROOF_GENERATION_ERROR)."""


class ProofVerificationError(ValueError):
    """A proof that does not verify; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class VerifiedProof:
    """What a successful verification established."""

    public_key: PublicKey
    verification_method: str
    proof_purpose: str
    created: datetime | None
    document: dict[str, Any]  # the verified (unsecured) document, per §3.3.2


# ------------------------------------------------------------ spec algorithms


def transform(unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """§3.3.3 Transformation: JCS of the unsecured document."""
    if options.get("type") != PROOF_TYPE or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"transformation requires type {PROOF_TYPE} and cryptosuite {CRYPTOSUITE}")
    return canonicalize(unsecured_document)


def proof_configuration(options: Mapping[str, Any]) -> bytes:
    """§3.3.5 Proof Configuration: JCS of the proof options (no ``proofValue``)."""
    if options.get("type") != PROOF_TYPE or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"proof options must have type {PROOF_TYPE} and cryptosuite {CRYPTOSUITE}")
    if "created" in options:
        try:
            parse_xsd_datetime(options["created"])
        except DateTimeFormatError as exc:
            raise ProofError(f"proof created: {exc}") from None
    return canonicalize(dict(options))


def hash_data(transformed_document: bytes, canonical_proof_config: bytes) -> bytes:
    """§3.3.4 Hashing: ``SHA-256(proof config) || SHA-256(document)`` (64 bytes)."""
    return hashlib.sha256(canonical_proof_config).digest() + hashlib.sha256(transformed_document).digest()


# ------------------------------------------------------------------- create


def create_proof(
    unsecured_document: Mapping[str, Any],
    signing_key: SigningKey,
    *,
    created: datetime | str,
    verification_method: str | None = None,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """§3.3.1 Create Proof: the ``proof`` object for ``unsecured_document``.

    ``verification_method`` defaults to the key's ``did:key:<mb>#<mb>``.
    ``created`` as a datetime is written ``YYYY-MM-DDTHH:MM:SSZ``.
    """
    if "proof" in unsecured_document:
        raise ProofError("document already has a proof; CertLedger credentials carry exactly one")
    created_str = format_utc(created) if isinstance(created, datetime) else created
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created_str,
        "verificationMethod": verification_method or signing_key.public_key.verification_method,
        "proofPurpose": proof_purpose,
    }
    proof = dict(options)
    if "@context" in unsecured_document:
        proof["@context"] = copy.deepcopy(unsecured_document["@context"])  # no aliasing
    try:
        config = proof_configuration(proof)
        data = hash_data(transform(unsecured_document, options), config)
    except CanonicalizationError as exc:
        raise ProofError(f"document cannot be canonicalised (RFC 8785): {exc}") from None
    proof["proofValue"] = did_key.b58btc_encode(signing_key.sign(data))
    return proof


def add_proof(unsecured_document: Mapping[str, Any], signing_key: SigningKey, **options: Any) -> dict[str, Any]:
    """A copy of the document with its ``proof`` (see :func:`create_proof`)."""
    proof = create_proof(unsecured_document, signing_key, **options)
    return {**unsecured_document, "proof": proof}


# ------------------------------------------------------------------- verify


def _fail(code: str, reason: str) -> ProofVerificationError:
    return ProofVerificationError(code, reason)


_ABSENT = object()


def _as_list(ctx: object) -> list[Any]:
    return list(ctx) if isinstance(ctx, list) else [ctx]


def _same_json(a: object, b: object) -> bool:
    """Equal as JSON values: Python's ``==`` also equates ``true`` with ``1``; JSON does not."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_json, a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return type(a) is type(b) and a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


class ProofOptions(NamedTuple):
    """What :func:`check_proof_options` read from a proof."""

    purpose: str
    created: datetime | None
    verification_method: str
    key: PublicKey
    signature: bytes


def check_proof_options(
    proof: Mapping[str, Any], cryptosuite: str, expected_proof_purpose: str, public_key: PublicKey | None
) -> ProofOptions:
    """The checks of a proof's options both EdDSA cryptosuites make (§3.2.2 and §3.3.2, before the
    transformation): type, ``cryptosuite``, purpose, ``created``, the key of the verification
    method (a did:key, or ``public_key`` resolved by the caller; with a did:key the two must be the
    same key), and a ``proofValue`` that decodes to a 64-byte signature."""
    if proof.get("type") != PROOF_TYPE:
        raise _fail(WRONG_PROOF_TYPE, f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != cryptosuite:
        raise _fail(
            WRONG_CRYPTOSUITE,
            f"cryptosuite is {proof.get('cryptosuite')!r}, expected {cryptosuite!r}",
        )
    purpose = proof.get("proofPurpose")
    if purpose != expected_proof_purpose:
        raise _fail(
            WRONG_PROOF_PURPOSE,
            f"proofPurpose is {purpose!r}, expected {expected_proof_purpose!r}",
        )
    created = None
    if "created" in proof:
        try:
            created = parse_xsd_datetime(proof["created"])
        except DateTimeFormatError as exc:
            raise _fail(INVALID_CREATED, f"proof created: {exc}") from None

    vm = proof.get("verificationMethod")
    if not isinstance(vm, str):
        raise _fail(INVALID_VERIFICATION_METHOD, "verificationMethod is missing or not a string")
    if vm.startswith(did_key.DID_KEY_PREFIX):
        try:
            key = PublicKey.from_verification_method(vm)
        except WeakKeyError as exc:
            raise _fail(WEAK_KEY, f"verificationMethod {vm!r}: {exc}") from None
        except (did_key.DidKeyError, ValueError) as exc:
            raise _fail(INVALID_VERIFICATION_METHOD, f"verificationMethod {vm!r}: {exc}") from None
        if public_key is not None and public_key != key:
            raise _fail(KEY_MISMATCH, "the verificationMethod names a different key than expected")
    elif public_key is not None:
        key = public_key
    else:
        raise _fail(
            INVALID_VERIFICATION_METHOD,
            f"verificationMethod {vm!r} is not a did:key and no key was resolved for it",
        )

    pv = proof.get("proofValue")
    if not isinstance(pv, str):
        raise _fail(INVALID_PROOF_VALUE, "proofValue is missing or not a string")
    try:
        signature = did_key.b58btc_decode(pv)
    except did_key.DidKeyError as exc:
        raise _fail(INVALID_PROOF_VALUE, f"proofValue: {exc}") from None
    if len(signature) != 64:
        raise _fail(
            INVALID_PROOF_VALUE, f"proofValue decodes to {len(signature)} bytes, not a 64-byte Ed25519 signature"
        )
    return ProofOptions(purpose, created, vm, key, signature)


def verify_proof(
    secured_document: Mapping[str, Any],
    *,
    public_key: PublicKey | None = None,
    expected_proof_purpose: str = ASSERTION_METHOD,
) -> VerifiedProof:
    """§3.3.2 Verify Proof. Returns :class:`VerifiedProof` or raises
    :class:`ProofVerificationError`.

    The key comes from the ``did:key`` verification method. ``public_key`` is
    for keys resolved by the caller (another DID method or URL); with a did:key
    method it must be the same key.
    """
    return _verify(secured_document, public_key, expected_proof_purpose, False)[0]


def verify_proof_and_digest(
    secured_document: Mapping[str, Any],
    *,
    public_key: PublicKey | None = None,
    expected_proof_purpose: str = ASSERTION_METHOD,
    plain_json: bool = False,
) -> tuple[VerifiedProof, bytes | None]:
    """:func:`verify_proof`, and the credential digest (``ledger.protocol.digest.credential_digest``).
    ``plain_json``: the document comes straight from a JSON parser that found it plain
    (``ledger.protocol.bundle.parse_bundle_plain``), so the C encoder writes its canonical texts
    (``ledger.protocol.canonical_plain``) and the digest comes with them; otherwise the digest is
    None and the caller computes it."""
    return _verify(secured_document, public_key, expected_proof_purpose, plain_json)


def _verify(
    secured_document: Mapping[str, Any],
    public_key: PublicKey | None,
    expected_proof_purpose: str,
    plain_json: bool,
) -> tuple[VerifiedProof, bytes | None]:
    if type(secured_document) is not dict and not isinstance(secured_document, Mapping):
        raise _fail(PROOF_MALFORMED, "the document is not a JSON object")
    if "proof" not in secured_document:
        raise _fail(PROOF_MISSING, "the document has no proof")
    proof = secured_document["proof"]
    if isinstance(proof, list):
        raise _fail(PROOF_SET_UNSUPPORTED, "a proof set is not accepted; exactly one proof is required")
    if type(proof) is not dict and not isinstance(proof, Mapping):
        raise _fail(PROOF_MALFORMED, "proof is not a JSON object")
    purpose, created, vm, key, signature = check_proof_options(proof, CRYPTOSUITE, expected_proof_purpose, public_key)

    unsecured = {k: v for k, v in secured_document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options:
        own, signed = secured_document.get("@context", _ABSENT), options["@context"]
        if not (own is signed or (type(own) is list and type(signed) is list and _same_json(own, signed))):
            doc_ctx = _as_list(own) if own is not _ABSENT else []
            proof_ctx = _as_list(signed)
            if len(doc_ctx) < len(proof_ctx) or not all(map(_same_json, doc_ctx, proof_ctx)):
                raise _fail(
                    CONTEXT_MISMATCH,
                    "the document's @context does not start with the proof's @context",
                )
        unsecured["@context"] = signed
    # §3.3.3-3.3.4, as transform(unsecured) then proof_configuration(options) would do them. Plain
    # parsed JSON: each text, and the credential's for its digest, by the C encoder in one call
    # (ledger.protocol.canonical.plain_object_text); anything else by the exact serialiser.
    plain = plain_json and type(secured_document) is dict and type(proof) is dict
    layout = _layout_text(secured_document) if plain else None
    try:
        document_text = _document_text(unsecured, layout) if plain else None
        options_text = plain_object_text(options) if plain else None
        document_bytes = canonicalize(unsecured) if document_text is None else text_bytes(document_text)
        options_bytes = canonicalize(options) if options_text is None else text_bytes(options_text)
    except CanonicalizationError as exc:
        raise _fail(NOT_CANONICALIZABLE, f"cannot canonicalise (RFC 8785): {exc}") from None
    try:
        key.verify(signature, hash_data(document_bytes, options_bytes))
    except InvalidSignature:
        raise _fail(
            INVALID_SIGNATURE,
            "the signature does not match the document: it was altered after signing or signed by another key",
        ) from None
    verified = VerifiedProof(key, vm, purpose, created, unsecured)
    return verified, _plain_digest(secured_document, layout) if plain else None


_RENDER_METHOD = "renderMethod"


def _layout_text(document: Mapping[str, Any]) -> str | None:
    """The text of the display layout a type's credentials all carry (docs/protocol.md §14), written
    once per type (ledger.protocol.canonical_plain.shared_member_text); None without one."""
    value = document.get(_RENDER_METHOD)
    return shared_member_text(value) if type(value) is list else None


def _document_text(document: object, layout: str | None) -> str | None:
    if layout is not None:
        text = plain_object_text_sharing(document, _RENDER_METHOD, layout)
        if text is not None:
            return text
    return plain_object_text(document)


def _plain_digest(secured_document: Mapping[str, Any], layout: str | None = None) -> bytes | None:
    """SHA-256 of JCS(secured document) from a plain parse, by the C encoder; None if it cannot
    (the caller then canonicalises it exactly, ledger.protocol.digest.credential_digest)."""
    text = _document_text(secured_document, layout)
    if text is None:
        return None
    try:
        return hashlib.sha256(text_bytes(text)).digest()
    except CanonicalizationError:
        return None


__all__ = [
    "ASSERTION_METHOD",
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "ProofError",
    "ProofVerificationError",
    "ProofOptions",
    "VerifiedProof",
    "add_proof",
    "check_proof_options",
    "create_proof",
    "hash_data",
    "proof_configuration",
    "transform",
    "verify_proof",
    "verify_proof_and_digest",
]
