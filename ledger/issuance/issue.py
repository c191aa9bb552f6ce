"""Issuing credentials: validate, sign, digest, encrypt at rest, store as "pending", audit — one or many.

Policies (the issuer API and the CLI expose them as they are):

* **Refusals before anything is signed:** an agency not recorded here (:class:`AgencyNotFound`), an
  unknown type (:class:`UnknownCredentialType`), a type not in the agency's list
  (:class:`TypeNotPermitted`), a subject that fails the type's JSON Schema
  (:class:`ledger.protocol.errors.ValidationError`, naming every field at fault).
* **Bulk errors** (:func:`issue_many`): by default valid rows are issued and bad rows are reported,
  each with its row number and every field at fault (``BulkResult.errors``); the issued rows and the
  report commit together, in one transaction. With ``all_or_nothing=True`` one bad row refuses the
  whole request (:class:`BulkRejected` listing every bad row) and nothing is issued.
* **Idempotency** (``idempotency_key``, per agency, see ``ledger.issuance.idempotency``): a retry of
  the same request returns the same credentials (``replayed=True``); another request under a used
  key raises :class:`IdempotencyConflict`. A bulk request refused as a whole (all_or_nothing) uses
  no key.
* **Supersede** (:func:`supersede`): a corrected credential of the same type names the one it
  replaces (``supersedes``); its subject is validated like any other, and keeps the holder id
  (``credentialSubject.id``) of the old one when the old one had one. The old credential is revoked
  on chain with reason 1 (superseded) by the anchoring pipeline *once the new one is anchored*, never
  before, so the holder is never left without a valid credential, and a correction that fails never
  withdraws the original. A credential can be superseded once; a revoked one cannot be.

Everything a request issues is written in one transaction: a crash loses the whole request or
nothing, and the client's retry with its idempotency key is then safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from itertools import repeat

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ledger.issuance import idempotency
from ledger.issuance.bulk_runtime import collection_paused
from ledger.issuance.errors import BulkRejected, CredentialNotFound, RowError, SupersedeRefused
from ledger.issuance.registry import get_type, issuing_setup
from ledger.issuance.results import BulkResult, IssuedCredential, IssuedRow
from ledger.issuance.rows import Row, parse_rows
from ledger.issuance.signing import RefusedRow, RowSigner, SignedRow, sign_rows
from ledger.issuance.stored_credentials import open_credential, with_body
from ledger.protocol.datetimes import format_utc, parse_utc_datetime
from ledger.protocol.errors import FieldError, ValidationError
from ledger.storage.bulk import bulk_insert
from ledger.storage.db import reading
from ledger.storage.group_commit import group_writer
from ledger.storage.states import CredentialState
from ledger.storage.tables import AUDIT, BODY, CRED, IDEMPOTENCY

log = logging.getLogger(__name__)

_INSERT_CHUNK = 5_000

Progress = Callable[[int, int], None]


class _Request:
    """One issuance request: issuer, type, key, signing time; turns signed rows into table rows."""

    def __init__(self, ctx, agency: str, type_name: str, *, actor: str, idempotency_key: str | None):
        self.ctx = ctx
        self.agency = agency
        issuer, self.ctype = issuing_setup(ctx, agency, type_name)
        self.key = ctx.chain.signing_key(agency)
        self.key_hex = "0x" + self.key.public_key.raw.hex()  # credential.signing_key
        self.now = ctx.now()
        created = format_utc(self.now)
        self.signer = RowSigner(issuer, self.ctype, self.key, created, ctx.status_base_url)
        self.actor = actor
        self.idempotency_key = idempotency_key

    def slots(self, count: int) -> list[tuple[int, int]]:
        """``count`` status-list slots of this agency's key, reserved (committed) before signing."""
        return self.ctx.status_slots.take(self.agency, self.key.public_key.raw, count)

    def values(
        self,
        signed: SignedRow,
        supersedes: str | None = None,
        sealed: bytes | None = None,
        supersede_reason: int | None = None,
    ) -> tuple[dict, dict, dict]:
        """(credential row, its body row, audit row) for the database; ``sealed``: the credential
        encrypted already (``AtRestCipher.encrypt_many``), else it is encrypted here."""
        values = {
            "id": signed.id,
            "agency_code": self.agency,
            "type_name": self.ctype.name,
            "subject_id": signed.subject_id,
            "digest": signed.digest,
            "state": CredentialState.PENDING,
            "status_reason": None,
            "batch_id": None,
            "leaf_index": None,
            "idempotency_key": self.idempotency_key,
            "supersedes": supersedes,
            "issued_at": self.now,
            "updated_at": self.now,
            "valid_from": parse_utc_datetime(signed.valid_from),
            "valid_until": parse_utc_datetime(signed.valid_until) if signed.valid_until else None,
            "request_row": signed.number,
            "status_list_id": signed.status_list_id,
            "status_index": signed.status_index,
            "signing_key": self.key_hex,
            "supersede_reason": supersede_reason,
        }
        if sealed is None:
            sealed = self.ctx.at_rest.encrypt(signed.canonical, signed.id.encode("utf-8"))
        body = {"credential_id": signed.id, "sealed_credential": sealed}
        details: dict[str, str | int] = {"type": self.ctype.name, "digest": signed.digest}
        if supersedes:
            details["supersedes"] = supersedes
        if supersede_reason is not None:
            details["supersedeReason"] = supersede_reason
        audit = {
            "at": self.now,
            "actor": self.actor,
            "agency": self.agency,
            "action": "issue",
            "subject": signed.id,
            "tx_hash": None,
            "details": details,
        }
        return values, body, audit


