"""Issuing a W3C credential as the VC API sends it (``POST /credentials/issue``).

The request carries an unsecured VC 2.0 credential. The agency signs it with its current key, as
for every credential, after these steps (docs/protocol.md §3.8, "Generic credentials"):

1. **Refusals before anything is signed** (:class:`ledger.protocol.data_model.DataModelError`, each
   naming the member): a ``proof`` (the issuer adds it); an ``issuer`` that is not the agency's
   did:key (absent, or an object without ``id``: the agency's is filled in); anything the VC 2.0
   data model forbids (``ledger.protocol.data_model``: structure, ``relatedResource`` digests, JSON-LD in
   safe mode); a ``validUntil`` not later than ``validFrom``; a ``BitstringStatusListEntry`` (the
   issuer assigns those).
2. **Which type governance must have permitted.** A credential whose only type besides
   ``VerifiableCredential`` is a CertLedger credential type known to this installation (a
   registered or built-in type such as ``DegreeCertificate``) is issued as that type, exactly as
   ``POST /credentials`` issues it: the CertLedger contexts, its JSON Schema, nothing else. A
   credential naming such a type beside others is refused (``TYPE_RESERVED``): a governed type
   never appears in a credential that did not pass its schema. Every other credential — only
   ``VerifiableCredential``, or types of other vocabularies such as ``ExampleCredential`` from
   the W3C examples context or type URLs — is a **generic credential**: the agency must be
   permitted the built-in type ``GenericCredential`` (on chain, and recorded for the agency here),
   and the credential says so: ``type`` becomes ``["VerifiableCredential", "GenericCredential",
   …the request's other types]``, so every verifier reads the governed type at ``type[1]`` as for
   any CertLedger credential.
3. **What the issuer writes into a generic credential**: the W3C issuer-dependent-terms context
   second in ``@context`` (``issuer.agency`` needs a definition; the request's contexts follow in
   their order, so they keep the meaning of their terms); ``id`` (a fresh ``urn:uuid`` unless the
   request has one); ``issuer`` = ``{"id": did:key, "name": the agency's recorded name, "agency":
   urn:certledger:agency:<code>}`` (an issuer name or description in the request is checked and
   replaced: the agency describes itself); ``validFrom`` (now, unless given); the two status-list
   entries first in ``credentialStatus`` (the request's other status objects follow); then the
   eddsa-jcs-2022 proof. The result must pass the data model again and CertLedger's ``format``
   check (``ledger.protocol.credential.check_credential``), so it verifies VALID once anchored.

The credential is stored and queued for anchoring like any other; its record id (the key of
``GET /credentials/{id}/bundle``) is the credential's ``id`` when that is a ``urn:uuid``, and a
fresh ``urn:uuid`` otherwise (an ``https:`` id is kept in the credential, not used as a key).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from ledger.issuance import idempotency
from ledger.issuance.errors import IssuanceError, SupersedeRefused, UnknownCredentialType
from ledger.issuance.issue import _find_used_key, issue_one, load_issued
from ledger.issuance.registry import get_type, issuing_setup
from ledger.issuance.results import IssuedCredential
from ledger.protocol.canonical import CanonicalizationError, canonicalize
from ledger.protocol.contexts import UNDEFINED_TERMS_CONTEXT, VC_V2_CONTEXT
from ledger.protocol.credential import (
    _URN_UUID,
    GENERIC_CREDENTIAL,
    VERIFIABLE_CREDENTIAL,
    check_credential,
    new_credential_id,
)
from ledger.protocol.data_model import DataModelError, Violation, check_credential_data_model
from ledger.protocol.datetimes import DateTimeFormatError, format_utc, parse_utc_datetime, parse_xsd_datetime
from ledger.protocol.digest import to_hex32
from ledger.protocol.errors import ValidationError
from ledger.protocol.ijson import number_errors
from ledger.protocol.proof import ProofError, create_proof
from ledger.protocol.status_list import ENTRY_TYPE, status_entries
from ledger.storage.group_commit import group_writer
from ledger.storage.states import CredentialState
from ledger.storage.tables import AUDIT, BODY, CRED, IDEMPOTENCY

# Stable codes of the refusals this module adds to ledger.protocol.data_model's
PROOF_NOT_ALLOWED = "PROOF_NOT_ALLOWED"
ISSUER_NOT_AGENCY = "ISSUER_NOT_AGENCY"
TYPE_RESERVED = "TYPE_RESERVED"
STATUS_RESERVED = "STATUS_RESERVED"
CONTEXT_ORDER = "CONTEXT_ORDER"
PROFILE_MISMATCH = "PROFILE_MISMATCH"
NUMBER_NOT_IJSON = "NUMBER_NOT_IJSON"
TYPED_MEMBERS = frozenset({"@context", "type", "issuer", "credentialSubject", "validFrom", "validUntil"})


class CredentialIdInUse(IssuanceError):
    """A request's urn:uuid id names a credential this installation already issued."""

    code = "CREDENTIAL_ID_IN_USE"

    def __init__(self, credential_id: str) -> None:
        self.credential_id = credential_id
        super().__init__(f"a credential with id {credential_id} was already issued; give a new id, or none")


