"""Weak Ed25519 public keys are refused wherever a key is read (finding 6 of the v1 review): a
small-order key with the trivial signature verifies any message under plain RFC 8032 verification."""

from __future__ import annotations

import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.governance.key_files import KeyFileError, decrypt_key, encrypt_key, read_key_file_public
from ledger.protocol import did_key
from ledger.protocol.ed25519_checks import weak_key_reason
from ledger.protocol.keys import PublicKey, SigningKey, WeakKeyError
from ledger.protocol.proof import WEAK_KEY, ProofVerificationError, verify_proof

IDENTITY = bytes([1]) + bytes(31)
SMALL_ORDER = [
    bytes(32),  # y = 0 (order 4)
    IDENTITY,  # y = 1 (order 1)
    bytes.fromhex("ec" + "ff" * 30 + "7f"),  # y = p-1 (order 2)
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),  # order 8
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),  # order 8
]
NON_CANONICAL = [bytes.fromhex(f"{b:02x}" + "ff" * 30 + "7f") for b in (0xED, 0xEE, 0xFF)]  # y = p, p+1, p+18


def _with_sign(raw: bytes) -> bytes:
    return raw[:31] + bytes([raw[31] | 0x80])


@pytest.mark.parametrize(
    "raw", SMALL_ORDER + [_with_sign(k) for k in SMALL_ORDER] + NON_CANONICAL + [_with_sign(k) for k in NON_CANONICAL]
)
def test_small_order_and_non_canonical_keys_are_refused(raw):
    assert weak_key_reason(raw) is not None
    with pytest.raises(WeakKeyError):
        PublicKey(raw)


def test_bytes_off_the_curve_are_refused_and_real_keys_accepted():
    off_curve = next(
        r for r in (os.urandom(32) for _ in range(100)) if weak_key_reason(r) == "not a point on the Ed25519 curve"
    )
    with pytest.raises(WeakKeyError):
        PublicKey(off_curve)
    for _ in range(100):
        key = SigningKey.generate().public_key
        assert weak_key_reason(key.raw) is None


def _trivially_signed(document: dict) -> dict:
    """The attack: the identity point as the key, R = identity and S = 0 as the signature."""
    mb = did_key.encode_public_key(IDENTITY)
    signature = IDENTITY + bytes(32)
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2024-01-01T00:00:00Z",
        "verificationMethod": f"did:key:{mb}#{mb}",
        "proofPurpose": "assertionMethod",
        "proofValue": did_key.b58btc_encode(signature),
    }
    return {**document, "proof": proof}


def test_the_trivial_forgery_is_real_and_verify_proof_refuses_it():
    # OpenSSL's RFC 8032 verification accepts the trivial signature under the identity key for any message:
    Ed25519PublicKey.from_public_bytes(IDENTITY).verify(IDENTITY + bytes(32), os.urandom(40))
    forged = _trivially_signed({"@context": ["https://www.w3.org/ns/credentials/v2"], "claim": "anything"})
    with pytest.raises(ProofVerificationError) as e:
        verify_proof(forged)
    assert e.value.code == WEAK_KEY


def test_a_key_file_naming_a_weak_key_is_refused(tmp_path):
    document = encrypt_key("ed25519", SigningKey.generate().seed_bytes(), "pass", scrypt_n=2**10)
    document["public"] = did_key.did_from_public_key(IDENTITY)
    with pytest.raises(KeyFileError, match="acceptable"):
        decrypt_key(document, "pass")
    path = tmp_path / "key.json"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError):
        read_key_file_public(path)
