"""The CertLedger credential, protocol v2: a W3C Verifiable Credential 2.0 (docs/protocol.md,
"Credential").

Shape::

    {"@context": ["https://www.w3.org/ns/credentials/v2",
                  "https://www.w3.org/ns/credentials/undefined-terms/v2"],
     "id": "urn:uuid:…",
     "type": ["VerifiableCredential", "<type name>"],
     "issuer": {"id": "did:key:z6Mk…", "name": "…", "agency": "urn:certledger:agency:<code>"},
     "validFrom": "YYYY-MM-DDTHH:MM:SSZ", "validUntil": "…" (optional),
     "credentialSubject": {…claims, checked against the type's JSON Schema…},
     "credentialStatus": [<revocation entry>, <suspension entry>],   (Bitstring Status List)
     "proof": {eddsa-jcs-2022 DataIntegrityProof, see ledger.protocol.proof}}

The issuer is the did:key of the signing key, because W3C verifiers require the issuer to control
the proof's verification method; ``issuer.agency`` names the agency, which a verifier trusts only
once the chain confirms that this key belonged to it. The second context (W3C's issuer-dependent
``@vocab``) makes every type name and claim a defined term, so JSON-LD processors in safe mode
keep them all.

:func:`issue_credential` validates, builds and signs; :func:`check_credential` is the verifier's
``format`` check: it reports every deviation from this profile as ``{field, reason}`` and returns a
typed view of the credential.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol, TypeGuard, cast

from ledger.protocol import did_key
from ledger.protocol.canonical_plain import is_plain
from ledger.protocol.contexts import CREDENTIAL_CONTEXT, UNDEFINED_TERMS_CONTEXT, VC_V2_CONTEXT
from ledger.protocol.datetimes import DateTimeFormatError, format_utc, parse_utc_datetime, parse_xsd_datetime, utc_now
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.identifiers import (
    agency_code_from_iri,
    agency_id,
    agency_iri,
    check_agency_code,
    is_type_name,
    type_id,
)
from ledger.protocol.ijson import number_errors
from ledger.protocol.keys import PublicKey, SigningKey
from ledger.protocol.proof import ASSERTION_METHOD, CRYPTOSUITE, PROOF_TYPE, create_proof
from ledger.protocol.status_list import ENTRY_TYPE, StatusListError, parse_status_entry
from ledger.protocol.status_list import PURPOSES as STATUS_PURPOSES

VERIFIABLE_CREDENTIAL = "VerifiableCredential"
GENERIC_CREDENTIAL = "GenericCredential"  # the built-in type of credentials issued through the VC API
_URN_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Issuer:
    """An issuing agency as credentials name it: code and display name."""

    code: str
    name: str

    def __post_init__(self) -> None:
        check_agency_code(self.code)
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("issuer name must be a non-empty string")

    @property
    def agency(self) -> str:
        """The agency's IRI, ``urn:certledger:agency:<code>``."""
        return agency_iri(self.code)

    @property
    def agency_id(self) -> bytes:
        return agency_id(self.code)

    def to_json(self, public_key: PublicKey) -> dict[str, Any]:
        """The credential's ``issuer``: the signing key's did:key, the name, the agency."""
        return {"id": public_key.did, "name": self.name, "agency": self.agency}


def new_credential_id() -> str:
    """A fresh ``urn:uuid:`` (random, version 4). Formatted here: ``uuid.uuid4()`` costs 2.5x as much,
    and bulk issuance makes one per credential."""
    v = bytearray(os.urandom(16))
    v[6] = v[6] & 0x0F | 0x40  # version 4
    v[8] = v[8] & 0x3F | 0x80  # RFC 4122 variant
    x = v.hex()
    return f"urn:uuid:{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _date_str(value: datetime | str, field: str) -> str:
    if isinstance(value, datetime):
        return format_utc(value)
    try:
        parse_utc_datetime(value)
    except DateTimeFormatError as exc:
        raise ValidationError([FieldError(field, str(exc))]) from None
    return value