def _refuse(code: str, member: str, reason: str) -> DataModelError:
    return DataModelError([Violation(code, member, reason)])


def _types(credential: Mapping) -> list:
    t = credential.get("type")
    return list(t) if isinstance(t, list) else [t]


def _with_issuer(credential: dict, did: str) -> dict:
    """The request with the agency's did:key where the suites (and VC API clients) leave it out."""
    if "issuer" not in credential:
        credential["issuer"] = did
    elif isinstance(credential["issuer"], dict) and "id" not in credential["issuer"]:
        credential["issuer"] = {"id": did, **credential["issuer"]}
    return credential


def _issuer_id(issuer: object) -> object:
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


def check_request(ctx, agency: str, credential: object) -> tuple[dict, str | None]:
    """The request's credential checked (step 1 of the module's policy) with the agency's issuer
    filled in, and the CertLedger type it is issued as when it is a typed one (else None)."""
    if not isinstance(credential, Mapping):
        raise _refuse("DOCUMENT_INVALID", "credential", "must be a JSON object")
    if "proof" in credential:
        raise _refuse(PROOF_NOT_ALLOWED, "proof", "send the credential without a proof: the issuer signs it")
    key = ctx.chain.signing_key(agency)
    candidate = _with_issuer(copy.deepcopy(dict(credential)), key.public_key.did)
    numbers = number_errors(candidate)
    if numbers:
        raise DataModelError([Violation(NUMBER_NOT_IJSON, e.field, e.reason) for e in numbers])
    check_credential_data_model(candidate)
    if _issuer_id(candidate.get("issuer")) != key.public_key.did:
        member = "issuer.id" if isinstance(candidate.get("issuer"), Mapping) else "issuer"
        raise _refuse(ISSUER_NOT_AGENCY, member, f"this agency issues as {key.public_key.did}")
    if "validFrom" in candidate and "validUntil" in candidate:
        if parse_xsd_datetime(candidate["validUntil"]) <= parse_xsd_datetime(candidate["validFrom"]):
            raise _refuse("VALIDITY_INVERTED", "validUntil", "must be later than validFrom")
    for i, entry in enumerate(_list(candidate.get("credentialStatus"))):
        if isinstance(entry, Mapping) and ENTRY_TYPE in _list(entry.get("type")):
            member = f"credentialStatus[{i}]" if isinstance(candidate["credentialStatus"], list) else "credentialStatus"
            raise _refuse(STATUS_RESERVED, member, f"the issuer assigns the credential's {ENTRY_TYPE} entries")
    types = _types(candidate)
    others = [t for t in types if t != VERIFIABLE_CREDENTIAL]
    governed = []
    for i, t in enumerate(types):
        if t in (VERIFIABLE_CREDENTIAL, GENERIC_CREDENTIAL) or not isinstance(t, str):
            continue
        try:
            get_type(ctx, t)
        except (UnknownCredentialType, ValueError):
            continue
        governed.append((i, t))
    if governed:
        i, name = governed[0]
        if len(others) != 1:
            raise _refuse(
                TYPE_RESERVED,
                f"type[{i}]",
                f"{name} is a CertLedger credential type: a credential of "
                "that type has no other type than VerifiableCredential",
            )
        return candidate, name
    return candidate, None


