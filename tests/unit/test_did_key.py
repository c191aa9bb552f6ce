"""did:key for Ed25519: round trips, known values, strict decoding."""

from __future__ import annotations

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.protocol import did_key
from ledger.protocol.did_key import DidKeyError

# W3C vc-di-eddsa test key (publicKeyMultibase) and its raw bytes
MB = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
RAW_HEX = "b00d8d938e7f773d51565aad36a623f5344f7f5d1960f9cf3e8e12620ea2810f"
# did:key method specification, Ed25519 example
SPEC_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def test_known_value():
    raw = bytes.fromhex(RAW_HEX)
    assert did_key.encode_public_key(raw) == MB
    assert did_key.decode_public_key(MB) == raw
    assert did_key.did_from_public_key(raw) == "did:key:" + MB
    assert did_key.verification_method_for(raw) == f"did:key:{MB}#{MB}"
    assert did_key.public_key_from_verification_method(f"did:key:{MB}#{MB}") == raw


def test_did_key_spec_example_decodes():
    raw = did_key.public_key_from_did(SPEC_DID)
    assert len(raw) == 32 and did_key.did_from_public_key(raw) == SPEC_DID


@given(st.binary(min_size=32, max_size=32))
def test_round_trip(raw):
    did = did_key.did_from_public_key(raw)
    assert did.startswith("did:key:z6Mk")
    assert did_key.public_key_from_did(did) == raw
    assert did_key.public_key_from_verification_method(did_key.verification_method_for(raw)) == raw


@given(st.binary(max_size=80))
def test_base58_matches_reference_library(data):
    assert did_key.b58encode(data) == base58.b58encode(data).decode()
    assert did_key.b58decode(did_key.b58encode(data)) == data


@pytest.mark.parametrize(
    "value",
    [
        "",
        "z",
        "f" + MB[1:],  # wrong multibase prefix
        MB[:-1],  # truncated
        MB + "1",  # too long
        MB.replace("6", "0"),  # '0' is not base58
        MB.replace("k", "l"),  # 'l' is not base58
        "z" + base58.b58encode(b"\xe7\x01" + b"\x02" * 33).decode(),  # secp256k1 header
        "z" + base58.b58encode(b"\x80\x26" + b"\x01" * 32).decode(),  # a private key!
        "z" + base58.b58encode(b"\xed\x01" + b"\x01" * 31).decode(),
    ],
)
def test_bad_multibase_keys_are_refused(value):
    with pytest.raises(DidKeyError):
        did_key.decode_public_key(value)


@pytest.mark.parametrize(
    "vm",
    [
        f"did:key:{MB}",  # no fragment
        f"did:key:{MB}#key-1",  # other fragment
        f"did:key:{MB}#{MB}x",
        f"did:web:example.com#{MB}",
        f"DID:KEY:{MB}#{MB}",
        f"did:key:{MB}#{MB}#",
    ],
)
def test_bad_verification_methods_are_refused(vm):
    with pytest.raises(DidKeyError):
        did_key.public_key_from_verification_method(vm)


def test_non_string_inputs():
    with pytest.raises(DidKeyError):
        did_key.public_key_from_verification_method(None)
    with pytest.raises(DidKeyError):
        did_key.public_key_from_did(42)
    with pytest.raises(DidKeyError):
        did_key.encode_public_key(b"\x00" * 31)
