"""parse_xsd_datetime's shortcut for the canonical UTC form agrees with the general parser it stands in for."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.protocol import datetimes
from ledger.protocol.datetimes import DateTimeFormatError, parse_utc_datetime, parse_xsd_datetime


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
    st.integers(0, 9999),
    _two,
    _two,
    _two,
    _two,
    _two,
)


@pytest.mark.slow  # an exhaustive property run: make test, not make check
@settings(max_examples=3000, deadline=None)
@given(_canonical_shaped, st.booleans(), st.booleans())
def test_canonical_form_shortcut_agrees_with_the_general_parser(text, require_tz, require_utc):
    kw = {"require_tz": require_tz, "require_utc": require_utc}
    assert _public(text, **kw) == _general(text, **kw)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T08:00:00Z",
        "2024-02-29T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        # forms the shortcut must leave to the general parser (valid or not)
        "2024-12-31T24:00:00Z",
        "2023-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-31T08:00:60Z",
        "2024-01-31T08:60:00Z",
        "2024-01-31T08:00:00z",
        "2024-01-31t08:00:00Z",
        "2024-01-31T08:00:00+00:00",
        "2024-01-31T08:00:00.5Z",
        "２０２４-01-31T08:00:00Z",
        "2024-01-31T0８:00:00Z",
        "+024-01-31T08:00:00Z",
        "-024-01-31T08:00:00Z",
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
