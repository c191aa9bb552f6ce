"""Agency and credential-type identifiers (docs/protocol.md §2, "Identifiers").

An agency has a short code (``[a-z0-9-]{3,64}``, e.g. ``zj-hz-education``);
on chain it is ``agencyId = keccak256(utf8(code))`` and in a credential it is
named by the IRI ``urn:certledger:agency:<code>`` (``issuer.agency``; the
issuer's ``id`` is the did:key of the signing key, docs/protocol.md). A credential type name (e.g.
``DegreeCertificate``) is ``typeId = keccak256(utf8(name))`` on chain.
"""

from __future__ import annotations

import re

from ledger.protocol.keccak import keccak256

AGENCY_CODE_RE = re.compile(r"[a-z0-9-]{3,64}")
AGENCY_IRI_PREFIX = "urn:certledger:agency:"
# Type names are VC type terms: PascalCase ASCII, 3..64 characters.
TYPE_NAME_RE = re.compile(r"[A-Z][A-Za-z0-9]{2,63}")
_RESERVED_TYPE_NAMES = frozenset({"VerifiableCredential", "VerifiablePresentation"})


def is_agency_code(code: object) -> bool:
    return isinstance(code, str) and AGENCY_CODE_RE.fullmatch(code) is not None


def check_agency_code(code: str) -> str:
    """Return ``code`` if valid, else raise ``ValueError`` saying the rule."""
    if not is_agency_code(code):
        raise ValueError(f"agency code {code!r} must be 3-64 characters of lowercase letters, digits and '-'")
    return code


def agency_id(code: str) -> bytes:
    """``keccak256(utf8(code))``: the agency's 32-byte id on chain."""
    return keccak256(check_agency_code(code).encode("utf-8"))


def is_type_name(name: object) -> bool:
    return isinstance(name, str) and TYPE_NAME_RE.fullmatch(name) is not None and name not in _RESERVED_TYPE_NAMES


def check_type_name(name: str) -> str:
    if not is_type_name(name):
        raise ValueError(
            f"credential type name {name!r} must be 3-64 ASCII letters/digits starting with "
            "an uppercase letter (e.g. DegreeCertificate), and not a reserved VC term"
        )
    return name


def type_id(name: str) -> bytes:
    """``keccak256(utf8(name))``: the credential type's 32-byte id on chain."""
    return keccak256(check_type_name(name).encode("utf-8"))


def agency_iri(code: str) -> str:
    """``urn:certledger:agency:<code>``."""
    return AGENCY_IRI_PREFIX + check_agency_code(code)


def agency_code_from_iri(value: str) -> str:
    """The agency code inside ``urn:certledger:agency:<code>`` (``ValueError`` otherwise)."""
    if not isinstance(value, str) or not value.startswith(AGENCY_IRI_PREFIX):
        raise ValueError(f"must be {AGENCY_IRI_PREFIX}<agency code>")
    return check_agency_code(value[len(AGENCY_IRI_PREFIX) :])


__all__ = [
    "AGENCY_CODE_RE",
    "AGENCY_IRI_PREFIX",
    "TYPE_NAME_RE",
    "agency_code_from_iri",
    "agency_id",
    "agency_iri",
    "check_agency_code",
    "check_type_name",
    "is_agency_code",
    "is_type_name",
    "type_id",
]