def _date(value):
    return format_utc(value) if isinstance(value, datetime) else value


class _Chunk:
    """Signed rows gathered, then encrypted at rest (the nonces in one system call) and inserted with their audit
    rows ``_INSERT_CHUNK`` at a time on ``conn``."""

    def __init__(self, conn, request: _Request):
        self.conn, self.request = conn, request
        self.signed: list[SignedRow] = []

    def add(self, signed: SignedRow) -> None:
        self.signed.append(signed)
        if len(self.signed) >= _INSERT_CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.signed:
            return
        if not self.conn.in_transaction():
            self.conn.begin()  # explicitly: on PostgreSQL the rows go through the driver's COPY
        sealed = self.request.ctx.at_rest.encrypt_many([(s.canonical, s.id.encode("utf-8")) for s in self.signed])
        credentials, bodies, audits = zip(*map(self.request.values, self.signed, repeat(None), sealed))
        bulk_insert(self.conn, CRED, credentials, _INSERT_CHUNK)
        bulk_insert(self.conn, BODY, bodies, _INSERT_CHUNK)
        bulk_insert(self.conn, AUDIT, audits, _INSERT_CHUNK)
        self.signed = []


def _find_used_key(ctx, agency: str, key: str | None, fingerprint: str | None):
    if key is None or fingerprint is None:  # (set together)
        return None
    with reading(ctx.engine).connect() as conn:
        return idempotency.find(conn, agency, key, fingerprint)


def load_issued(ctx, agency: str, credential_id: str, *, replayed: bool = False) -> IssuedCredential:
    with reading(ctx.engine).connect() as conn:
        row = conn.execute(
            with_body(select(CRED)).where(CRED.c.id == credential_id, CRED.c.agency_code == agency)
        ).first()
    if row is None:
        raise CredentialNotFound([credential_id])
    return IssuedCredential(
        id=row.id,
        digest=row.digest,
        type_name=row.type_name,
        state=row.state,
        issued_at=row.issued_at,
        credential=open_credential(ctx, row),
        supersedes=row.supersedes,
        replayed=replayed,
    )


# ------------------------------------------------------------------ one


def _issue_single(
    ctx,
    agency: str,
    type_name: str,
    subject: Mapping,
    valid_from,
    valid_until,
    *,
    idempotency_key: str | None,
    actor: str,
    operation: str,
    supersedes: str | None,
    supersede_reason: int | None = None,
) -> IssuedCredential:
    fingerprint = None
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
        fingerprint = idempotency.request_hash(
            {
                "op": operation,
                "type": type_name,
                "subject": subject,
                "validFrom": _date(valid_from),
                "validUntil": _date(valid_until),
                "supersedes": supersedes,
            }
        )
        used = _find_used_key(ctx, agency, idempotency_key, fingerprint)
        if used is not None:
            return load_issued(ctx, agency, used.credential_id, replayed=True)
    request = _Request(ctx, agency, type_name, actor=actor, idempotency_key=idempotency_key)
    credential, signed = request.signer.sign_full(
        0, subject, _date(valid_from), _date(valid_until), request.slots(1)[0]
    )
    values, body, audit = request.values(signed, supersedes, supersede_reason=supersede_reason)
    idem = None
    if idempotency_key is not None and fingerprint is not None:  # (set together)
        idem = idempotency.record_values(
            agency, idempotency_key, fingerprint, operation, credential_id=values["id"], at=request.now
        )
    try:
        # written with concurrent requests' rows in one transaction (ledger.storage.group_commit)
        rows = [*([(IDEMPOTENCY, idem)] if idem else []), (CRED, values), (BODY, body), (AUDIT, audit)]
        group_writer(ctx.engine).insert(rows)
    except IntegrityError:
        used = _find_used_key(ctx, agency, idempotency_key, fingerprint)
        if used is not None:  # a concurrent duplicate won the race
            return load_issued(ctx, agency, used.credential_id, replayed=True)
        if supersedes is not None:
            raise SupersedeRefused(f"credential {supersedes} was superseded by another request just now") from None
        raise
    return IssuedCredential(
        id=signed.id,
        digest=signed.digest,
        type_name=type_name,
        state=CredentialState.PENDING,
        issued_at=request.now,
        credential=credential,
        supersedes=supersedes,
    )


