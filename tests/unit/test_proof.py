"""eddsa-jcs-2022: the W3C specification's published test vectors, and the
failure reasons of verification."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime

import pytest
from core_vectors import load_vector_json, load_vector_text

from ledger.protocol import did_key
from ledger.protocol.canonical import canonicalize
from ledger.protocol.keys import PublicKey, SigningKey
from ledger.protocol.proof import (
    ProofError,
    ProofVerificationError,
    add_proof,
    create_proof,
    hash_data,
    proof_configuration,
    transform,
    verify_proof,
)

V = "eddsa-jcs-2022"


def vector_key() -> SigningKey:
    """The spec's key pair: secretKeyMultibase is multicodec ed25519-priv (0x8026) + seed."""
    pair = load_vector_json(V, "keyPair.json")
    raw = did_key.b58btc_decode(pair["secretKeyMultibase"])
    assert raw[:2] == b"\x80\x26" and len(raw) == 34
    key = SigningKey.from_seed(raw[2:])
    assert key.public_key.multibase == pair["publicKeyMultibase"]
    return key


# ------------------------------------------------------------ W3C vectors


def test_w3c_vector_intermediate_values():
    unsecured = load_vector_json(V, "unsecured.json")
    options = load_vector_json(V, "proofOptions.json")
    canonical_doc = transform(unsecured, options)
    assert canonical_doc == load_vector_text(V, "canonicalDocument.txt").encode()
    assert hashlib.sha256(canonical_doc).hexdigest() == load_vector_text(V, "documentHash.txt")
    config = proof_configuration(options)
    assert config == load_vector_text(V, "canonicalProofConfig.txt").encode()
    assert hashlib.sha256(config).hexdigest() == load_vector_text(V, "proofConfigHash.txt")
    data = hash_data(canonical_doc, config)
    assert data.hex() == load_vector_text(V, "combinedHash.txt")
    signature = vector_key().sign(data)
    assert signature.hex() == load_vector_text(V, "signatureHex.txt")
    assert did_key.b58btc_encode(signature) == load_vector_text(V, "signatureBase58.txt")


def test_w3c_vector_create_proof_gives_the_signed_document():
    unsecured = load_vector_json(V, "unsecured.json")
    signed = add_proof(unsecured, vector_key(), created="2023-02-24T23:36:38Z")
    assert signed == load_vector_json(V, "signed.json")
    # same member order as the specification's example too
    assert list(signed["proof"]) == list(load_vector_json(V, "signed.json")["proof"])


def test_w3c_vector_signed_document_verifies():
    signed = load_vector_json(V, "signed.json")
    result = verify_proof(signed)
    assert result.public_key.multibase == "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    assert result.created == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    assert result.document == load_vector_json(V, "unsecured.json")


def test_w3c_repository_vector_with_url_verification_method():
    """TestVectors/eddsa-jcs-2022 variant: the method is a URL, resolved by the caller."""
    signed = load_vector_json(V, "repo-url-vm", "signedJCS.json")
    key = vector_key()
    result = verify_proof(signed, public_key=key.public_key)
    assert result.verification_method.startswith("https://vc.example/issuers/5678#")
    # and our signer reproduces it byte for byte
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    proof = create_proof(
        unsecured,
        key,
        created="2023-02-24T23:36:38Z",
        verification_method=signed["proof"]["verificationMethod"],
    )
    assert proof == signed["proof"]
    options = load_vector_json(V, "repo-url-vm", "proofConfigJCS.json")
    data = hash_data(transform(unsecured, options), proof_configuration(options))
    assert key.sign(data).hex() == load_vector_text(V, "repo-url-vm", "sigHexJCS.txt")
    # without a resolved key, a non-did:key method cannot be verified
    with pytest.raises(ProofVerificationError) as e:
        verify_proof(signed)
    assert e.value.code == "INVALID_VERIFICATION_METHOD"


# ------------------------------------------------------------ failure reasons


def _signed():
    return load_vector_json(V, "signed.json")


def _code(doc, **kw) -> str:
    with pytest.raises(ProofVerificationError) as e:
        verify_proof(doc, **kw)
    assert e.value.reason
    return e.value.code


def test_tampered_document_fails_with_invalid_signature():
    doc = _signed()
    doc["credentialSubject"]["alumniOf"] = "Another School"
    assert _code(doc) == "INVALID_SIGNATURE"


def test_tampered_proof_options_fail():
    doc = _signed()
    doc["proof"]["created"] = "2023-02-24T23:36:39Z"
    assert _code(doc) == "INVALID_SIGNATURE"


