"""The agencies this installation issues for, and the credential types it knows, in the database.

A credential type is known when it has a ``credential_type`` row or is one of
``ledger.protocol.credential_types.BUILTIN_TYPES`` (a row of the same name replaces the built-in). An agency
may issue a type only when the type is in its ``types`` list (kept in step with what governance
granted on chain by whoever onboards the agency).
"""

from __future__ import annotations

import json
import threading

from sqlalchemy import select
from sqlmodel import Session

from ledger.issuance.errors import AgencyKeysMissing, AgencyNotFound, TypeNotPermitted, UnknownCredentialType
from ledger.protocol.credential import Issuer
from ledger.protocol.credential_types import BUILTIN_TYPES, CredentialType
from ledger.protocol.identifiers import check_agency_code
from ledger.storage.audit import add_audit
from ledger.storage.db import reading
from ledger.storage.models import AgencyRecord, CredentialTypeRecord
from ledger.storage.tables import table_of

AGENCY = table_of(AgencyRecord)
TYPE = table_of(CredentialTypeRecord)

_type_cache: dict[tuple[str, str], CredentialType] = {}
_type_cache_lock = threading.Lock()


def _compiled(name: str, schema: dict, description: str | None) -> CredentialType:
    """Compiling a JSON Schema validator is costly: one per (name, schema) per process."""
    key = (name, json.dumps(schema, sort_keys=True))
    with _type_cache_lock:
        ctype = _type_cache.get(key)
    if ctype is None:
        ctype = CredentialType(name, schema, description or None)
        with _type_cache_lock:
            _type_cache[key] = ctype
    return ctype


def register_type(ctx, ctype: CredentialType, *, actor: str = "system") -> None:
    """Add or replace a credential type (its JSON Schema) in this installation."""
    with Session(ctx.engine) as session:
        record = session.get(CredentialTypeRecord, ctype.name)
        action = "type-update" if record else "type-add"
        record = record or CredentialTypeRecord(name=ctype.name, subject_schema={})
        record.subject_schema = ctype.schema  # type: ignore[assignment]  # a JSON column: any mapping is stored alike
        record.description = ctype.description or ""
        session.add(record)
        add_audit(session, action, actor, subject=ctype.name, at=ctx.now())
        session.commit()


def get_type(ctx, name: str) -> CredentialType:
    with reading(ctx.engine).connect() as conn:
        return _type_from(conn, name)


def _type_from(conn, name: str) -> CredentialType:
    row = conn.execute(select(TYPE.c.subject_schema, TYPE.c.description).where(TYPE.c.name == name)).first()
    if row is not None:
        return _compiled(name, row.subject_schema, row.description)
    if name in BUILTIN_TYPES:
        return BUILTIN_TYPES[name]
    raise UnknownCredentialType(name)


def list_types(ctx) -> list[CredentialType]:
    with Session(reading(ctx.engine)) as session:
        records = session.query(CredentialTypeRecord).all()
    known = dict(BUILTIN_TYPES)
    known.update({r.name: _compiled(r.name, r.subject_schema, r.description) for r in records})
    return [known[n] for n in sorted(known)]


def register_agency(ctx, code: str, name: str, types: list[str], *, actor: str = "system") -> AgencyRecord:
    """Record (or update) an agency this installation issues for, with the keys of ``ctx.chain``'s
    keyring (operator address and signing public key) and the types it may issue."""
    check_agency_code(code)
    keys = ctx.chain.keyring.get(code)
    for t in types:
        get_type(ctx, t)  # refuse unknown types
    with Session(ctx.engine) as session:
        record = session.get(AgencyRecord, code) or AgencyRecord(
            code=code, name=name, operator_address="", signing_public_key="", types=[]
        )
        record.name = name
        record.operator_address = keys.operator.address
        record.signing_public_key = "0x" + keys.signing_key.public_key.raw.hex()
        record.types = sorted(set(types))
        session.add(record)
        add_audit(
            session,
            "agency-record",
            actor,
            agency=code,
            subject=code,
            details={"types": record.types, "operator": record.operator_address},
            at=ctx.now(),
        )
        session.commit()
        session.refresh(record)
        return record


def get_agency(ctx, code: str) -> AgencyRecord:
    with Session(reading(ctx.engine)) as session:
        record = session.get(AgencyRecord, code)
    if record is None:
        raise AgencyNotFound(code)
    return record


def issuing_setup(ctx, agency: str, type_name: str) -> tuple[Issuer, CredentialType]:
    """The issuer and the type for one issuance request, after every refusal check:
    unknown agency, unknown type, type not granted to the agency, key file not matching the record.
    Every single issuance asks this: one read-only connection, plain rows (no ORM objects)."""
    with reading(ctx.engine).connect() as conn:
        record = conn.execute(
            select(AGENCY.c.code, AGENCY.c.name, AGENCY.c.types, AGENCY.c.signing_public_key).where(
                AGENCY.c.code == agency
            )
        ).first()
        if record is None:
            raise AgencyNotFound(agency)
        ctype = _type_from(conn, type_name)
    if type_name not in (record.types or []):
        raise TypeNotPermitted(agency, type_name)
    key = ctx.chain.signing_key(agency)
    if record.signing_public_key and record.signing_public_key.lower() != "0x" + key.public_key.raw.hex():
        raise AgencyKeysMissing(agency, "the signing key in the data directory is not the one recorded for the agency")
    return Issuer(record.code, record.name), ctype


__all__ = ["get_agency", "get_type", "issuing_setup", "list_types", "register_agency", "register_type"]
