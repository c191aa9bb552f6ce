"""ledger.content.share: the encrypted share envelope (AES-256-GCM), round trip and every error."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.content.encoding import b64url_decode, b64url_encode
from ledger.content.share import (
    MAX_PLAINTEXT_BYTES,
    MAX_SHARE_BYTES,
    ShareDecryptionError,
    ShareError,
    ShareFormatError,
    ShareKeyError,
    ShareTooLargeError,
    ShareUnsupportedError,
    decrypt_share,
    encrypt_share,
    parse_envelope,
)

BUNDLE = json.dumps(
    {"type": "CertLedgerBundle", "version": 1, "credential": {"credentialSubject": {"name": "张三"}}, "anchor": None},
    ensure_ascii=False,
).encode("utf-8")


def envelope(**members) -> bytes:
    return json.dumps(members, separators=(",", ":")).encode()


def good_members() -> tuple[dict, bytes]:
    blob, key = encrypt_share(BUNDLE)
    return json.loads(blob), key


# -- round trip and wire form -------------------------------------------------------------------


def test_round_trip():
    blob, key = encrypt_share(BUNDLE)
    assert decrypt_share(blob, key) == BUNDLE
    assert len(key) == 32


def test_wire_form_is_exact():
    blob, key = encrypt_share(BUNDLE)
    text = blob.decode("ascii")
    doc = json.loads(text)
    assert list(doc) == ["v", "alg", "iv", "ct"]
    assert text == f'{{"v":1,"alg":"A256GCM","iv":"{doc["iv"]}","ct":"{doc["ct"]}"}}'
    assert "=" not in text and " " not in text and not text.endswith("\n")
    iv, ct = b64url_decode(doc["iv"]), b64url_decode(doc["ct"])
    assert len(iv) == 12
    assert len(ct) == len(BUNDLE) + 16  # ciphertext ‖ 16-byte tag
    # Any AES-GCM implementation opens it: nonce, ciphertext‖tag, no AAD.
    assert AESGCM(key).decrypt(iv, ct, None) == BUNDLE


def test_fresh_key_and_nonce_every_time():
    (a, ka), (b, kb) = encrypt_share(BUNDLE), encrypt_share(BUNDLE)
    assert ka != kb and a != b
    assert json.loads(a)["iv"] != json.loads(b)["iv"]


def test_reads_an_envelope_written_by_another_implementation():
    """Members in another order, with whitespace: accepted (strict content, lenient layout)."""
    key, iv = os.urandom(32), os.urandom(12)
    ct = AESGCM(key).encrypt(iv, BUNDLE, None)
    blob = ('{ "ct": "%s",\n  "iv": "%s", "alg": "A256GCM", "v": 1 }' % (b64url_encode(ct), b64url_encode(iv))).encode()
    assert decrypt_share(blob, key) == BUNDLE


def test_accepts_bytes_like():
    blob, key = encrypt_share(bytearray(BUNDLE))
    assert decrypt_share(memoryview(blob), bytearray(key)) == BUNDLE


# -- wrong key, tampering ------------------------------------------------------------------------


def test_wrong_key():
    blob, _ = encrypt_share(BUNDLE)
    with pytest.raises(ShareDecryptionError, match="key is wrong or the share was altered"):
        decrypt_share(blob, os.urandom(32))


@pytest.mark.parametrize("member", ["ct", "iv"])
def test_tampered(member):
    doc, key = good_members()
    raw = bytearray(b64url_decode(doc[member]))
    raw[len(raw) // 2] ^= 0x01
    doc[member] = b64url_encode(bytes(raw))
    with pytest.raises(ShareDecryptionError):
        decrypt_share(envelope(**doc), key)


def test_truncated_tag():
    doc, key = good_members()
    doc["ct"] = b64url_encode(b64url_decode(doc["ct"])[:-1])
    with pytest.raises(ShareDecryptionError):
        decrypt_share(envelope(**doc), key)


@pytest.mark.parametrize("key,why", [(b"\x00" * 16, "32 bytes"), (b"", "32 bytes"), ("k" * 32, "bytes")])
def test_bad_key(key, why):
    blob, _ = encrypt_share(BUNDLE)
    with pytest.raises(ShareKeyError, match=why):
        decrypt_share(blob, key)


# -- malformed envelopes, each member named ------------------------------------------------------


def mutate(**changes) -> tuple[bytes, bytes]:
    doc, key = good_members()
    for name, value in changes.items():
        if value is ...:
            del doc[name]
        else:
            doc[name] = value
    return envelope(**doc), key


@pytest.mark.parametrize(
    "changes,field,why",
    [
        ({"v": ...}, "v", "missing"),
        ({"alg": ...}, "alg", "missing"),
        ({"iv": ...}, "iv", "missing"),
        ({"ct": ...}, "ct", "missing"),
        ({"v": "1"}, "v", "integer"),
        ({"v": 1.0}, "v", "integer"),
        ({"v": True}, "v", "integer"),
        ({"alg": 5}, "alg", "string"),
        ({"iv": 12}, "iv", "base64url string"),
        ({"iv": "AAAAAAAAAAAAAAAA"[:15]}, "iv", "12 bytes"),
        ({"iv": "AAAAAAAAAAAAAAA="}, "iv", "padding"),
        ({"iv": "AAAAAAAA+AAAAAAA"}, "iv", "base64url"),
        ({"iv": "AAAAAAAA AAAAAAA"}, "iv", "base64url"),
        ({"ct": ["x"]}, "ct", "base64url string"),
        ({"ct": "AAAAAAAAAAAAAAAAAAAA"}, "ct", "tag"),
        ({"ct": "AAAAAAAAAAAAAAAAAAAAAAB"}, "ct", "trailing bits"),
        ({"ct": "A"}, "ct", "length"),
        ({"extra": 1}, "extra", "unknown member"),
    ],
)
def test_malformed_member(changes, field, why):
    blob, key = mutate(**changes)
    with pytest.raises(ShareFormatError, match=why) as info:
        decrypt_share(blob, key)
    assert info.value.field == field
    assert not isinstance(info.value, ShareUnsupportedError)


@pytest.mark.parametrize(
    "changes,field", [({"v": 2}, "v"), ({"v": 0}, "v"), ({"alg": "A128GCM"}, "alg"), ({"alg": "a256gcm"}, "alg")]
)
def test_unsupported_version_or_algorithm(changes, field):
    blob, key = mutate(**changes)
    with pytest.raises(ShareUnsupportedError, match="not supported") as info:
        decrypt_share(blob, key)
    assert info.value.field == field


@pytest.mark.parametrize(
    "blob,why",
    [
        (b"", "not JSON"),
        (b"not json", "not JSON"),
        (b"[1,2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        ('\ufeff{"v":1}'.encode(), "byte-order mark"),
        (b'{"v":NaN,"alg":"A256GCM","iv":"","ct":""}', "NaN"),
    ],
)
def test_malformed_envelope(blob, why):
    with pytest.raises(ShareFormatError, match=why) as info:
        decrypt_share(blob, os.urandom(32))
    assert info.value.field == ""


def test_duplicate_member():
    doc, key = good_members()
    blob = envelope(**doc)[:-1] + b',"v":1}'
    with pytest.raises(ShareFormatError, match="more than once") as info:
        decrypt_share(blob, key)
    assert info.value.field == "v"


def test_plaintext_must_be_utf8():
    key, iv = os.urandom(32), os.urandom(12)
    ct = AESGCM(key).encrypt(iv, b"\xff\xfe\xfd", None)
    blob = envelope(v=1, alg="A256GCM", iv=b64url_encode(iv), ct=b64url_encode(ct))
    with pytest.raises(ShareFormatError, match="not UTF-8") as info:
        decrypt_share(blob, key)
    assert info.value.field == "ct"


def test_parse_envelope_returns_raw_iv_and_ct():
    blob, _ = encrypt_share(BUNDLE)
    iv, ct = parse_envelope(blob)
    assert len(iv) == 12 and len(ct) == len(BUNDLE) + 16


# -- encrypt errors and size limits --------------------------------------------------------------


def test_encrypt_refuses_non_bytes_empty_and_non_utf8():
    with pytest.raises(ShareError, match="bytes"):
        encrypt_share("{}")  # type: ignore[arg-type]
    with pytest.raises(ShareError, match="empty"):
        encrypt_share(b"")
    with pytest.raises(ShareError, match="not UTF-8"):
        encrypt_share(b"{\xff}")


def test_size_limits():
    biggest = b"x" * MAX_PLAINTEXT_BYTES
    blob, key = encrypt_share(biggest)
    assert len(blob) <= MAX_SHARE_BYTES
    assert decrypt_share(blob, key) == biggest
    with pytest.raises(ShareTooLargeError, match="at most"):
        encrypt_share(biggest + b"x")
    with pytest.raises(ShareTooLargeError, match="at most"):
        decrypt_share(b" " * (MAX_SHARE_BYTES + 1), key)


def test_error_messages_never_contain_the_key():
    blob, key = encrypt_share(BUNDLE)
    for bad in (blob[:-3], b"{}", envelope(v=2, alg="A256GCM", iv="", ct="")):
        with pytest.raises(ShareError) as info:
            decrypt_share(bad, key)
        assert b64url_encode(key) not in str(info.value)
        assert base64.b64encode(key).decode() not in str(info.value)


# -- base64url helper ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(0, 40))
def test_b64url_round_trip(n):
    data = os.urandom(n)
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data


def test_encrypt_shares_in_bulk_gives_fresh_keys_and_nonces():
    from ledger.content.share import encrypt_shares, parse_envelope

    bundles = [f'{{"n":{i},"name":"张三"}}'.encode() for i in range(50)] + [b'{"same":1}', b'{"same":1}']
    shares = encrypt_shares(bundles)
    assert [decrypt_share(blob, key) for blob, key in shares] == bundles
    assert len({key for _, key in shares}) == len(bundles)
    assert len({parse_envelope(blob)[0] for blob, _ in shares}) == len(bundles)  # nonces
    assert len({blob for blob, _ in shares}) == len(bundles)
    assert encrypt_shares([]) == []
    with pytest.raises(ShareError):
        encrypt_shares([b'{"ok":1}', b"\xff"])