def _list(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def issue_w3c(
    ctx, agency: str, credential: object, *, idempotency_key: str | None = None, actor: str = "system"
) -> IssuedCredential:
    """Issue the VC API request's credential for ``agency`` (see the module's policy).

    Raises DataModelError (the member at fault), TypeNotPermitted, AgencyNotFound,
    IdempotencyConflict, CredentialIdInUse."""
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
    candidate, type_name = check_request(ctx, agency, credential)  # no side effect: a retry classifies alike
    if type_name is not None:
        return _issue_typed(ctx, agency, type_name, candidate, idempotency_key, actor)
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = idempotency.request_hash({"op": "vc-api-issue", "credential": credential})
        used = _find_used_key(ctx, agency, idempotency_key, fingerprint)
        if used is not None:
            return load_issued(ctx, agency, used.credential_id, replayed=True)
    return _issue_generic(ctx, agency, candidate, idempotency_key, fingerprint, actor)


def _issue_typed(ctx, agency: str, type_name: str, candidate: dict, idempotency_key, actor) -> IssuedCredential:
    """A credential of a CertLedger type: exactly what POST /credentials issues."""
    extra = sorted(set(candidate) - TYPED_MEMBERS)
    if extra:
        raise _refuse(
            PROFILE_MISMATCH,
            extra[0],
            f"a {type_name} credential carries only the CertLedger "
            "profile's members (its id and status are the issuer's)",
        )
    if candidate["@context"] not in ([VC_V2_CONTEXT], [VC_V2_CONTEXT, UNDEFINED_TERMS_CONTEXT]):
        raise _refuse(
            PROFILE_MISMATCH,
            "@context",
            f'a {type_name} credential uses the contexts ["{VC_V2_CONTEXT}", "{UNDEFINED_TERMS_CONTEXT}"]',
        )
    if isinstance(candidate["issuer"], Mapping) and set(candidate["issuer"]) - {"id"}:
        raise _refuse(PROFILE_MISMATCH, "issuer", f"a {type_name} credential names the agency as the issuer records it")
    subject = candidate["credentialSubject"]
    if not isinstance(subject, Mapping):
        raise _refuse(PROFILE_MISMATCH, "credentialSubject", f"a {type_name} credential has one subject")
    dates = {}
    for name in ("validFrom", "validUntil"):
        if name in candidate:
            value = candidate[name]
            try:
                if format_utc(parse_utc_datetime(value)) != value:
                    raise DateTimeFormatError("")
            except DateTimeFormatError:
                raise _refuse(
                    PROFILE_MISMATCH, name, f"a {type_name} credential writes dates as YYYY-MM-DDTHH:MM:SSZ"
                ) from None
            dates[name] = value
    # the same request as POST /credentials with this type and subject: an idempotency key replays alike
    return issue_one(
        ctx,
        agency,
        type_name,
        dict(subject),
        valid_from=dates.get("validFrom"),
        valid_until=dates.get("validUntil"),
        idempotency_key=idempotency_key,
        actor=actor,
    )


def supersede_generic(
    ctx, agency: str, old_id: str, old: Mapping, *, actor: str = "system", revoke_reason: int | None = None
) -> IssuedCredential:
    """A generic credential issued again in place of ``old`` (its record ``old_id``), signed with the
    agency's current key: the same members but for the proof, the issuer and the status entries the
    issuer writes; its id is fresh when it was the old record's. The old one is revoked with
    ``revoke_reason`` once the new one is anchored (``anchoring.revoke_superseded``)."""
    candidate = {k: v for k, v in old.items() if k not in ("proof", "issuer")}
    if candidate.get("id") == old_id:
        del candidate["id"]
    status = [
        e
        for e in _list(candidate.pop("credentialStatus", None))
        if not (isinstance(e, Mapping) and ENTRY_TYPE in _list(e.get("type")))
    ]
    if status:
        candidate["credentialStatus"] = status
    checked, _ = check_request(ctx, agency, candidate)
    return _issue_generic(ctx, agency, checked, None, None, actor, supersedes=old_id, supersede_reason=revoke_reason)


def _issue_generic(
    ctx,
    agency: str,
    candidate: dict,
    idempotency_key,
    fingerprint,
    actor,
    *,
    supersedes: str | None = None,
    supersede_reason: int | None = None,
) -> IssuedCredential:
    issuer, _ = issuing_setup(ctx, agency, GENERIC_CREDENTIAL)  # TypeNotPermitted unless granted
    key = ctx.chain.signing_key(agency)
    now = ctx.now()
    created = format_utc(now)

    contexts = list(candidate["@context"])
    if UNDEFINED_TERMS_CONTEXT in contexts:
        where = contexts.index(UNDEFINED_TERMS_CONTEXT)
        if where != 1:
            raise _refuse(
                CONTEXT_ORDER,
                f"@context[{where}]",
                f"{UNDEFINED_TERMS_CONTEXT} must come second, right after {VC_V2_CONTEXT}",
            )
    else:
        contexts.insert(1, UNDEFINED_TERMS_CONTEXT)
    types = [VERIFIABLE_CREDENTIAL, GENERIC_CREDENTIAL]
    for t in _types(candidate):
        if t not in types:
            types.append(t)
    given_id = candidate.get("id")
    record_id = given_id if isinstance(given_id, str) and _URN_UUID.fullmatch(given_id) else new_credential_id()
    list_id, index = ctx.status_slots.take(agency, key.public_key.raw, 1)[0]
    status = status_entries(ctx.status_base_url, issuer.code, list_id, index) + _list(candidate.get("credentialStatus"))

    unsigned = {
        "@context": contexts,
        "id": given_id if given_id is not None else record_id,
        "type": types,
        "issuer": issuer.to_json(key.public_key),
        "validFrom": candidate.get("validFrom", created),
    }
    for member, value in candidate.items():
        if member not in unsigned and member != "credentialStatus":
            unsigned[member] = value
    unsigned["credentialStatus"] = status
    check_credential_data_model(unsigned)  # what the issuer added keeps the credential conforming
    try:
        credential = {**unsigned, "proof": create_proof(unsigned, key, created=created)}
        canonical = canonicalize(credential)
    except (ProofError, CanonicalizationError) as exc:
        raise _refuse("NOT_CANONICALIZABLE", "credential", str(exc)) from None
    try:
        check_credential(credential)  # CertLedger's format check: it verifies VALID once anchored
    except ValidationError as exc:
        first = exc.errors[0]
        raise _refuse(PROFILE_MISMATCH, first.field, first.reason) from None
    digest = to_hex32(hashlib.sha256(canonical).digest())

    subject = candidate.get("credentialSubject")
    sid = subject.get("id") if isinstance(subject, Mapping) else None
    values = {
        "id": record_id,
        "agency_code": agency,
        "type_name": GENERIC_CREDENTIAL,
        "subject_id": sid if isinstance(sid, str) and len(sid) <= 200 else None,
        "digest": digest,
        "state": CredentialState.PENDING,
        "status_reason": None,
        "batch_id": None,
        "leaf_index": None,
        "idempotency_key": idempotency_key,
        "supersedes": supersedes,
        "issued_at": now,
        "updated_at": now,
        "valid_from": parse_xsd_datetime(unsigned["validFrom"]),
        "valid_until": parse_xsd_datetime(unsigned["validUntil"]) if "validUntil" in unsigned else None,
        "request_row": 0,
        "status_list_id": list_id,
        "status_index": index,
        "signing_key": "0x" + key.public_key.raw.hex(),
        "supersede_reason": supersede_reason,
    }
    body = {"credential_id": record_id, "sealed_credential": ctx.at_rest.encrypt(canonical, record_id.encode("utf-8"))}
    audit = {
        "at": now,
        "actor": actor,
        "agency": agency,
        "action": "issue",
        "subject": record_id,
        "tx_hash": None,
        "details": {
            "type": GENERIC_CREDENTIAL,
            "digest": digest,
            "via": "vc-api",
            **({"supersedes": supersedes} if supersedes else {}),
        },
    }
    rows = []
    if idempotency_key is not None:
        rows.append(
            (
                IDEMPOTENCY,
                idempotency.record_values(
                    agency, idempotency_key, fingerprint, "issue", credential_id=record_id, at=now
                ),
            )
        )
    rows += [(CRED, values), (BODY, body), (AUDIT, audit)]
    try:
        group_writer(ctx.engine).insert(rows)
    except IntegrityError:
        used = _find_used_key(ctx, agency, idempotency_key, fingerprint)
        if used is not None:  # a concurrent duplicate won the race
            return load_issued(ctx, agency, used.credential_id, replayed=True)
        if supersedes is not None:
            raise SupersedeRefused(f"credential {supersedes} was superseded by another request just now") from None
        raise CredentialIdInUse(record_id) from None
    return IssuedCredential(
        id=record_id,
        digest=digest,
        type_name=GENERIC_CREDENTIAL,
        state=CredentialState.PENDING,
        issued_at=now,
        credential=credential,
        supersedes=supersedes,
    )


__all__ = ["CredentialIdInUse", "check_request", "issue_w3c", "supersede_generic"]