def issue_one(
    ctx,
    agency: str,
    type_name: str,
    subject: Mapping,
    *,
    valid_from: datetime | str | None = None,
    valid_until: datetime | str | None = None,
    idempotency_key: str | None = None,
    actor: str = "system",
) -> IssuedCredential:
    """Issue one credential (state "pending" until the anchoring pipeline anchors it).

    ``valid_from`` defaults to the signing time. Raises ValidationError (fields at fault),
    AgencyNotFound, UnknownCredentialType, TypeNotPermitted, IdempotencyConflict.
    """
    return _issue_single(
        ctx,
        agency,
        type_name,
        subject,
        valid_from,
        valid_until,
        idempotency_key=idempotency_key,
        actor=actor,
        operation="issue",
        supersedes=None,
    )


# ------------------------------------------------------------------ many


def _replay_bulk(ctx, agency: str, key: str, used) -> BulkResult:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(CRED.c.request_row, CRED.c.id, CRED.c.digest)
            .where(CRED.c.agency_code == agency, CRED.c.idempotency_key == key)
            .order_by(CRED.c.request_row)
        ).all()
    errors = [RowError.from_dict(e) for e in used.result.get("errors", [])]
    return BulkResult([IssuedRow(r.request_row, r.id, r.digest) for r in rows], errors, replayed=True)


def issue_many(
    ctx,
    agency: str,
    type_name: str,
    rows: Iterable[Row],
    *,
    all_or_nothing: bool = False,
    idempotency_key: str | None = None,
    actor: str = "system",
    progress: Progress | None = None,
) -> BulkResult:
    """Issue one credential per row (``ledger.issuance.rows``), in one transaction.

    Bad rows: reported in ``BulkResult.errors`` while the valid rows are issued; with
    ``all_or_nothing=True``, :class:`BulkRejected` and nothing issued. ``progress(done, total)`` is
    called while signing.
    """
    with collection_paused():  # ledger.issuance.bulk_runtime: 100,000s of rows live through the request
        return _issue_many(ctx, agency, type_name, list(rows), all_or_nothing, idempotency_key, actor, progress)