@pytest.mark.parametrize(
    "mutate,code",
    [
        (lambda d: d.pop("proof"), "PROOF_MISSING"),
        (lambda d: d.__setitem__("proof", [d["proof"]]), "PROOF_SET_UNSUPPORTED"),
        (lambda d: d.__setitem__("proof", "x"), "PROOF_MALFORMED"),
        (lambda d: d["proof"].__setitem__("type", "Ed25519Signature2020"), "WRONG_PROOF_TYPE"),
        (lambda d: d["proof"].__setitem__("cryptosuite", "eddsa-rdfc-2022"), "WRONG_CRYPTOSUITE"),
        (lambda d: d["proof"].pop("cryptosuite"), "WRONG_CRYPTOSUITE"),
        (lambda d: d["proof"].__setitem__("proofPurpose", "authentication"), "WRONG_PROOF_PURPOSE"),
        (lambda d: d["proof"].__setitem__("created", "yesterday"), "INVALID_CREATED"),
        (lambda d: d["proof"].__setitem__("created", "2023-02-24T23:36:38"), "INVALID_CREATED"),
        (
            lambda d: d["proof"].__setitem__("verificationMethod", "did:key:zQ3sBad#zQ3sBad"),
            "INVALID_VERIFICATION_METHOD",
        ),
        (lambda d: d["proof"].pop("verificationMethod"), "INVALID_VERIFICATION_METHOD"),
        (lambda d: d["proof"].__setitem__("proofValue", "u" + d["proof"]["proofValue"][1:]), "INVALID_PROOF_VALUE"),
        (lambda d: d["proof"].__setitem__("proofValue", "z0OIl"), "INVALID_PROOF_VALUE"),
        (lambda d: d["proof"].__setitem__("proofValue", "z2HnFSS"), "INVALID_PROOF_VALUE"),
        (lambda d: d["proof"].pop("proofValue"), "INVALID_PROOF_VALUE"),
        (lambda d: d.__setitem__("@context", ["https://www.w3.org/ns/credentials/v2"]), "CONTEXT_MISMATCH"),
        (lambda d: d.pop("@context"), "CONTEXT_MISMATCH"),
    ],
)
def test_each_malformation_has_its_code(mutate, code):
    doc = _signed()
    mutate(doc)
    assert _code(doc) == code


def test_key_mismatch_when_caller_expects_another_key():
    assert _code(_signed(), public_key=SigningKey.generate().public_key) == "KEY_MISMATCH"


def test_signature_by_another_key_under_the_same_method_fails():
    doc = load_vector_json(V, "unsecured.json")
    other = SigningKey.generate()
    proof = create_proof(
        doc,
        other,
        created="2023-02-24T23:36:38Z",
        verification_method=vector_key().public_key.verification_method,
    )
    assert _code({**doc, "proof": proof}) == "INVALID_SIGNATURE"


def test_context_prefix_rule_of_the_specification():
    """§3.3.2 step 4: the document's @context must *start with* the proof's, and
    the proof's is what gets signed over."""
    key = SigningKey.generate()
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "x": 1}
    signed = add_proof(doc, key, created="2024-01-01T00:00:00Z")
    extended = copy.deepcopy(signed)
    extended["@context"].append("https://example.org/extra")
    assert verify_proof(extended).document["@context"] == ["https://www.w3.org/ns/credentials/v2"]


def test_proof_without_context_verifies_against_the_document_context():
    """Implementations that skip create step 2 put no @context in the proof."""
    key = SigningKey.generate()
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "x": 1}
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2024-01-01T00:00:00Z",
        "verificationMethod": key.public_key.verification_method,
        "proofPurpose": "assertionMethod",
    }
    data = hash_data(canonicalize(doc), canonicalize(options))
    proof = {**options, "proofValue": did_key.b58btc_encode(key.sign(data))}
    assert verify_proof({**doc, "proof": proof}).public_key == key.public_key


def test_create_refuses_a_document_that_already_has_a_proof():
    with pytest.raises(ProofError):
        add_proof(_signed(), SigningKey.generate(), created="2024-01-01T00:00:00Z")


def test_create_refuses_invalid_created():
    with pytest.raises(ProofError):
        create_proof({"a": 1}, SigningKey.generate(), created="01/02/2024")


def test_create_with_datetime_writes_utc_seconds():
    key = SigningKey.generate()
    proof = create_proof({"a": 1}, key, created=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC))
    assert proof["created"] == "2024-05-06T07:08:09Z"
    assert "@context" not in proof
    verify_proof({"a": 1, "proof": proof})


def test_expected_purpose_is_configurable():
    key = SigningKey.generate()
    signed = add_proof({"a": 1}, key, created="2024-01-01T00:00:00Z", proof_purpose="authentication")
    assert verify_proof(signed, expected_proof_purpose="authentication").proof_purpose == "authentication"
    with pytest.raises(ProofVerificationError):
        verify_proof(signed)


def test_public_key_type():
    pk = PublicKey.from_did("did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
    assert pk == vector_key().public_key and len(pk.raw) == 32
    assert pk.verification_method.endswith("#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
