"""XML Schema dateTime values, as Verifiable Credentials and Data Integrity use them.

CertLedger *writes* one form only, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole
seconds), so a credential's bytes do not depend on the issuer's clock
precision or locale. It *reads* any XML Schema 1.1 ``dateTimeStamp``
(timezone required, fractional seconds allowed); ``validFrom``/``validUntil``
must additionally be in UTC (``Z``, ``+00:00`` or ``-00:00``), as
docs/protocol.md §3.4 requires.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_XSD_DATETIME = re.compile(
    r"(?P<year>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"T(?:(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])(?P<frac>\.[0-9]+)?"
    r"|(?P<h24>24:00:00(?:\.0+)?))"
    r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


# The one form CertLedger writes. Verification parses several of these per credential and
# they repeat across a batch, so this form takes a short, cached path; anything else (and
# anything this path cannot build, e.g. day 31 of a short month) goes to the general parser,
# which gives the same value or the same error.
_CANONICAL_UTC = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
_UTC = UTC


class DateTimeFormatError(ValueError):
    """Not an XML Schema dateTime of the required kind."""


@lru_cache(maxsize=1024)
def _parse_canonical_utc(text: str) -> datetime | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` -> aware UTC datetime; None when not that form or not a real time."""
    m = _CANONICAL_UTC.fullmatch(text)
    if m is None:
        return None
    try:
        return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), tzinfo=_UTC)
    except ValueError:  # month 13, 24:00:00, year 0000...: the general parser says why
        return None


def parse_xsd_datetime(text: str, *, require_tz: bool = True, require_utc: bool = False) -> datetime:
    """Parse an XML Schema dateTime; returns an aware UTC ``datetime``.

    ``require_tz`` (default) makes it a ``dateTimeStamp``; ``require_utc``
    accepts only the UTC zone. Years outside 0001..9999 are refused (beyond
    what any certificate needs, and beyond Python's ``datetime``).
    """
    if type(text) is str and len(text) == 20:
        dt = _parse_canonical_utc(text)
        if dt is not None:
            return dt  # Z satisfies require_tz and require_utc
    return _parse_xsd_general(text, require_tz, require_utc)


def _parse_xsd_general(text: str, require_tz: bool, require_utc: bool) -> datetime:
    if not isinstance(text, str):
        raise DateTimeFormatError("must be a string")
    m = _XSD_DATETIME.fullmatch(text)
    if m is None:
        raise DateTimeFormatError(f"{text!r} is not an XML Schema dateTime (e.g. 2024-01-31T08:00:00Z)")
    tz = m["tz"]
    if tz is None:
        if require_tz:
            raise DateTimeFormatError(f"{text!r} has no timezone; use UTC, e.g. 2024-01-31T08:00:00Z")
        offset = timedelta(0)
    elif tz == "Z":
        offset = timedelta(0)
    else:
        sign = 1 if tz[0] == "+" else -1
        offset = sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    if require_utc and offset != timedelta(0):
        raise DateTimeFormatError(f"{text!r} is not in UTC; write it with a trailing Z")
    year = int(m["year"])
    if not 1 <= year <= 9999:
        raise DateTimeFormatError(f"{text!r}: year {year} is out of the supported range 0001-9999")
    try:
        if m["h24"]:
            dt = datetime(year, int(m["month"]), int(m["day"])) + timedelta(days=1)
        else:
            frac = m["frac"]
            micro = int((frac[1:] + "000000")[:6]) if frac else 0
            dt = datetime(
                year,
                int(m["month"]),
                int(m["day"]),
                int(m["hour"]),
                int(m["minute"]),
                int(m["second"]),
                micro,
            )
        return (dt - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise DateTimeFormatError(f"{text!r} is not a real date/time: {exc}") from None


def parse_utc_datetime(text: str) -> datetime:
    """A credential date (``validFrom``...): XML Schema dateTime in UTC."""
    return parse_xsd_datetime(text, require_tz=True, require_utc=True)


def format_utc(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for an aware datetime (fractions of a second dropped)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("refusing a naive datetime; give a timezone-aware one (e.g. UTC)")
    u = dt.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


__all__ = ["DateTimeFormatError", "format_utc", "parse_utc_datetime", "parse_xsd_datetime", "utc_now"]
