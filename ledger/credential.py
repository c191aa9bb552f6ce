"""The CertLedger credential: a W3C Verifiable Credential 2.0 (DESIGN.md, "Credential").

Shape::

    {"@context": ["https://www.w3.org/ns/credentials/v2"],
     "id": "urn:uuid:…",
     "type": ["VerifiableCredential", "<type name>"],
     "issuer": {"id": "urn:certledger:agency:<code>", "name": "…"},
     "validFrom": "YYYY-MM-DDTHH:MM:SSZ", "validUntil": "…" (optional),
     "credentialSubject": {…claims, checked against the type's JSON Schema…},
     "proof": {eddsa-jcs-2022 DataIntegrityProof, see ledger.proof}}

:func:`issue_credential` validates, builds and signs; :func:`check_credential`
is the verifier's ``format`` check: it reports every deviation from this
profile as ``{field, reason}`` and returns a typed view of the credential.
"""

from __future__ import annotations

import re
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from ledger import did_key
from ledger.credential_types import CredentialType
from ledger.datetimes import DateTimeFormatError, format_utc, parse_utc_datetime, parse_xsd_datetime, utc_now
from ledger.errors import FieldError, ValidationError
from ledger.identifiers import (
    agency_code_from_issuer_id,
    agency_id,
    check_agency_code,
    is_type_name,
    issuer_id,
    type_id,
)
from ledger.keys import PublicKey, SigningKey
from ledger.proof import ASSERTION_METHOD, CRYPTOSUITE, PROOF_TYPE, create_proof

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VERIFIABLE_CREDENTIAL = "VerifiableCredential"
_URN_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Issuer:
    """An issuing agency as named in credentials: code and display name."""

    code: str
    name: str

    def __post_init__(self) -> None:
        check_agency_code(self.code)
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("issuer name must be a non-empty string")

    @property
    def id(self) -> str:
        return issuer_id(self.code)

    @property
    def agency_id(self) -> bytes:
        return agency_id(self.code)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name}


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


def build_credential(
    ctype: CredentialType,
    subject: Mapping,
    issuer: Issuer,
    *,
    valid_from: datetime | str,
    valid_until: datetime | str | None = None,
    credential_id: str | None = None,
) -> dict:
    """The unsigned credential, after validating ``subject`` against the type's schema.

    Raises :class:`ValidationError` listing every problem (subject fields,
    dates, id) before anything is signed.
    """
    errors: list[FieldError] = []
    if not isinstance(subject, Mapping):
        errors.append(FieldError("credentialSubject", "must be a JSON object"))
    else:
        errors.extend(ctype.subject_errors(dict(subject)))
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
    if errors:
        raise ValidationError(errors, f"cannot issue {ctype.name}")
    credential = {
        "@context": [VC_V2_CONTEXT],
        "id": cid,
        "type": [VERIFIABLE_CREDENTIAL, ctype.name],
        "issuer": issuer.to_json(),
        "validFrom": vf,
    }
    if vu is not None:
        credential["validUntil"] = vu
    credential["credentialSubject"] = dict(subject)
    return credential


def issue_credential(
    ctype: CredentialType,
    subject: Mapping,
    issuer: Issuer,
    signing_key: SigningKey,
    *,
    created: datetime | str | None = None,
    valid_from: datetime | str | None = None,
    valid_until: datetime | str | None = None,
    credential_id: str | None = None,
) -> dict:
    """Validate, build and sign a credential (eddsa-jcs-2022 proof by ``signing_key``).

    ``created`` (the proof time) defaults to now; ``valid_from`` defaults to
    ``created``. Times are written ``YYYY-MM-DDTHH:MM:SSZ``.
    """
    created_s = _date_str(created if created is not None else utc_now(), "proof.created")
    credential = build_credential(
        ctype,
        subject,
        issuer,
        valid_from=valid_from if valid_from is not None else created_s,
        valid_until=valid_until,
        credential_id=credential_id,
    )
    credential["proof"] = create_proof(credential, signing_key, created=created_s)
    return credential


# ------------------------------------------------------------- format check

# Verifiers meet the same few issuers and types bundle after bundle: remember the answers for
# valid texts (an invalid one raises or is False every time, as before).
_agency_code_of = lru_cache(maxsize=1024)(agency_code_from_issuer_id)
_known_type_name = lru_cache(maxsize=1024)(is_type_name)


