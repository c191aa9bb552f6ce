"""API keys: issued per agency (or for governance), scoped, revocable; only a hash is stored.

A key reads `clk_<id>_<secret>`: the id finds the row, the secret (256 random bits) is compared by
its SHA-256 in constant time. A fast hash is right here: the secret is random, not a password.
The whole key is shown once, at creation, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.storage.audit import record_audit
from ledger.storage.db import reading
from ledger.storage.models import ApiKey
from ledger.storage.tables import API_KEY

SCOPES = ("issue", "revoke", "read", "admin")  # an agency's keys
GOVERNANCE_SCOPE = "governance"  # keys without an agency: onboarding, types
_TOKEN = re.compile(r"clk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


class ApiKeyError(ValueError):
    pass


class LabelInUse(ApiKeyError):
    def __init__(self, key_id: str, label: str):
        super().__init__(f"name: the live key {key_id} is already named {label!r}; revoke it or choose another")
        self.key_id, self.label = key_id, label


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    key_id: str
    agency: str | None  # None: governance
    scopes: frozenset[str]

    @property
    def agency_code(self) -> str:
        """The agency of an agency key (the services' agency routes admit only those)."""
        if self.agency is None:
            raise ApiKeyError("a governance key acts for no agency")
        return self.agency

    def allows(self, scope: str) -> bool:
        # admin implies every agency scope; governance is separate and implies nothing else
        return scope in self.scopes or (scope in SCOPES and "admin" in self.scopes)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_api_key(
    engine: Engine,
    agency: str | None,
    scopes: list[str],
    label: str = "",
    actor: str = "system",
    unique_label: bool = False,
) -> tuple[ApiKey, str]:
    """Returns the stored row and the full key, which exists nowhere else afterwards.
    ``unique_label``: refuse the label when an unrevoked key of the same agency has it (a retried
    command does not leave two live keys)."""
    allowed = (GOVERNANCE_SCOPE,) if agency is None else SCOPES
    unknown = [s for s in scopes if s not in allowed]
    if not scopes or unknown:
        raise ApiKeyError(f"scopes: {unknown or 'none given'} not in {list(allowed)}")
    if unique_label and label:
        live = [k for k in list_api_keys(engine, agency) if k.label == label and k.revoked_at is None]
        if agency is None:
            live = [k for k in live if k.agency_code is None]
        if live:
            raise LabelInUse(live[0].id, label)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(
        id=f"clk_{key_id}", agency_code=agency, secret_hash=_hash(secret), scopes=sorted(set(scopes)), label=label
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    record_audit(engine, "api_key.create", actor, agency=agency, subject=row.id, details={"scopes": row.scopes})
    return row, f"clk_{key_id}_{secret}"


def authenticate(engine: Engine, token: str | None) -> Principal | None:
    """The principal of a valid, unrevoked key; None for anything else (no hint which part failed)."""
    match = _TOKEN.fullmatch(token or "")
    if not match:
        return None
    # every request asks this: a read-only connection and a plain row, no ORM session
    with reading(engine).connect() as conn:
        row = conn.execute(
            sa_select(API_KEY.c.agency_code, API_KEY.c.secret_hash, API_KEY.c.scopes, API_KEY.c.revoked_at).where(
                API_KEY.c.id == f"clk_{match.group(1)}"
            )
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(match.group(2))):
        return None
    return Principal(f"clk_{match.group(1)}", row.agency_code, frozenset(row.scopes))


def revoke_api_key(engine: Engine, key_id: str, agency: str | None, actor: str) -> bool:
    """Revoke `key_id` if it belongs to `agency` (governance: any key). False if there is no such key."""
    with Session(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None or (agency is not None and row.agency_code != agency):
            return False
        owner = row.agency_code
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            session.commit()
    record_audit(engine, "api_key.revoke", actor, agency=owner, subject=key_id)
    return True


def list_api_keys(engine: Engine, agency: str | None) -> list[ApiKey]:
    with Session(engine) as session:
        query = select(ApiKey).where(ApiKey.agency_code == agency) if agency else select(ApiKey)
        return list(session.exec(query.order_by(col(ApiKey.created_at))))
