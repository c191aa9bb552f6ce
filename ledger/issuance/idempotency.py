"""Idempotency keys: one key per agency names one request, forever.

The first use records the key with a fingerprint of the request (SHA-256 of its canonical JSON)
in the same transaction as what the request issued. A retry with the same key and the same request
gets the same result (the same credentials, ``replayed=True``); the same key with a different request
raises :class:`IdempotencyConflict`. Concurrent duplicates are settled by the table's primary key:
the loser's transaction rolls back and it returns the winner's result.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ledger.issuance.errors import IdempotencyConflict
from ledger.protocol.errors import FieldError, ValidationError
from ledger.storage.tables import IDEMPOTENCY

_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces (HTTP Idempotency-Key header values)


def check_key(key: str) -> str:
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise ValidationError(
            [FieldError("idempotencyKey", "must be 1 to 200 printable ASCII characters without spaces")]
        )
    return key


def request_hash(request: dict) -> str:
    text = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find(conn: Connection, agency: str, key: str, fingerprint: str):
    """The recorded use of ``key`` (a row) if it was made for this same request; None if unused.
    Raises IdempotencyConflict when the key was used for another request."""
    row = conn.execute(select(IDEMPOTENCY).where(IDEMPOTENCY.c.agency_code == agency, IDEMPOTENCY.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyConflict(key)
    return row


def record_values(
    agency: str,
    key: str,
    fingerprint: str,
    operation: str,
    *,
    credential_id: str | None = None,
    result: dict | None = None,
    at=None,
) -> dict:
    return {
        "agency_code": agency,
        "key": key,
        "request_hash": fingerprint,
        "operation": operation,
        "credential_id": credential_id,
        "result": result or {},
        "created_at": at,
    }


def once(
    engine: Engine, agency: str, key: str, operation: str, request: dict, run: Callable[[], dict]
) -> tuple[dict, bool]:
    """``run()``'s result the first time ``key`` names this request, the recorded result on a retry:
    (result, replayed). For actions that are not idempotent by themselves (a governance rotation makes a
    new key each time); the caller serialises concurrent runs, the primary key settles the record."""
    check_key(key)
    fingerprint = request_hash({"operation": operation, **request})
    with engine.connect() as conn:
        row = find(conn, agency, key, fingerprint)
    if row is not None:
        return dict(row.result), True
    result = run()
    values = record_values(agency, key, fingerprint, operation, result=result, at=datetime.now(UTC))
    try:
        with engine.begin() as conn:
            conn.execute(IDEMPOTENCY.insert().values(**values))
    except IntegrityError:  # another request with this key recorded first: its result stands
        with engine.connect() as conn:
            row = find(conn, agency, key, fingerprint)
        if row is None:
            raise
        return dict(row.result), True
    return result, False


__all__ = ["check_key", "find", "once", "record_values", "request_hash"]
