"""The verification hot path's shortcuts agree with the general code they stand in for.

Each shortcut handles the common case and hands everything else to the exact implementation;
these tests compare the two on generated inputs, and check that every fallback trigger falls back.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import datetimes
from ledger.datetimes import DateTimeFormatError, parse_utc_datetime, parse_xsd_datetime

# ------------------------------------------------------------------ dateTime


def _general(text, **kw):
    try:
        return datetimes._parse_xsd_general(text, kw.get("require_tz", True), kw.get("require_utc", False))
    except DateTimeFormatError as exc:
        return ("error", str(exc))


def _public(text, **kw):
    try:
        return parse_xsd_datetime(text, **kw)
    except DateTimeFormatError as exc:
        return ("error", str(exc))


_two = st.integers(0, 99).map(lambda v: f"{v:02d}")
_canonical_shaped = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo}-{d}T{h}:{mi}:{s}Z",
    st.integers(0, 9999), _two, _two, _two, _two, _two,
)


@settings(max_examples=3000, deadline=None)
@given(_canonical_shaped, st.booleans(), st.booleans())
def test_canonical_form_shortcut_agrees_with_the_general_parser(text, require_tz, require_utc):
    kw = {"require_tz": require_tz, "require_utc": require_utc}
    assert _public(text, **kw) == _general(text, **kw)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T08:00:00Z", "2024-02-29T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        # forms the shortcut must leave to the general parser (valid or not)
        "2024-12-31T24:00:00Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-01-31T08:00:60Z", "2024-01-31T08:60:00Z", "2024-01-31T08:00:00z", "2024-01-31t08:00:00Z",
        "2024-01-31T08:00:00+00:00", "2024-01-31T08:00:00.5Z", "２０２４-01-31T08:00:00Z",
        "2024-01-31T0８:00:00Z", "+024-01-31T08:00:00Z", "-024-01-31T08:00:00Z",
    ],
)
def test_shortcut_edge_cases(text):
    for kw in ({}, {"require_utc": True}, {"require_tz": False}):
        assert _public(text, **kw) == _general(text, **kw)
    assert _public(text) == _public(text)  # a cached answer is the same answer


def test_shortcut_result_is_aware_utc():
    dt = parse_utc_datetime("2024-01-31T08:00:00Z")
    assert dt.tzinfo is not None and dt.utcoffset().total_seconds() == 0
    assert dt == _general("2024-01-31T08:00:00Z")


class _Str(str):
    pass


def test_str_subclass_and_non_strings_take_the_general_path():
    assert parse_xsd_datetime(_Str("2024-01-31T08:00:00Z")) == _general("2024-01-31T08:00:00Z")
    with pytest.raises(DateTimeFormatError):
        parse_xsd_datetime(b"2024-01-31T08:00:00Z")


# ------------------------------------------------------------------ base58

import base58  # noqa: E402

from ledger import did_key  # noqa: E402
from ledger.did_key import DidKeyError  # noqa: E402

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=_B58, max_size=200))
def test_b58decode_matches_the_reference_for_any_string_of_the_alphabet(text):
    assert did_key.b58decode(text) == base58.b58decode(text)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=90))
def test_b58_round_trip_including_leading_zeros(data):
    assert did_key.b58decode(did_key.b58encode(data)) == data


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", "+", " ", "\x00", "é", "１", "\U0001f600", "\udc00"])
@pytest.mark.parametrize("length", [1, 50, 96, 97, 150])
def test_b58decode_refuses_foreign_characters(bad, length):
    text = ("z" * length)[:-1] + bad
    with pytest.raises(DidKeyError):
        did_key.b58decode(text)
    with pytest.raises(DidKeyError):
        did_key.b58decode(bad + ("2" * length)[1:])
