"""W3C Bitstring Status List (ledger.protocol.status_list): the bit order, the encoding, the entries and the
signed list credential, read back strictly."""

from __future__ import annotations

import base64
import copy
import gzip
import random
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from ledger.protocol import status_list as sl
from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import ProofVerificationError, verify_proof

NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
BASE = "https://status.example.gov.cn/status"
AGENCY = "zj-hz-education"
KEY = SigningKey.from_seed(bytes(range(32)))


def _issuer(key=KEY):
    return sl.issuer_object(key.public_key.did, "杭州市教育局 Hangzhou Education Bureau", AGENCY)


def _raw(encoded: str) -> bytes:
    """An independent decoding: base64url with the padding put back, then GZIP."""
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _list(indexes=(3, 5), purpose="revocation", **kw):
    url = sl.list_url(BASE, AGENCY, 1, purpose)
    return url, sl.build_list_credential(url, purpose, _issuer(), KEY, indexes, now=NOW, **kw)


# ------------------------------------------------------------------------------------ bits


def test_the_list_size_is_at_least_the_w3c_minimum():
    assert sl.LIST_SIZE >= 131_072
    assert len(_raw(sl.encode_bits([]))) * 8 == sl.LIST_SIZE


def test_bit_order_against_a_hand_built_vector():
    """Index 0 is the left-most bit of byte 0; 7 its right-most; 8 starts byte 1; 131071 is the
    right-most bit of the last byte."""
    expected = bytearray(131_072 // 8)
    expected[0] = 0b1000_0001
    expected[1] = 0b1000_0000
    expected[16_383] = 0b0000_0001
    encoded = sl.encode_bits([0, 7, 8, 131_071])
    assert encoded.startswith("u") and "=" not in encoded
    assert _raw(encoded) == bytes(expected)
    assert sl.decode_bits(encoded) == bytes(expected)
    assert sl.set_indexes(bytes(expected)) == [0, 7, 8, 131_071]
    for i in (0, 7, 8, 131_071):
        assert sl.is_set(bytes(expected), i)
    assert not any(sl.is_set(bytes(expected), i) for i in (1, 6, 9, 15, 131_070))


def test_round_trip_of_random_lists():
    rng = random.Random(18)
    for count in (0, 1, 1000, 20_000):
        chosen = set(rng.sample(range(sl.LIST_SIZE), count))
        bits = sl.decode_bits(sl.encode_bits(chosen), size=sl.LIST_SIZE)
        assert sl.set_indexes(bits) == sorted(chosen)


def test_the_encoding_is_deterministic():
    indexes = [5, 99, 4096, 131_000]
    first = sl.encode_bits(indexes)
    assert sl.encode_bits(list(reversed(indexes))) == first
    packed = base64.urlsafe_b64decode(first[1:] + "=" * (-len(first[1:]) % 4))
    assert packed[:2] == b"\x1f\x8b" and packed[4:8] == b"\0\0\0\0"  # GZIP, mtime 0


@pytest.mark.parametrize("index", [-1, sl.LIST_SIZE, 2**40, True, 1.0, "3"])
def test_an_index_outside_the_list_is_refused(index):
    with pytest.raises(ValueError):
        sl.encode_bits([index])


def _stray_bits() -> str:
    """A valid encodedList whose last base64url digit carries stray low bits (non-canonical)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(64):
        text = sl.encode_bits([i])
        if len(text[1:]) % 4 in (2, 3):
            return text[:-1] + alphabet[alphabet.index(text[-1]) | 1]
    raise AssertionError("no list of that length found")


def _gzip_b64(data: bytes, *, extra: bytes = b"") -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(data, mtime=0) + extra).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "encoded,reason",
    [
        (None, "multibase"),
        ("", "multibase"),
        ("z" + sl.encode_bits([])[1:], "multibase"),
        (sl.encode_bits([]) + "==", "base64url"),
        (sl.encode_bits([])[:20] + "+/" + sl.encode_bits([])[22:], "base64url"),
        (_stray_bits(), "canonical"),
        ("u" + base64.urlsafe_b64encode(zlib.compress(bytes(16_384))).rstrip(b"=").decode(), "GZIP"),
        ("u" + base64.urlsafe_b64encode(b"not gzip at all").rstrip(b"=").decode(), "GZIP"),
        ("u" + base64.urlsafe_b64encode(gzip.compress(bytes(16_384), mtime=0)[:-6]).rstrip(b"=").decode(), "truncated"),
        (_gzip_b64(bytes(16_384), extra=gzip.compress(b"x", mtime=0)), "after the GZIP"),
        (_gzip_b64(bytes(1024)), "at least"),
    ],
)
def test_decoding_is_strict(encoded, reason):
    with pytest.raises(sl.StatusListError) as caught:
        sl.decode_bits(encoded)
    assert caught.value.code == sl.STATUS_LIST_ENCODING
    assert caught.value.field == "credentialSubject.encodedList"
    assert reason in caught.value.reason


def test_decoding_checks_the_expected_size_and_refuses_a_gzip_bomb(monkeypatch):
    bigger = _gzip_b64(bytes(32_768))
    assert len(sl.decode_bits(bigger)) == 32_768
    with pytest.raises(sl.StatusListError, match="not 131072"):
        sl.decode_bits(bigger, size=sl.LIST_SIZE)
    monkeypatch.setattr(sl, "MAX_LIST_BYTES", 20_000)
    with pytest.raises(sl.StatusListError, match="more than 20000 bytes"):
        sl.decode_bits(bigger)


def test_reading_an_index_outside_the_list_is_the_w3c_range_error():
    bits = sl.bitstring([1])
    with pytest.raises(sl.StatusListError) as caught:
        sl.is_set(bits, sl.LIST_SIZE)
    assert caught.value.code == sl.STATUS_INDEX_OUT_OF_RANGE


# --------------------------------------------------------------------------- addresses, entries


def test_list_urls_and_status_entries_are_exactly_as_specified():
    assert sl.list_url(BASE + "/", AGENCY, 7, "suspension") == f"{BASE}/{AGENCY}/7/suspension"
    assert sl.status_entries(BASE, AGENCY, 3, 4095) == [
        {
            "id": f"{BASE}/{AGENCY}/3/revocation#4095",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "4095",
            "statusListCredential": f"{BASE}/{AGENCY}/3/revocation",
        },
        {
            "id": f"{BASE}/{AGENCY}/3/suspension#4095",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
            "statusListIndex": "4095",
            "statusListCredential": f"{BASE}/{AGENCY}/3/suspension",
        },
    ]
    assert [list(e) for e in sl.status_entries(BASE, AGENCY, 1, 0)][0] == [
        "id",
        "type",
        "statusPurpose",
        "statusListIndex",
        "statusListCredential",
    ]


@pytest.mark.parametrize(
    "args",
    [
        (BASE, "X", 1, "revocation"),
        (BASE, AGENCY, 0, "revocation"),
        (BASE, AGENCY, True, "revocation"),
        (BASE, AGENCY, 1, "refresh"),
        ("", AGENCY, 1, "revocation"),
    ],
)
def test_bad_list_addresses_are_refused(args):
    with pytest.raises(ValueError):
        sl.list_url(*args)


@pytest.mark.parametrize("index", [-1, sl.LIST_SIZE, "1"])
def test_entries_need_an_index_in_the_list(index):
    with pytest.raises(ValueError):
        sl.status_entries(BASE, AGENCY, 1, index)


def test_entries_read_back():
    for entry in sl.status_entries(BASE, AGENCY, 2, 17):
        parsed = sl.parse_status_entry(entry)
        assert (parsed.list_url, parsed.purpose, parsed.index) == (
            entry["statusListCredential"],
            entry["statusPurpose"],
            17,
        )


@pytest.mark.parametrize(
    "change,field",
    [
        ({"type": "StatusList2021Entry"}, "type"),
        ({"statusPurpose": "refresh"}, "statusPurpose"),
        ({"statusListIndex": 17}, "statusListIndex"),
        ({"statusListIndex": "017"}, "statusListIndex"),
        ({"statusListIndex": "-1"}, "statusListIndex"),
        ({"statusListCredential": "ftp://x"}, "statusListCredential"),
        ({"id": f"{BASE}/{AGENCY}/2/revocation#18"}, "id"),
        ({"statusSize": 2}, "statusSize"),
    ],
)
def test_malformed_entries_name_the_field(change, field):
    entry = {**sl.status_entries(BASE, AGENCY, 2, 17)[0], **change}
    with pytest.raises(sl.StatusListError) as caught:
        sl.parse_status_entry(entry)
    assert (caught.value.code, caught.value.field) == (sl.STATUS_ENTRY_MALFORMED, f"credentialStatus.{field}")


# --------------------------------------------------------------------------- the list credential


def test_the_list_credential_has_the_specified_shape():
    url, doc = _list([3, 5])
    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
    ]
    assert doc["id"] == url == f"{BASE}/{AGENCY}/1/revocation"
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert doc["issuer"] == {
        "id": KEY.public_key.did,
        "name": "杭州市教育局 Hangzhou Education Bureau",
        "agency": f"urn:certledger:agency:{AGENCY}",
    }
    assert (doc["validFrom"], doc["validUntil"]) == ("2026-12-07T12:00:00Z", "2026-12-08T12:00:00Z")
    subject = doc["credentialSubject"]
    assert subject == {
        "id": f"{url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": sl.encode_bits([3, 5]),
        "ttl": 60_000,
    }
    proof = doc["proof"]
    assert (proof["type"], proof["cryptosuite"], proof["proofPurpose"]) == (
        "DataIntegrityProof",
        "eddsa-jcs-2022",
        "assertionMethod",
    )
    assert proof["verificationMethod"] == KEY.public_key.verification_method
    assert proof["created"] == "2026-12-07T12:00:00Z"


def test_the_list_credential_verifies_and_reads_back():
    url, doc = _list([3, 5, 131_071], purpose="suspension")
    verified = verify_proof(doc)
    assert verified.public_key == KEY.public_key
    view = sl.check_list_credential(doc, url=url, purpose="suspension", now=NOW + timedelta(hours=1))
    assert view.set_indexes() == [3, 5, 131_071] and view.size == sl.LIST_SIZE
    assert view.is_set(5) and not view.is_set(4)
    assert (view.ttl_ms, view.valid_until - view.valid_from) == (60_000, timedelta(hours=24))


def test_the_same_bits_at_the_same_time_give_the_same_list():
    assert _list([9, 1])[1] == _list([1, 9])[1]


def test_a_tampered_encoded_list_fails():
    url, doc = _list([3])
    tampered = copy.deepcopy(doc)
    tampered["credentialSubject"]["encodedList"] = sl.encode_bits([])  # "nothing is revoked"
    with pytest.raises(ProofVerificationError) as caught:
        verify_proof(tampered)
    assert caught.value.code == "INVALID_SIGNATURE"
    with pytest.raises(sl.StatusListError) as checked:
        sl.check_list_credential(tampered, url=url)
    assert (checked.value.code, checked.value.field) == (sl.STATUS_LIST_INVALID_PROOF, "proof")


def test_a_list_signed_by_another_key_than_its_issuers_fails():
    _, doc = _list([3])
    other = SigningKey.from_seed(bytes(range(1, 33)))
    forged = {k: v for k, v in doc.items() if k != "proof"}
    from ledger.protocol.proof import create_proof

    forged["proof"] = create_proof(forged, other, created=NOW)
    with pytest.raises(sl.StatusListError) as caught:
        sl.check_list_credential(forged)
    assert caught.value.code == sl.STATUS_LIST_INVALID_PROOF


@pytest.mark.parametrize(
    "kw,code",
    [
        ({"url": f"{BASE}/{AGENCY}/2/revocation"}, sl.STATUS_LIST_WRONG_LIST),
        ({"purpose": "suspension"}, sl.STATUS_LIST_PURPOSE_MISMATCH),
        ({"now": NOW - timedelta(seconds=1)}, sl.STATUS_LIST_NOT_YET_VALID),
        ({"now": NOW + timedelta(hours=24, seconds=1)}, sl.STATUS_LIST_EXPIRED),  # valid up to validUntil itself
    ],
)
def test_a_list_for_another_place_purpose_or_time_is_refused(kw, code):
    _, doc = _list([3])
    with pytest.raises(sl.StatusListError) as caught:
        sl.check_list_credential(doc, **kw)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "path,value,field",
    [
        (("@context",), ["https://www.w3.org/2018/credentials/v1"], "@context"),
        (("type",), ["VerifiableCredential"], "type"),
        (("issuer",), "did:key:z6Mk", "issuer"),
        (("credentialSubject", "type"), "StatusList2021", "credentialSubject.type"),
        (("credentialSubject", "id"), "urn:x", "credentialSubject.id"),
        (("credentialSubject", "ttl"), -1, "credentialSubject.ttl"),
        (("validUntil",), "tomorrow", "validUntil"),
    ],
)
def test_malformed_list_credentials_name_the_field(path, value, field):
    _, doc = _list([3])
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(sl.StatusListError) as caught:
        sl.check_list_credential(doc, verify=False)
    assert (caught.value.code, caught.value.field) == (sl.STATUS_LIST_MALFORMED, field)


def test_building_refuses_what_would_not_verify_or_be_too_small():
    url = sl.list_url(BASE, AGENCY, 1, "revocation")
    other = SigningKey.from_seed(bytes(range(1, 33)))
    with pytest.raises(ValueError, match="did:key"):
        sl.build_list_credential(url, "revocation", _issuer(other), KEY, [], now=NOW)
    with pytest.raises(ValueError, match="at least"):
        sl.build_list_credential(url, "revocation", _issuer(), KEY, [], size=8 * 1024, now=NOW)
    with pytest.raises(ValueError):
        sl.build_list_credential(url, "refresh", _issuer(), KEY, [], now=NOW)
