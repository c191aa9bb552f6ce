"""XML Schema dateTime parsing/formatting, digest and 0x-hex helpers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.protocol.canonical import canonicalize
from ledger.protocol.datetimes import DateTimeFormatError, format_utc, parse_utc_datetime, parse_xsd_datetime
from ledger.protocol.digest import credential_digest, credential_digest_hex, from_hex32, is_hex32, to_hex32
from ledger.protocol.identifiers import agency_code_from_iri, agency_id, agency_iri, check_type_name, type_id

UTC = UTC


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2024-01-31T08:00:00Z", datetime(2024, 1, 31, 8, tzinfo=UTC)),
        ("2024-01-31T08:00:00.25Z", datetime(2024, 1, 31, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2024-01-31T08:00:00+08:00", datetime(2024, 1, 31, 0, tzinfo=UTC)),
        ("2024-12-31T24:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-02-29T00:00:00-00:00", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_parse_xsd_datetime(text, expected):
    assert parse_xsd_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31",
        "2024-01-31T08:00:00",
        "2024-01-31 08:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-31T25:00:00Z",
        "24-01-31T08:00:00Z",
        "2024-01-31T08:00Z",
        "2024-01-31T08:00:00+15:00",
        "10000-01-01T00:00:00Z",
        "",
        None,
        20240131,
    ],
)
def test_invalid_datetimes(text):
    with pytest.raises(DateTimeFormatError):
        parse_xsd_datetime(text)


def test_utc_required_for_credential_dates():
    assert parse_utc_datetime("2024-01-01T00:00:00+00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(DateTimeFormatError, match="UTC"):
        parse_utc_datetime("2024-01-01T08:00:00+08:00")


def test_format_utc():
    assert (
        format_utc(datetime(2024, 1, 1, 8, 0, 0, 999999, tzinfo=timezone(timedelta(hours=8)))) == "2024-01-01T00:00:00Z"
    )
    assert format_utc(datetime(5, 1, 1, tzinfo=UTC)) == "0005-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        format_utc(datetime(2024, 1, 1))


def test_digest_is_sha256_of_jcs():
    cred = {"b": 1, "a": "é", "proof": {"z": None}}
    assert credential_digest(cred) == hashlib.sha256(canonicalize(cred)).digest()
    assert credential_digest({"a": "é", "b": 1, "proof": {"z": None}}) == credential_digest(cred)
    assert (
        credential_digest_hex(cred) == "0x" + hashlib.sha256(b'{"a":"\xc3\xa9","b":1,"proof":{"z":null}}').hexdigest()
    )


def test_hex32():
    b = bytes(range(32))
    assert to_hex32(b) == "0x" + b.hex() and from_hex32(to_hex32(b)) == b
    for bad in ["0x" + b.hex().upper(), b.hex(), "0X" + b.hex(), "0x" + b.hex()[:-1], "0x" + "g" * 64, None]:
        assert not is_hex32(bad)
        with pytest.raises(ValueError):
            from_hex32(bad)
    with pytest.raises(ValueError):
        to_hex32(b"\x00" * 31)


def test_identifiers_known_values():
    # keccak256("") and keccak256("abc") are well known; the rule is keccak256(utf8(code))
    assert agency_id("abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert type_id("DegreeCertificate") == agency_id.__globals__["keccak256"](b"DegreeCertificate")
    assert agency_iri("zj-hz-education") == "urn:certledger:agency:zj-hz-education"
    assert agency_code_from_iri("urn:certledger:agency:zj-hz-education") == "zj-hz-education"


@pytest.mark.parametrize("code", ["ab", "A-b-c", "zj_hz", "a" * 65, "", "教育局", None])
def test_bad_agency_codes(code):
    with pytest.raises(ValueError):
        agency_id(code)


@pytest.mark.parametrize("name", ["VerifiableCredential", "degree", "De", "Degree Certificate", "Dé"])
def test_bad_type_names(name):
    with pytest.raises(ValueError):
        check_type_name(name)