@dataclass(frozen=True)
class CredentialView:
    """A well-formed credential's parts, typed (from :func:`check_credential`)."""

    id: str
    type_name: str
    agency_code: str
    issuer_name: str
    valid_from: datetime
    valid_until: datetime | None
    proof_created: datetime
    verification_method: str
    public_key: PublicKey

    @property
    def issuer_id(self) -> str:
        return issuer_id(self.agency_code)

    @property
    def agency_id(self) -> bytes:
        return agency_id(self.agency_code)

    @property
    def type_id(self) -> bytes:
        return type_id(self.type_name)


def check_credential(credential: object) -> CredentialView:
    """Check the CertLedger credential profile (not the signature, see ``ledger.proof``).

    Raises :class:`ValidationError` listing every deviation; returns a
    :class:`CredentialView` when the credential is well formed.
    """
    errs: list[FieldError] = []
    add = lambda field, reason: errs.append(FieldError(field, reason))  # noqa: E731
    if type(credential) is not dict and not isinstance(credential, Mapping):
        raise ValidationError([FieldError("credential", "must be a JSON object")])
    c = credential

    ctx = c.get("@context")
    if not isinstance(ctx, list) or not ctx:
        add("@context", "must be a non-empty array")
    elif ctx[0] != VC_V2_CONTEXT:
        add("@context", f"first item must be {VC_V2_CONTEXT}")

    cid = c.get("id")
    if not isinstance(cid, str) or _URN_UUID.fullmatch(cid) is None:
        add("id", "must be urn:uuid:<UUID>")

    ctype = c.get("type")
    type_name = None
    if not isinstance(ctype, list) or len(ctype) != 2 or ctype[0] != VERIFIABLE_CREDENTIAL:
        add("type", 'must be ["VerifiableCredential", <type name>]')
    elif not (_known_type_name(ctype[1]) if type(ctype[1]) is str else is_type_name(ctype[1])):
        add("type[1]", "is not a valid credential type name")
    else:
        type_name = ctype[1]

    issuer = c.get("issuer")
    code = name = None
    if type(issuer) is not dict and not isinstance(issuer, Mapping):
        add("issuer", 'must be an object {"id": "urn:certledger:agency:<code>", "name": …}')
    else:
        try:
            iid = issuer.get("id")
            code = _agency_code_of(iid) if type(iid) is str else agency_code_from_issuer_id(iid)
        except ValueError as exc:
            add("issuer.id", str(exc))
        name = issuer.get("name")
        if not isinstance(name, str) or not name.strip():
            add("issuer.name", "must be a non-empty string")

    def date(field: str, required: bool) -> datetime | None:
        if field not in c:
            if required:
                add(field, "is required")
            return None
        try:
            return parse_utc_datetime(c[field])
        except DateTimeFormatError as exc:
            add(field, str(exc))
            return None

    valid_from = date("validFrom", True)
    valid_until = date("validUntil", False)
    if valid_from and valid_until and valid_until <= valid_from:
        add("validUntil", "must be later than validFrom")

    subject = c.get("credentialSubject")
    if type(subject) is not dict and not isinstance(subject, Mapping):
        add("credentialSubject", "must be a JSON object")

    proof = c.get("proof")
    created = vm = key = None
    if proof is None:
        add("proof", "is required")
    elif type(proof) is not dict and not isinstance(proof, Mapping):
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
        try:
            key = PublicKey.from_verification_method(vm)
        except (did_key.DidKeyError, ValueError) as exc:
            add("proof.verificationMethod", f"must be did:key:<key>#<key> of an Ed25519 key ({exc})")
        pv = proof.get("proofValue")
        if not isinstance(pv, str) or not pv.startswith("z"):
            add("proof.proofValue", "must be a base58btc multibase string (z…)")

    if errs:
        raise ValidationError(errs, "malformed credential")
    return CredentialView(
        id=cid,
        type_name=type_name,
        agency_code=code,
        issuer_name=name,
        valid_from=valid_from,
        valid_until=valid_until,
        proof_created=created,
        verification_method=vm,
        public_key=key,
    )


__all__ = [
    "VC_V2_CONTEXT",
    "CredentialView",
    "Issuer",
    "build_credential",
    "check_credential",
    "issue_credential",
    "new_credential_id",
]