def _issue_many(
    ctx,
    agency: str,
    type_name: str,
    rows: list[Row],
    all_or_nothing: bool,
    idempotency_key: str | None,
    actor: str,
    progress: Progress | None,
) -> BulkResult:
    fingerprint = None
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
        fingerprint = idempotency.request_hash(
            {
                "op": "issue-bulk",
                "type": type_name,
                "allOrNothing": all_or_nothing,
                "rows": [r.request_form() for r in rows],
            }
        )
        used = _find_used_key(ctx, agency, idempotency_key, fingerprint)
        if used is not None:
            return _replay_bulk(ctx, agency, idempotency_key, used)
    request = _Request(ctx, agency, type_name, actor=actor, idempotency_key=idempotency_key)
    issued: list[IssuedRow] = []
    errors: list[RowError] = []
    total = len(rows)
    items = []
    for row in rows:
        if row.problems:  # unreadable row: report it with whatever the schema also finds
            errors.append(RowError(row.number, list(row.problems) + request.ctype.subject_errors(row.subject)))
        else:
            items.append([row.number, row.subject, _date(row.valid_from), _date(row.valid_until)])
    # a refused row leaves its slot unused: slots are never reused, and reserving them all at once
    # costs one transaction whatever the request's size
    for item, slot in zip(items, request.slots(len(items)) if items else ()):
        item.append(slot)
    done = len(errors)
    try:
        with ctx.engine.connect() as conn:
            # ONE transaction, begun by the first chunk written (on SQLite: the write lock is taken then)
            # and written a chunk at a time while the workers sign on, so the database's work overlaps
            # theirs instead of following it. Refused rows under all-or-nothing stop the writing; the
            # transaction is rolled back unless committed at the end.
            chunk = _Chunk(conn, request)
            for n, result in enumerate(sign_rows(request.signer, items, ctx.signing_workers), done + 1):
                if isinstance(result, RefusedRow):
                    errors.append(RowError(result.number, result.errors))
                else:
                    issued.append(IssuedRow(result.number, result.id, result.digest))
                    if not (errors and all_or_nothing):
                        chunk.add(result)
                if progress is not None and (n % 1000 == 0 or n == total):
                    progress(n, total)
            errors.sort(key=lambda e: e.row)
            if errors and all_or_nothing:
                raise BulkRejected(errors)
            chunk.flush()
            if idempotency_key is not None and fingerprint is not None:  # (set together)
                conn.execute(
                    insert(IDEMPOTENCY),
                    idempotency.record_values(
                        agency,
                        idempotency_key,
                        fingerprint,
                        "issue-bulk",
                        at=request.now,
                        result={"errors": [e.to_dict() for e in errors], "issued": len(issued)},
                    ),
                )
            if conn.in_transaction():
                conn.commit()
    except IntegrityError:
        used = _find_used_key(ctx, agency, idempotency_key, fingerprint)
        if used is not None and idempotency_key is not None:  # (found only for a key)
            return _replay_bulk(ctx, agency, idempotency_key, used)
        raise
    log.info("issued %d %s credentials for %s (%d rows refused)", len(issued), type_name, agency, len(errors))
    return BulkResult(issued, errors)


def issue_file(ctx, agency: str, type_name: str, data: str | bytes, fmt: str, **kw) -> BulkResult:
    """:func:`issue_many` on a CSV or JSON Lines document (``fmt``: csv | jsonl)."""
    with collection_paused():
        return issue_many(ctx, agency, type_name, parse_rows(data, fmt, get_type(ctx, type_name)), **kw)


# ------------------------------------------------------------------ supersede


def supersede(
    ctx,
    agency: str,
    credential_id: str,
    subject: Mapping,
    *,
    valid_from: datetime | str | None = None,
    valid_until: datetime | str | None = None,
    idempotency_key: str | None = None,
    actor: str = "system",
    revoke_reason: int | None = None,
) -> IssuedCredential:
    """Issue a corrected credential replacing ``credential_id`` (see the module's policy).
    ``revoke_reason``: the code the old one is revoked with once this one is anchored (default 1,
    superseded; ``ledger.issuance.key_compromise`` re-issues with 3, key compromise)."""
    with ctx.engine.connect() as conn:
        old = conn.execute(
            select(CRED.c.id, CRED.c.type_name, CRED.c.subject_id, CRED.c.state).where(
                CRED.c.id == credential_id, CRED.c.agency_code == agency
            )
        ).first()
        successor = conn.execute(
            select(CRED.c.id, CRED.c.idempotency_key).where(CRED.c.supersedes == credential_id)
        ).first()
    if old is None:
        raise CredentialNotFound([credential_id])
    if successor is not None and (idempotency_key is None or successor.idempotency_key != idempotency_key):
        raise SupersedeRefused(f"credential {credential_id} is already superseded by {successor.id}")
    if old.state == CredentialState.REVOKED and successor is None:
        raise SupersedeRefused(f"credential {credential_id} is revoked; a revoked credential cannot be superseded")
    if old.subject_id is not None and (not isinstance(subject, Mapping) or subject.get("id") != old.subject_id):
        raise ValidationError(
            [
                FieldError(
                    "credentialSubject.id",
                    f"must stay {old.subject_id} (the holder of the credential being superseded)",
                )
            ]
        )
    return _issue_single(
        ctx,
        agency,
        old.type_name,
        subject,
        valid_from,
        valid_until,
        idempotency_key=idempotency_key,
        actor=actor,
        operation="supersede",
        supersedes=credential_id,
        supersede_reason=revoke_reason,
    )


__all__ = ["issue_file", "issue_many", "issue_one", "load_issued", "supersede"]
