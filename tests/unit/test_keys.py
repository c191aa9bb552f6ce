"""Signing key types and key files encrypted at rest."""

from __future__ import annotations

import base64
import json
import os
import stat

import base58
import pytest
from cryptography.exceptions import InvalidSignature

from ledger.governance.key_files import (
    KeyFileError,
    PassphraseMissingError,
    WrongPassphraseError,
    generate_operator_key,
    load_key_file,
    load_operator_key,
    load_signing_key,
    operator_address,
    passphrase_from,
    read_key_file_public,
    save_key_file,
    save_operator_key,
    save_signing_key,
)
from ledger.protocol.keys import PublicKey, SigningKey
from ledger.settings import LedgerEnvironment

FAST = {"scrypt_n": 2**10}  # keep tests quick; the default cost is 2**15
PASS = "correct horse battery staple"


def _encodings(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
        base58.b58encode(secret),
    ]


def test_signing_key_basics():
    key = SigningKey.generate()
    sig = key.sign(b"hello")
    key.public_key.verify(sig, b"hello")
    assert key.public_key.is_valid_signature(sig, b"hello")
    assert not key.public_key.is_valid_signature(sig, b"hellO")
    assert "did:key:z6Mk" in repr(key)
    assert key.seed_bytes().hex() not in repr(key) + str(key)
    assert SigningKey.from_seed(key.seed_bytes()).public_key == key.public_key
    assert PublicKey.from_did(key.public_key.did) == key.public_key
    assert PublicKey.from_multibase(key.public_key.multibase) == key.public_key
    assert hash(PublicKey(key.public_key.raw)) == hash(key.public_key)


