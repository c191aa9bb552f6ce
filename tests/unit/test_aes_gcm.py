"""The three AES-256-GCM formats share ledger.protocol.aes_gcm, and each still reads and writes
its bytes as before: the values below were written by the code before the helper existed."""

import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.content.share import decrypt_share, encrypt_share, parse_envelope
from ledger.governance.key_files import decrypt_key, encrypt_key
from ledger.protocol.aes_gcm import AesGcm, AuthenticationFailed, random_chunks
from ledger.protocol.keys import SigningKey
from ledger.storage.at_rest import AtRestCipher, AtRestError

KEY = bytes(range(32))
AT_REST = bytes.fromhex("016ac266a70fd75ebc4500125b0602adb98129fc1d9de5668e6cd4598630c1dbd8fb17")
KEY_FILE = (
    '{"type": "CertLedgerKeyFile", "version": 1, "kind": "ed25519", "public": '
    '"did:key:z6MkfF4ykuxdK3Cea9xDqWgLLgMBvxcypy6Tv1K45Eahxy3m", "kdf": {"name": "scrypt", "n": 1024, "r": 8, '
    '"p": 1, "salt": "Ylc5KOXKueeNskcCk8dbIw"}, "cipher": {"name": "aes-256-gcm", "nonce": "xDLNMQVh-i9f2zfb", '
    '"ciphertext": "AFjwgkoZAFbrAUm5hcODV53cNw80_H3C57qAeP-baRdBGtGZHX21Ro9ZTc9VI75_"}}'
)
SHARE = b'{"v":1,"alg":"A256GCM","iv":"7NHbt2N08jNB2E24","ct":"C1LHFapG6QQ9kMa6S-pqrDIHCtKeoWHYNTDEHg"}'
SHARE_KEY = bytes.fromhex("7ebe51640f15f0fa3ef3ade8fe91f4798ff421cf8ad9a8ea728327d78a32cd96")


def test_values_encrypted_at_rest_before_still_decrypt_and_new_ones_keep_the_format():
    cipher = AtRestCipher(KEY)
    assert cipher.decrypt(AT_REST, b"urn:uuid:a") == "张三".encode()
    with pytest.raises(AtRestError):
        cipher.decrypt(AT_REST, b"urn:uuid:b")
    for blob in [cipher.encrypt(b"x", b"row"), *cipher.encrypt_many([(b"x", b"row")])]:
        # version byte, 12-byte nonce, AESGCM's ciphertext and tag: what the format always was
        assert blob[:1] == b"\x01" and len(blob) == 1 + 12 + 1 + 16
        assert AESGCM(KEY).decrypt(blob[1:13], blob[13:], b"row") == b"x"


def test_key_files_written_before_still_decrypt_and_new_ones_keep_the_format():
    opened = decrypt_key(json.loads(KEY_FILE), "old passphrase")
    assert opened.secret == bytes(range(100, 132))
    assert opened.public == SigningKey.from_seed(opened.secret).public_key.did
    document = encrypt_key("ed25519", opened.secret, "new", scrypt_n=2**10)
    assert set(document) == set(json.loads(KEY_FILE)) and document["cipher"]["name"] == "aes-256-gcm"
    assert decrypt_key(json.loads(json.dumps(document)), "new").secret == opened.secret


def test_shares_made_before_still_decrypt_and_new_ones_keep_the_envelope():
    assert decrypt_share(SHARE, SHARE_KEY) == b'{"bundle":1}'
    blob, key = encrypt_share(b'{"bundle":1}')
    assert blob.startswith(b'{"v":1,"alg":"A256GCM","iv":"') and len(blob) == len(SHARE)
    iv, ct = parse_envelope(blob)
    assert AESGCM(key).decrypt(iv, ct, None) == b'{"bundle":1}'


def test_the_helper_authenticates_and_hides_its_key():
    aead, nonce = AesGcm(KEY), os.urandom(12)
    ct = aead.encrypt(nonce, b"data", b"aad")
    assert ct == AESGCM(KEY).encrypt(nonce, b"data", b"aad")
    assert aead.decrypt(nonce, ct, b"aad") == b"data"
    with pytest.raises(AuthenticationFailed):
        aead.decrypt(nonce, ct, b"other")
    with pytest.raises(ValueError):
        AesGcm(b"short")
    assert KEY.hex() not in repr(aead)
    chunks = random_chunks(5, 12)
    assert len(chunks) == 5 and {len(c) for c in chunks} == {12} and len(set(chunks)) == 5
    assert random_chunks(0, 12) == []
