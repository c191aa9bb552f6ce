"""W3C Bitstring Status List v1.0 for CertLedger credentials (docs: notes "Status lists") — pure, no I/O.

Every credential carries two ``BitstringStatusListEntry`` objects (revocation and suspension) naming
the same list id and index, so that a third-party W3C verifier can learn its status from the
issuer's published list credentials; the chain stays the source of truth, and the lists are
computed from the confirmed states the issuer's database records
(``ledger.issuance.status_publisher``).

* A list has :data:`LIST_SIZE` entries (one bit each, ``statusSize`` 1). Bit ``i`` is byte ``i // 8``,
  mask ``0x80 >> (i % 8)``: index 0 is the left-most bit.
* ``encodedList`` is ``"u"`` + base64url without padding of the GZIP of the bitstring
  (multibase base64url). The GZIP header carries no time (mtime 0), so the same bits always give the
  same text.
* The list credential lives at ``<base>/<agency code>/<list id>/<purpose>`` (:func:`list_url`), is a
  ``BitstringStatusListCredential`` issued by the same issuer object the credentials carry
  (``{"id": did:key, "name": …, "agency": "urn:certledger:agency:<code>"}``), valid for 24 hours,
  with a ``ttl`` of 60 s, and signed eddsa-jcs-2022 by the list's key.

:func:`check_list_credential` is the reading side (tests, and the verifier): the shape, the proof,
the validity period and the bits, each failure a :class:`StatusListError` with a stable ``code``
and the field at fault.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from ledger.protocol.contexts import CREDENTIAL_CONTEXT, VC_V2_CONTEXT
from ledger.protocol.datetimes import DateTimeFormatError, format_utc, parse_xsd_datetime
from ledger.protocol.identifiers import agency_iri, check_agency_code
from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import ProofVerificationError, create_proof, verify_proof

LIST_SIZE = 131_072  # entries per list: the W3C minimum (16 KiB uncompressed)
PURPOSES = ("revocation", "suspension")  # a credential's entries, in this order
CONTEXT = CREDENTIAL_CONTEXT
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
ENTRY_TYPE = "BitstringStatusListEntry"
DEFAULT_VALID_FOR = timedelta(hours=24)
DEFAULT_TTL_MS = 60_000
MEDIA_TYPE = "application/vc"  # IANA-registered for VC Data Model 2.0 (2024-07-05)
MAX_LIST_BYTES = 16 * 1024 * 1024  # reading a list: a larger bitstring is refused (a GZIP bomb)

# Stable codes of StatusListError
STATUS_LIST_MALFORMED = "STATUS_LIST_MALFORMED"
STATUS_LIST_ENCODING = "STATUS_LIST_ENCODING"
STATUS_LIST_WRONG_LIST = "STATUS_LIST_WRONG_LIST"
STATUS_LIST_PURPOSE_MISMATCH = "STATUS_LIST_PURPOSE_MISMATCH"
STATUS_LIST_INVALID_PROOF = "STATUS_LIST_INVALID_PROOF"
STATUS_LIST_NOT_YET_VALID = "STATUS_LIST_NOT_YET_VALID"
STATUS_LIST_EXPIRED = "STATUS_LIST_EXPIRED"
STATUS_ENTRY_MALFORMED = "STATUS_ENTRY_MALFORMED"
STATUS_INDEX_OUT_OF_RANGE = "STATUS_INDEX_OUT_OF_RANGE"  # the W3C RANGE_ERROR

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,14}")
_LIST_URL = re.compile(r"https?://[^\s#]+")


class StatusListError(ValueError):
    """A list credential, an encoded list or a status entry that is not as it must be."""

    def __init__(self, code: str, field: str, reason: str) -> None:
        super().__init__(f"{code}: {field}: {reason}")
        self.code, self.field, self.reason = code, field, reason


# ------------------------------------------------------------------------------------ bits


def _check_size(size: int) -> int:
    if type(size) is not int or size <= 0 or size % 8:
        raise ValueError(f"a list size must be a positive multiple of 8, not {size!r}")
    return size


def bitstring(set_indexes: Iterable[int], size: int = LIST_SIZE) -> bytes:
    """The raw bitstring (``size // 8`` bytes) with the bits of ``set_indexes`` set."""
    bits = bytearray(_check_size(size) // 8)
    for i in set_indexes:
        if type(i) is not int or not 0 <= i < size:
            raise ValueError(f"status index {i!r} is outside the list (0..{size - 1})")
        bits[i >> 3] |= 0x80 >> (i & 7)
    return bytes(bits)


def compress(bits: bytes) -> str:
    """``encodedList`` of a raw bitstring: ``u`` + base64url (no padding) of its GZIP (mtime 0)."""
    packed = gzip.compress(bits, compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def encode_bits(set_indexes: Iterable[int], size: int = LIST_SIZE) -> str:
    """``encodedList`` of a list of ``size`` entries with ``set_indexes`` set (deterministic)."""
    return compress(bitstring(set_indexes, size))


def decode_bits(encoded: object, size: int | None = None) -> bytes:
    """The raw bitstring of an ``encodedList``, strictly: multibase ``u`` (base64url, no padding,
    canonical), one GZIP member and nothing after it, at least :data:`LIST_SIZE` bits (the W3C
    minimum of 16 KiB) and at most :data:`MAX_LIST_BYTES`, and exactly ``size`` bits when given.
    Raises :class:`StatusListError` (code ``STATUS_LIST_ENCODING``)."""
    field = "credentialSubject.encodedList"
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError(STATUS_LIST_ENCODING, field, "must be a multibase base64url string (starting with 'u')")
    text = encoded[1:]
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise StatusListError(STATUS_LIST_ENCODING, field, "is not base64url without padding")
    packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii") != text:
        raise StatusListError(STATUS_LIST_ENCODING, field, "is not canonical base64url (stray bits at the end)")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP only
    try:
        bits = inflater.decompress(packed, MAX_LIST_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError(STATUS_LIST_ENCODING, field, f"is not GZIP data ({exc})") from None
    if len(bits) > MAX_LIST_BYTES:
        raise StatusListError(STATUS_LIST_ENCODING, field, f"decompresses to more than {MAX_LIST_BYTES} bytes")
    if not inflater.eof:
        raise StatusListError(STATUS_LIST_ENCODING, field, "the GZIP data is truncated")
    if inflater.unused_data:
        raise StatusListError(STATUS_LIST_ENCODING, field, "has data after the GZIP member")
    if len(bits) * 8 < LIST_SIZE:
        raise StatusListError(
            STATUS_LIST_ENCODING, field, f"holds {len(bits) * 8} bits; a list has at least {LIST_SIZE}"
        )
    if size is not None and len(bits) * 8 != size:
        raise StatusListError(STATUS_LIST_ENCODING, field, f"holds {len(bits) * 8} bits, not {size}")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    """Whether entry ``index`` is set; an index outside the list is the W3C RANGE_ERROR."""
    if type(index) is not int or not 0 <= index < len(bits) * 8:
        raise StatusListError(
            STATUS_INDEX_OUT_OF_RANGE, "statusListIndex", f"{index!r} is outside the list (0..{len(bits) * 8 - 1})"
        )
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def set_indexes(bits: bytes) -> list[int]:
    """The indexes of the set bits, ascending."""
    found: list[int] = []
    for pos, byte in enumerate(bits):
        if byte:
            base = pos << 3
            found.extend(base + k for k in range(8) if byte & (0x80 >> k))
    return found


def bits_sha256(bits: bytes) -> str:
    """SHA-256 hex of a raw bitstring: what the publisher compares to tell whether a list changed."""
    return hashlib.sha256(bits).hexdigest()


# ---------------------------------------------------------------------------- addresses


def _check_list_id(list_id: int) -> int:
    if type(list_id) is not int or list_id < 1:
        raise ValueError(f"a list id is a positive integer, not {list_id!r}")
    return list_id


def _check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"a status purpose is one of {', '.join(PURPOSES)}, not {purpose!r}")
    return purpose


def list_url(base: str, agency_code: str, list_id: int, purpose: str) -> str:
    """``<base>/<agency code>/<list id>/<purpose>``: where the list credential is published."""
    if not isinstance(base, str) or not base.strip():
        raise ValueError("the status base URL must be a non-empty string")
    check_agency_code(agency_code)
    return f"{base.rstrip('/')}/{agency_code}/{_check_list_id(list_id)}/{_check_purpose(purpose)}"


def status_entries(base: str, agency_code: str, list_id: int, index: int) -> list[dict[str, Any]]:
    """A credential's ``credentialStatus``: its revocation entry, then its suspension entry, both in
    list ``list_id`` at ``index``."""
    return entries_at([list_url(base, agency_code, list_id, purpose) for purpose in PURPOSES], index)


def entries_at(urls: list[str], index: int) -> list[dict[str, Any]]:
    """:func:`status_entries` from the lists' URLs (revocation, suspension) already made: a signer
    makes them once per list, not once per credential."""
    if type(index) is not int or not 0 <= index < LIST_SIZE:
        raise ValueError(f"a status index is an integer from 0 to {LIST_SIZE - 1}, not {index!r}")
    return [
        {
            "id": f"{url}#{index}",
            "type": ENTRY_TYPE,
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": url,
        }
        for purpose, url in zip(PURPOSES, urls)
    ]


class StatusEntry(NamedTuple):  # a tuple: read twice per credential signed or verified
    """One ``BitstringStatusListEntry`` as read from a credential."""

    list_url: str
    purpose: str
    index: int  # type: ignore[assignment]  # a field named index, shadowing tuple.index (a NamedTuple for speed)


@lru_cache(maxsize=1024)  # a list's URL comes back with every credential in it
def _is_list_url(url: str) -> bool:
    return _LIST_URL.fullmatch(url) is not None


def parse_status_entry(entry: object, field: str = "credentialStatus") -> StatusEntry:
    """A ``BitstringStatusListEntry`` of a credential, checked: type, purpose, a decimal index (no
    sign, no leading zero), a list URL, and an ``id`` that is ``<list URL>#<index>`` when present."""

    def bad(member: str, reason: str) -> StatusListError:
        return StatusListError(STATUS_ENTRY_MALFORMED, f"{field}.{member}" if member else field, reason)

    if not isinstance(entry, Mapping):
        raise bad("", "must be a JSON object")
    if entry.get("type") != ENTRY_TYPE:
        raise bad("type", f"must be {ENTRY_TYPE}")
    purpose = entry.get("statusPurpose")
    if purpose not in PURPOSES:
        raise bad("statusPurpose", f"must be one of {', '.join(PURPOSES)}")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not _DECIMAL.fullmatch(index):
        raise bad(
            "statusListIndex", "must be a non-negative decimal integer written as a string, without leading zeros"
        )
    url = entry.get("statusListCredential")
    if type(url) is not str or not _is_list_url(url):
        raise bad("statusListCredential", "must be an http(s) URL without a fragment")
    if "id" in entry and entry["id"] != f"{url}#{index}":
        raise bad("id", "must be the list URL followed by #<statusListIndex>")
    if "statusSize" in entry and not (type(entry["statusSize"]) in (int, float) and entry["statusSize"] == 1):
        raise bad("statusSize", "must be 1")
    return StatusEntry(url, purpose, int(index))


# ------------------------------------------------------------------------- the list credential


def issuer_object(public_did: str, name: str, agency_code: str) -> dict[str, Any]:
    """The issuer object credentials carry: did:key of the signing key, display name, agency IRI."""
    return {"id": public_did, "name": name, "agency": agency_iri(agency_code)}


def unsigned_list_credential(
    url: str,
    purpose: str,
    issuer: Mapping[str, Any],
    encoded_list: str,
    now: datetime,
    valid_for: timedelta = DEFAULT_VALID_FOR,
    ttl_ms: int = DEFAULT_TTL_MS,
) -> dict[str, Any]:
    _check_purpose(purpose)
    return {
        "@context": list(CONTEXT),
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": dict(issuer),
        "validFrom": format_utc(now),
        "validUntil": format_utc(now + valid_for),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": encoded_list,
            "ttl": ttl_ms,
        },
    }


def build_list_credential(
    url: str,
    purpose: str,
    issuer_obj: Mapping[str, Any],
    signing_key: SigningKey,
    set_indexes: Iterable[int],
    size: int = LIST_SIZE,
    now: datetime | None = None,
    valid_for: timedelta = DEFAULT_VALID_FOR,
    ttl_ms: int = DEFAULT_TTL_MS,
) -> dict[str, Any]:
    """The signed ``BitstringStatusListCredential`` at ``url`` for ``purpose`` with ``set_indexes``
    set: valid from ``now`` (whole seconds) for ``valid_for``, proof created at ``now``. The
    issuer's ``id`` must be the did:key of ``signing_key``."""
    if now is None:
        raise ValueError("give the time the list is generated at (now)")
    if size < LIST_SIZE:
        raise ValueError(f"a status list has at least {LIST_SIZE} entries")
    if not isinstance(issuer_obj, Mapping) or issuer_obj.get("id") != signing_key.public_key.did:
        raise ValueError("the list's issuer id must be the did:key of the key that signs it")
    if type(ttl_ms) is not int or ttl_ms < 0:
        raise ValueError("ttl is a non-negative number of milliseconds")
    now = now.replace(microsecond=0)
    document = unsigned_list_credential(
        url, purpose, issuer_obj, encode_bits(set_indexes, size), now, valid_for, ttl_ms
    )
    document["proof"] = create_proof(document, signing_key, created=now)
    return document


@dataclass(frozen=True)
class StatusListView:
    """A checked list credential (:func:`check_list_credential`)."""

    url: str
    purpose: str
    issuer: dict[str, Any]
    valid_from: datetime | None
    valid_until: datetime | None
    ttl_ms: int | None
    bits: bytes

    @property
    def size(self) -> int:
        return len(self.bits) * 8

    def is_set(self, index: int) -> bool:
        return is_set(self.bits, index)

    def set_indexes(self) -> list[int]:
        return set_indexes(self.bits)


def check_list_credential(
    document: object,
    *,
    url: str | None = None,
    purpose: str | None = None,
    now: datetime | None = None,
    verify: bool = True,
) -> StatusListView:
    """A ``BitstringStatusListCredential`` checked and decoded, or :class:`StatusListError`:

    * shape (``STATUS_LIST_MALFORMED``): ``@context`` starting with VC 2.0, the two types, an issuer
      object whose ``id`` is a did:key, the subject (``id`` = ``<id>#list``, type, purpose, ttl);
    * ``url`` (``STATUS_LIST_WRONG_LIST``): the list's ``id`` must be the URL it was fetched from;
    * ``purpose`` (``STATUS_LIST_PURPOSE_MISMATCH``): the entry's purpose must be the list's;
    * ``encodedList`` (``STATUS_LIST_ENCODING``, :func:`decode_bits`);
    * ``verify`` (``STATUS_LIST_INVALID_PROOF``): the eddsa-jcs-2022 proof, by a key of the issuer's did:key;
    * ``now`` (``STATUS_LIST_NOT_YET_VALID``, ``STATUS_LIST_EXPIRED``): within validFrom..validUntil.
    """

    def bad(field: str, reason: str, code: str = STATUS_LIST_MALFORMED) -> StatusListError:
        return StatusListError(code, field, reason)

    if not isinstance(document, Mapping):
        raise bad("", "the list credential is not a JSON object")
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V2_CONTEXT:
        raise bad("@context", f"must be a list starting with {VC_V2_CONTEXT}")
    types = document.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types or LIST_CREDENTIAL_TYPE not in types:
        raise bad("type", f"must include VerifiableCredential and {LIST_CREDENTIAL_TYPE}")
    list_id = document.get("id")
    if not isinstance(list_id, str) or not list_id:
        raise bad("id", "must be the list's URL")
    if url is not None and list_id != url:
        raise bad("id", f"is {list_id!r}, not the URL the list was read from ({url})", STATUS_LIST_WRONG_LIST)
    issuer = document.get("issuer")
    if (
        not isinstance(issuer, Mapping)
        or not isinstance(issuer.get("id"), str)
        or not issuer["id"].startswith("did:key:")
    ):
        raise bad("issuer", "must be an object whose id is a did:key")
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise bad("credentialSubject", "must be a JSON object")
    if subject.get("type") != LIST_TYPE:
        raise bad("credentialSubject.type", f"must be {LIST_TYPE}")
    if "id" in subject and subject["id"] != f"{list_id}#list":
        raise bad("credentialSubject.id", "must be the list's id followed by #list")
    list_purpose = subject.get("statusPurpose")
    if not isinstance(list_purpose, str) or not list_purpose:
        raise bad("credentialSubject.statusPurpose", "must be a non-empty string")
    if purpose is not None and list_purpose != purpose:
        raise bad(
            "credentialSubject.statusPurpose",
            f"is {list_purpose!r}, the entry's purpose is {purpose!r}",
            STATUS_LIST_PURPOSE_MISMATCH,
        )
    ttl = subject.get("ttl")
    if ttl is not None and (type(ttl) is not int or ttl < 0):
        raise bad("credentialSubject.ttl", "must be a non-negative integer (milliseconds)")
    dates: dict[str, datetime | None] = {}
    for name in ("validFrom", "validUntil"):
        value = document.get(name)
        if value is None:
            dates[name] = None
            continue
        try:
            dates[name] = parse_xsd_datetime(value) if isinstance(value, str) else None
        except DateTimeFormatError as exc:
            raise bad(name, str(exc)) from None
        if dates[name] is None:
            raise bad(name, "must be an XML Schema dateTime string")
    bits = decode_bits(subject.get("encodedList"))
    if verify:
        try:
            verified = verify_proof(document)
        except ProofVerificationError as exc:
            raise bad("proof", f"{exc.code}: {exc.reason}", STATUS_LIST_INVALID_PROOF) from None
        if verified.public_key.did != issuer["id"]:
            raise bad("proof.verificationMethod", "is not a key of the list's issuer", STATUS_LIST_INVALID_PROOF)
    if now is not None:
        if dates["validFrom"] is not None and now < dates["validFrom"]:
            raise bad("validFrom", f"the list is valid only from {document['validFrom']}", STATUS_LIST_NOT_YET_VALID)
        if dates["validUntil"] is not None and now > dates["validUntil"]:  # as for credentials: valid up to it
            raise bad("validUntil", f"the list expired at {document['validUntil']}", STATUS_LIST_EXPIRED)
    return StatusListView(list_id, list_purpose, dict(issuer), dates["validFrom"], dates["validUntil"], ttl, bits)


__all__ = [
    "CONTEXT",
    "DEFAULT_TTL_MS",
    "DEFAULT_VALID_FOR",
    "LIST_SIZE",
    "MEDIA_TYPE",
    "PURPOSES",
    "StatusEntry",
    "StatusListError",
    "StatusListView",
    "bits_sha256",
    "bitstring",
    "build_list_credential",
    "check_list_credential",
    "compress",
    "decode_bits",
    "encode_bits",
    "entries_at",
    "is_set",
    "issuer_object",
    "list_url",
    "parse_status_entry",
    "set_indexes",
    "status_entries",
    "unsigned_list_credential",
]