def test_rfc8032_test_vector_1():
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = SigningKey.from_seed(seed)
    assert key.public_key.raw.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_libsodium_signatures_are_openssls_byte_for_byte():
    """SigningKey signs through libsodium; Ed25519 is deterministic, so OpenSSL (cryptography) must
    give the same 64 bytes, for any key and message, and verify them."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for size in [0, 1, 32, 64, 65, 1000, 100_000]:
        seed, message = os.urandom(32), os.urandom(size)
        ours = SigningKey.from_seed(seed).sign(message)
        reference = Ed25519PrivateKey.from_private_bytes(seed)
        assert ours == reference.sign(message)
        reference.public_key().verify(ours, message)
    assert SigningKey.from_seed(seed).sign(b"x") != SigningKey.from_seed(os.urandom(32)).sign(b"x")


def _openssl_accepts(public: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def test_verification_agrees_with_openssl_on_valid_and_altered_signatures():
    """Verification goes through libsodium; OpenSSL gives the same verdict on real signatures and on
    every single-bit alteration of the signature, the message and S + L (a non-canonical S)."""
    L = 2**252 + 27742317777372353535851937790883648493
    for size in [0, 1, 64, 1000]:
        key, message = SigningKey.generate(), os.urandom(size)
        signature = key.sign(message)
        public = key.public_key
        assert public.is_valid_signature(signature, message) and _openssl_accepts(public.raw, signature, message)
        for bit in range(0, 512, 7):
            altered = bytearray(signature)
            altered[bit // 8] ^= 1 << (bit % 8)
            assert public.is_valid_signature(bytes(altered), message) == _openssl_accepts(
                public.raw, bytes(altered), message
            )
        if message:
            changed = bytes([message[0] ^ 1]) + message[1:]
            assert not public.is_valid_signature(signature, changed) and not _openssl_accepts(
                public.raw, signature, changed
            )
        s_plus_l = (int.from_bytes(signature[32:], "little") + L).to_bytes(32, "little")
        assert not public.is_valid_signature(signature[:32] + s_plus_l, message)
        assert not _openssl_accepts(public.raw, signature[:32] + s_plus_l, message)
    with pytest.raises(InvalidSignature):
        key.public_key.verify(signature[:63], message)


def test_a_signature_whose_r_has_small_order_is_refused_where_openssl_accepts_it():
    """The one difference (docs/protocol.md §4.6): R = the identity and S = k·a, which only the key's
    holder can make, satisfies the equation; libsodium refuses it, and so does CertLedger."""
    import hashlib

    from nacl.bindings import crypto_core_ed25519_scalar_mul, crypto_core_ed25519_scalar_reduce

    key = SigningKey.generate()
    message = b"a crafted signature"
    identity = bytes([1]) + bytes(31)
    k = crypto_core_ed25519_scalar_reduce(hashlib.sha512(identity + key.public_key.raw + message).digest())
    a = bytearray(hashlib.sha512(key.seed_bytes()).digest()[:32])  # the clamped secret scalar
    a[0] &= 248
    a[31] &= 127
    a[31] |= 64
    a = crypto_core_ed25519_scalar_reduce(bytes(a) + bytes(32))
    signature = identity + crypto_core_ed25519_scalar_mul(k, a)
    assert _openssl_accepts(key.public_key.raw, signature, message)
    assert not key.public_key.is_valid_signature(signature, message)


def test_signing_key_file_round_trip_and_no_secret_in_file(tmp_path):
    key = SigningKey.generate()
    path = save_signing_key(tmp_path / "agency.key", key, PASS, **FAST)
    data = path.read_bytes()
    for enc in _encodings(key.seed_bytes()):
        assert enc not in data
    doc = json.loads(data)
    assert doc["kind"] == "ed25519" and doc["public"] == key.public_key.did
    assert doc["kdf"]["name"] == "scrypt" and doc["cipher"]["name"] == "aes-256-gcm"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_key_file_public(path) == ("ed25519", key.public_key.did)
    loaded = load_signing_key(path, PASS)
    assert loaded.public_key == key.public_key
    assert loaded.sign(b"m") == key.sign(b"m")  # Ed25519 is deterministic


def test_wrong_passphrase_is_a_clear_error(tmp_path):
    path = save_signing_key(tmp_path / "k", SigningKey.generate(), PASS, **FAST)
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        load_signing_key(path, PASS + "!")


def test_editing_the_clear_header_breaks_decryption(tmp_path):
    path = save_signing_key(tmp_path / "k", SigningKey.generate(), PASS, **FAST)
    doc = json.loads(path.read_text())
    doc["public"] = SigningKey.generate().public_key.did  # pair with another public key
    path.write_text(json.dumps(doc))
    with pytest.raises(WrongPassphraseError):
        load_signing_key(path, PASS)


def test_operator_key_file(tmp_path):
    secret = generate_operator_key()
    path = save_operator_key(tmp_path / "operator.key", secret, PASS, **FAST)
    data = path.read_bytes()
    for enc in _encodings(secret):
        assert enc not in data
    assert json.loads(data)["public"] == operator_address(secret)
    assert load_operator_key(path, PASS) == secret
    with pytest.raises(KeyFileError, match="secp256k1"):
        load_signing_key(path, PASS)


def test_operator_address_known_value():
    # anvil/hardhat default account 0
    secret = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    assert operator_address(secret) == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_generic_key_file_api(tmp_path):
    secret = generate_operator_key()
    path = save_key_file(tmp_path / "x", "secp256k1", secret, PASS, **FAST)
    kf = load_key_file(path, PASS)
    assert kf.kind == "secp256k1" and kf.secret == secret
    assert secret.hex() not in repr(kf)
    with pytest.raises(ValueError):
        save_key_file(tmp_path / "y", "secp256k1", secret, PASS, public="0x" + "00" * 20, **FAST)
    with pytest.raises(KeyFileError):
        save_key_file(tmp_path / "z", "rsa", secret, PASS, **FAST)


def test_refuses_to_overwrite(tmp_path):
    path = save_signing_key(tmp_path / "k", SigningKey.generate(), PASS, **FAST)
    with pytest.raises(FileExistsError):
        save_signing_key(path, SigningKey.generate(), PASS, **FAST)
    save_signing_key(path, SigningKey.generate(), PASS, overwrite=True, **FAST)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.__setitem__("version", 2),
        lambda d: d.__setitem__("type", "Other"),
        lambda d: d.__setitem__("kind", "rsa"),
        lambda d: d["kdf"].__setitem__("n", 2**30),
        lambda d: d["kdf"].__setitem__("n", 1000),
        lambda d: d["kdf"].__setitem__("name", "pbkdf2"),
        lambda d: d["cipher"].__setitem__("nonce", "AAAA"),
        lambda d: d["cipher"].__setitem__("ciphertext", 5),
    ],
)
def test_malformed_key_files(tmp_path, edit):
    path = save_signing_key(tmp_path / "k", SigningKey.generate(), PASS, **FAST)
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError):
        load_signing_key(path, PASS)


def test_unreadable_and_non_json_files(tmp_path):
    with pytest.raises(KeyFileError, match="cannot read"):
        load_signing_key(tmp_path / "missing", PASS)
    (tmp_path / "bad").write_text("not json")
    with pytest.raises(KeyFileError, match="not valid JSON"):
        load_signing_key(tmp_path / "bad", PASS)


def test_passphrase_from_the_environment(tmp_path):
    def passphrase_from_env(environ):
        return passphrase_from(LedgerEnvironment.from_environ(environ))

    assert passphrase_from_env({"CERTLEDGER_KEY_PASSPHRASE": "s3cret"}) == "s3cret"
    f = tmp_path / "pass"
    f.write_text("from-file\n")
    assert passphrase_from_env({"CERTLEDGER_KEY_PASSPHRASE_FILE": str(f)}) == "from-file"
    with pytest.raises(PassphraseMissingError, match="CERTLEDGER_KEY_PASSPHRASE"):
        passphrase_from_env({})
    with pytest.raises(PassphraseMissingError, match="empty"):
        passphrase_from_env({"CERTLEDGER_KEY_PASSPHRASE": ""})
    with pytest.raises(PassphraseMissingError, match="cannot read"):
        passphrase_from_env({"CERTLEDGER_KEY_PASSPHRASE_FILE": str(tmp_path / "nope")})


def test_empty_passphrase_cannot_encrypt_a_key(tmp_path):
    with pytest.raises(PassphraseMissingError):
        save_signing_key(tmp_path / "k", SigningKey.generate(), "", **FAST)