class IssuableType(Protocol):
    """What building a credential reads of its type: a CredentialType, or a stand-in with the same
    answers (ledger.issuance.schema_precheck.FastValidatedType)."""

    @property
    def name(self) -> str: ...

    @property
    def render_method(self) -> Mapping[str, Any] | None: ...

    def subject_errors(self, subject: object) -> list[FieldError]: ...


def build_credential(
    ctype: IssuableType,
    subject: Mapping[str, Any],
    issuer: Issuer,
    public_key: PublicKey,
    *,
    status: Sequence[Mapping[str, Any]],
    valid_from: datetime | str,
    valid_until: datetime | str | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned credential, after validating ``subject`` against the type's schema.

    ``status`` is the two Bitstring Status List entries of the credential's slot
    (``ledger.protocol.status_list.status_entries``). Raises :class:`ValidationError` listing every problem
    (subject fields and numbers, dates, id, status entries) before anything is signed.
    """
    errors: list[FieldError] = []
    if not isinstance(subject, Mapping):
        errors.append(FieldError("credentialSubject", "must be a JSON object"))
    else:
        errors.extend(ctype.subject_errors(dict(subject)))
        if not is_plain(subject):  # a plain value (the usual: strings) holds no number to refuse
            errors.extend(number_errors(subject, "credentialSubject"))
    vf = vu = None
    try:
        vf = _date_str(valid_from, "validFrom")
    except ValidationError as exc:
        errors.extend(exc.errors)
    if valid_until is not None:
        try:
            vu = _date_str(valid_until, "validUntil")
        except ValidationError as exc:
            errors.extend(exc.errors)
        if vf and vu and parse_utc_datetime(vu) <= parse_utc_datetime(vf):
            errors.append(FieldError("validUntil", "must be later than validFrom"))
    cid = credential_id or new_credential_id()
    if _URN_UUID.fullmatch(cid) is None:
        errors.append(FieldError("id", "must be urn:uuid:<UUID>"))
    _check_status(status, errors.append)
    if errors:
        raise ValidationError(errors, f"cannot issue {ctype.name}")
    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": cid,
        "type": [VERIFIABLE_CREDENTIAL, ctype.name],
        "issuer": issuer.to_json(public_key),
        "validFrom": vf,
    }
    if vu is not None:
        credential["validUntil"] = vu
    credential["credentialSubject"] = dict(subject)
    credential["credentialStatus"] = [dict(entry) for entry in status]
    if ctype.render_method is not None:  # the type's display layout, signed with the claims (§14)
        credential["renderMethod"] = [ctype.render_method]
    return credential


def issue_credential(
    ctype: IssuableType,
    subject: Mapping[str, Any],
    issuer: Issuer,
    signing_key: SigningKey,
    *,
    status: Sequence[Mapping[str, Any]],
    created: datetime | str | None = None,
    valid_from: datetime | str | None = None,
    valid_until: datetime | str | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """Validate, build and sign a credential (eddsa-jcs-2022 proof by ``signing_key``).

    ``created`` (the proof time) defaults to now; ``valid_from`` defaults to
    ``created``. Times are written ``YYYY-MM-DDTHH:MM:SSZ``.
    """
    created_s = _date_str(created if created is not None else utc_now(), "proof.created")
    credential = build_credential(
        ctype,
        subject,
        issuer,
        signing_key.public_key,
        status=status,
        valid_from=valid_from if valid_from is not None else created_s,
        valid_until=valid_until,
        credential_id=credential_id,
    )
    credential["proof"] = create_proof(credential, signing_key, created=created_s)
    return credential


# ------------------------------------------------------------- format check

# Verifiers meet the same few agencies, keys and types bundle after bundle: remember the answers
# for valid texts (an invalid one raises or is False every time).
_agency_code_of = lru_cache(maxsize=1024)(agency_code_from_iri)
_known_type_name = lru_cache(maxsize=1024)(is_type_name)
_key_of_did = lru_cache(maxsize=1024)(did_key.public_key_from_did)


@dataclass(frozen=True)
class StatusSlot:
    """Where a credential's status bits are published: one index in two lists."""

    index: int
    lists: dict[str, str]  # purpose -> status list credential URL


@dataclass(frozen=True)
class CredentialView:
    """A well-formed credential's parts, typed (from :func:`check_credential`)."""

    id: str
    type_name: str
    agency_code: str
    issuer_did: str
    issuer_name: str
    valid_from: datetime
    valid_until: datetime | None
    proof_created: datetime
    verification_method: str
    public_key_raw: bytes  # the issuer's key; whether it is acceptable is the integrity check's
    status: StatusSlot

    @property
    def agency(self) -> str:
        return agency_iri(self.agency_code)

    @property
    def agency_id(self) -> bytes:
        return agency_id(self.agency_code)

    @property
    def type_id(self) -> bytes:
        return type_id(self.type_name)


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _check_status(status: object, add: Callable[[FieldError], None]) -> StatusSlot | None:
    """``credentialStatus``: exactly one revocation and one suspension entry of a Bitstring Status
    List (``ledger.protocol.status_list.parse_status_entry``), both at the same index."""
    if not isinstance(status, (list, tuple)) or len(status) != 2:
        add(FieldError("credentialStatus", "must be an array of two entries (revocation and suspension)"))
        return None
    entries = []
    for i, entry in enumerate(status):
        try:
            entries.append(parse_status_entry(entry, f"credentialStatus[{i}]"))
        except StatusListError as exc:
            add(FieldError(exc.field, exc.reason))
    if len(entries) != 2:
        return None
    if entries[0].purpose == entries[1].purpose:
        add(FieldError("credentialStatus[1].statusPurpose", "must be revocation or suspension, one entry each"))
        return None
    if entries[0].index != entries[1].index:
        add(FieldError("credentialStatus[1].statusListIndex", "must be the same index in both entries"))
        return None
    return StatusSlot(entries[0].index, {e.purpose: e.list_url for e in entries})


def _check_generic_status(status: object, add: Callable[[FieldError], None]) -> StatusSlot | None:
    """A generic credential's ``credentialStatus``: an array holding the same two CertLedger entries
    (one BitstringStatusListEntry per purpose, at one index) and, beside them, any other status
    objects the credential's author gave (each with a ``type`` other than BitstringStatusListEntry;
    signed, not interpreted)."""
    if not isinstance(status, (list, tuple)):
        add(FieldError("credentialStatus", "must be an array holding the revocation and suspension entries"))
        return None
    ours = []
    for i, entry in enumerate(status):
        if not _is_object(entry):
            add(FieldError(f"credentialStatus[{i}]", "must be an object"))
        elif entry.get("type") == ENTRY_TYPE:
            ours.append((i, entry))
        elif not (isinstance(entry.get("type"), str) and entry["type"]) and not (
            isinstance(entry.get("type"), list)
            and entry["type"]
            and all(isinstance(t, str) and t for t in entry["type"])
        ):
            add(FieldError(f"credentialStatus[{i}].type", "is required"))
        elif ENTRY_TYPE in _as_list(entry.get("type")):
            add(FieldError(f"credentialStatus[{i}].type", f"a {ENTRY_TYPE} has exactly that one type"))
    if len(ours) != 2:
        add(FieldError("credentialStatus", f"must hold exactly two {ENTRY_TYPE} entries (revocation and suspension)"))
        return None
    (i, first), (j, second) = ours
    entries = []
    for k, entry in ((i, first), (j, second)):
        try:
            entries.append(parse_status_entry(entry, f"credentialStatus[{k}]"))
        except StatusListError as exc:
            add(FieldError(exc.field, exc.reason))
    if len(entries) != 2:
        return None
    if entries[0].purpose == entries[1].purpose:
        add(FieldError(f"credentialStatus[{j}].statusPurpose", "must be revocation or suspension, one entry each"))
        return None
    if entries[0].index != entries[1].index:
        add(FieldError(f"credentialStatus[{j}].statusListIndex", "must be the same index in both entries"))
        return None
    return StatusSlot(entries[0].index, {e.purpose: e.list_url for e in entries})


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _generic_types(ctype: list[Any], add: Callable[[FieldError], None]) -> None:
    seen = set()
    for i, t in enumerate(ctype[2:], 2):
        if not isinstance(t, str) or not t or any(c.isspace() for c in t):
            add(FieldError(f"type[{i}]", "must be a term or an absolute URL"))
        elif t in (VERIFIABLE_CREDENTIAL, GENERIC_CREDENTIAL) or t in seen:
            add(FieldError(f"type[{i}]", f"repeats {t}"))
        else:
            seen.add(t)


def _generic_context(ctx: object, add: Callable[[FieldError], None]) -> None:
    if not isinstance(ctx, list) or len(ctx) < 2 or ctx[0] != VC_V2_CONTEXT or ctx[1] != UNDEFINED_TERMS_CONTEXT:
        add(FieldError("@context", f'must start with ["{VC_V2_CONTEXT}", "{UNDEFINED_TERMS_CONTEXT}"]'))
        return
    for i, item in enumerate(ctx[2:], 2):
        if isinstance(item, str):
            if not _is_context_url(item):
                add(FieldError(f"@context[{i}]", "must be a URL or a context object"))
        elif not _is_object(item):
            add(FieldError(f"@context[{i}]", "must be a URL or a context object"))


_CONTEXT_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")


def _is_context_url(value: object) -> bool:
    return isinstance(value, str) and _CONTEXT_URL.fullmatch(value) is not None


def check_credential(credential: object, *, numbers_checked: bool = False) -> CredentialView:
    """Check the CertLedger credential profile (not the signature, see ``ledger.protocol.proof``).

    Raises :class:`ValidationError` listing every deviation; returns a :class:`CredentialView`
    when the credential is well formed. ``numbers_checked``: the caller's JSON parser already saw
    that every number is I-JSON (``ledger.protocol.bundle.parse_bundle_plain``), so the walk is skipped.
    """
    errs: list[FieldError] = []
    add: Callable[[str, str], None] = lambda field, reason: errs.append(FieldError(field, reason))  # noqa: E731
    if not _is_object(credential):
        raise ValidationError([FieldError("credential", "must be a JSON object")])
    c = credential

    ctype: Any = c.get("type")  # untrusted JSON, checked below (as are the other members)
    # a generic credential (docs/protocol.md §3.8): type[1] is GenericCredential
    generic = type(ctype) is list and len(ctype) >= 2 and ctype[1] == GENERIC_CREDENTIAL

    ctx = c.get("@context")
    if generic:
        _generic_context(ctx, errs.append)
    elif not isinstance(ctx, list) or tuple(ctx) != CREDENTIAL_CONTEXT:
        add("@context", f'must be ["{VC_V2_CONTEXT}", "{UNDEFINED_TERMS_CONTEXT}"]')

    cid: Any = c.get("id")
    if generic:
        if not _is_context_url(cid):
            add("id", "must be a URL")
    elif not isinstance(cid, str) or _URN_UUID.fullmatch(cid) is None:
        add("id", "must be urn:uuid:<UUID>")

    type_name = None
    if generic:
        if ctype[0] != VERIFIABLE_CREDENTIAL:
            add("type[0]", "must be VerifiableCredential")
        else:
            _generic_types(ctype, errs.append)
            type_name = GENERIC_CREDENTIAL
    elif not isinstance(ctype, list) or len(ctype) != 2 or ctype[0] != VERIFIABLE_CREDENTIAL:
        add("type", 'must be ["VerifiableCredential", <type name>]')
    elif not (_known_type_name(ctype[1]) if type(ctype[1]) is str else is_type_name(ctype[1])):
        add("type[1]", "is not a valid credential type name")
    else:
        type_name = ctype[1]

    issuer = c.get("issuer")
    code: str | None = None
    name: Any = None
    did: Any = None
    raw_key: bytes | None = None
    if not _is_object(issuer):
        add("issuer", 'must be an object {"id": "did:key:…", "name": …, "agency": "urn:certledger:agency:<code>"}')
    else:
        did = issuer.get("id")
        try:
            raw_key = _key_of_did(did) if type(did) is str else did_key.public_key_from_did(did)
        except did_key.DidKeyError as exc:
            add("issuer.id", f"must be the did:key of an Ed25519 key ({exc})")
        try:
            iri: Any = issuer.get("agency")
            code = _agency_code_of(iri) if type(iri) is str else agency_code_from_iri(iri)
        except ValueError as exc:
            add("issuer.agency", str(exc))
        name = issuer.get("name")
        if not isinstance(name, str) or not name.strip():
            add("issuer.name", "must be a non-empty string")

    def date(field: str, required: bool) -> datetime | None:
        if field not in c:
            if required:
                add(field, "is required")
            return None
        try:
            if generic:
                return parse_xsd_datetime(c[field]) if isinstance(c[field], str) else parse_utc_datetime(c[field])
            return parse_utc_datetime(c[field])
        except DateTimeFormatError as exc:
            add(field, str(exc))
            return None

    valid_from = date("validFrom", True)
    valid_until = date("validUntil", False)
    if valid_from and valid_until and valid_until <= valid_from:
        add("validUntil", "must be later than validFrom")

    subject = c.get("credentialSubject")
    if generic and isinstance(subject, list):
        if not subject:
            add("credentialSubject", "must be an object or a non-empty array of objects")
        for i, item in enumerate(subject):
            if not _is_object(item) or not item:
                add(f"credentialSubject[{i}]", "must be an object with at least one claim")
    elif not _is_object(subject):
        add("credentialSubject", "must be a JSON object")

    if generic:
        slot = _check_generic_status(c.get("credentialStatus"), errs.append)
    else:
        slot = _check_status(c.get("credentialStatus"), errs.append)

    proof = c.get("proof")
    created: datetime | None = None
    vm: Any = None
    if proof is None:
        add("proof", "is required")
    elif not _is_object(proof):
        add("proof", "must be a single proof object")
    else:
        if proof.get("type") != PROOF_TYPE:
            add("proof.type", f"must be {PROOF_TYPE}")
        if proof.get("cryptosuite") != CRYPTOSUITE:
            add("proof.cryptosuite", f"must be {CRYPTOSUITE}")
        if proof.get("proofPurpose") != ASSERTION_METHOD:
            add("proof.proofPurpose", f"must be {ASSERTION_METHOD}")
        if "created" not in proof:
            add("proof.created", "is required")
        else:
            try:
                created = parse_xsd_datetime(proof["created"])
            except DateTimeFormatError as exc:
                add("proof.created", str(exc))
        vm = proof.get("verificationMethod")
        if raw_key is not None and vm != f"{did}#{did[len(did_key.DID_KEY_PREFIX) :]}":
            add("proof.verificationMethod", "must be the issuer's key: <issuer.id>#<multibase key>")
        pv = proof.get("proofValue")
        if not isinstance(pv, str) or not pv.startswith("z"):
            add("proof.proofValue", "must be a base58btc multibase string (z…)")

    if not numbers_checked:
        errs.extend(number_errors(c))

    if errs:
        raise ValidationError(errs, "malformed credential")
    # No error: each check above that left one of these None added an error.
    return CredentialView(
        id=cid,
        type_name=cast(str, type_name),
        agency_code=cast(str, code),
        issuer_did=did,
        issuer_name=name,
        valid_from=cast(datetime, valid_from),
        valid_until=valid_until,
        proof_created=cast(datetime, created),
        verification_method=vm,
        public_key_raw=cast(bytes, raw_key),
        status=cast(StatusSlot, slot),
    )


__all__ = [
    "CREDENTIAL_CONTEXT",
    "GENERIC_CREDENTIAL",
    "STATUS_PURPOSES",
    "UNDEFINED_TERMS_CONTEXT",
    "VC_V2_CONTEXT",
    "CredentialView",
    "Issuer",
    "StatusSlot",
    "build_credential",
    "check_credential",
    "issue_credential",
    "new_credential_id",
]
