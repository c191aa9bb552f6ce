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

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ledger.issuance.errors import IdempotencyConflict
from ledger.protocol.errors import FieldError, ValidationError
from ledger.storage.models import IdempotencyRecord
from ledger.storage.tables import table_of

TABLE = table_of(IdempotencyRecord)
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
    row = conn.execute(select(TABLE).where(TABLE.c.agency_code == agency, TABLE.c.key == key)).first()
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


__all__ = ["check_key", "find", "record_values", "request_hash"]
