"""Reading an agency's credentials and audit log. Every query is scoped to one agency: another
agency's credential is "not found", exactly like one that does not exist.

Lists are paginated by keyset: pass ``next_cursor`` back as ``cursor`` (stable while new rows
arrive, unlike offsets). Credentials come newest first; audit events newest first.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select

from ledger.issuance.bundles import anchored_bundle, open_credential, with_body
from ledger.issuance.errors import CredentialNotFound
from ledger.issuance.results import AuditEntry, CredentialInfo, Page
from ledger.protocol.bundle import Bundle
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.json_depth import too_deep
from ledger.storage.models import AuditEvent, BatchRecord, CredentialRecord
from ledger.storage.tables import table_of

CRED = table_of(CredentialRecord)
BATCH = table_of(BatchRecord)
AUDIT = table_of(AuditEvent)
MAX_LIMIT = 1_000
MAX_ROW_ID = 2**63 - 1  # the databases' integer keys


def _row(ctx, agency: str, credential_id: str, *, body: bool = True):
    # ``with_body`` must stay annotated: were it untyped (returning Any), mypy 1.20 would infer this
    # ``select(...)`` (generic over a TypeVarTuple) in the Any context of the other branch and crash
    # (INTERNAL ERROR, "Invalid type replacement to expand: tuple[*tuple[Any, ...]] | Any").
    query = with_body(select(CRED)) if body else select(CRED)
    with ctx.engine.connect() as conn:
        row = conn.execute(query.where(CRED.c.id == credential_id, CRED.c.agency_code == agency)).first()
    if row is None:
        raise CredentialNotFound([credential_id])
    return row


def _info(r) -> CredentialInfo:
    return CredentialInfo(
        id=r.id,
        agency=r.agency_code,
        type_name=r.type_name,
        holder_id=r.subject_id,
        digest=r.digest,
        state=r.state,
        status_reason=r.status_reason,
        issued_at=r.issued_at,
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        batch_id=r.batch_id,
        supersedes=r.supersedes,
    )


def get_credential_info(ctx, agency: str, credential_id: str) -> CredentialInfo:
    """What is in clear about one credential (no decryption)."""
    return _info(_row(ctx, agency, credential_id, body=False))


def get_credential(ctx, agency: str, credential_id: str) -> dict:
    """The signed credential (decrypted: personal data)."""
    return open_credential(ctx, _row(ctx, agency, credential_id))


def get_bundle(ctx, agency: str, credential_id: str) -> Bundle:
    """The credential's bundle: with its anchor receipt once anchored, ``anchor=None`` before."""
    row = _row(ctx, agency, credential_id)
    credential = open_credential(ctx, row)
    if row.batch_id is None:
        return Bundle(credential, None)
    with ctx.engine.connect() as conn:
        batch = conn.execute(select(BATCH).where(BATCH.c.id == row.batch_id)).first()
    if batch.state not in ("confirmed", "completed"):
        return Bundle(credential, None)
    tree = ctx.trees.get(ctx.engine, batch.id, batch.root)
    return anchored_bundle(ctx, credential, row.digest, row.leaf_index, batch, tree)


# ------------------------------------------------------------------ cursors


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if too_deep(raw):  # before the C decoder recurses (see ledger.protocol.json_depth)
            raise ValueError("too deep")
        return json.loads(raw)
    except ValueError:
        raise ValueError("cursor: not a cursor returned by this listing") from None


def _cursor(cursor: str, *kinds: type) -> list:
    """A cursor's values, which must be of `kinds`: a 422 naming `cursor` otherwise (never a 500)."""
    try:
        values = _decode(cursor)
    except ValueError:
        values = None
    if not (
        isinstance(values, list) and len(values) == len(kinds) and all(type(v) is k for v, k in zip(values, kinds))
    ):
        raise _bad("cursor", "not a cursor returned by this listing")
    return values


def _instant(value: datetime | None, field: str) -> datetime | None:
    """An aware time in UTC, as stored; a 422 naming `field` when it has none (an offset at the edge
    of the calendar), not an OverflowError deep in the database driver. Naive times pass as they are."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _bad(field, "out of range once converted to UTC") from None


def _bad(field: str, reason: str) -> ValidationError:
    return ValidationError([FieldError(field, reason)])


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def list_credentials(
    ctx,
    agency: str,
    *,
    type_name: str | None = None,
    holder_id: str | None = None,
    state: str | Iterable[str] | None = None,
    issued_from: datetime | None = None,
    issued_until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    """The agency's credentials, newest first; ``issued_from`` inclusive, ``issued_until`` exclusive."""
    limit = _limit(limit)
    q = select(CRED).where(CRED.c.agency_code == agency)
    if type_name is not None:
        q = q.where(CRED.c.type_name == type_name)
    if holder_id is not None:
        q = q.where(CRED.c.subject_id == holder_id)
    if state is not None:
        q = q.where(CRED.c.state.in_([state] if isinstance(state, str) else list(state)))
    issued_from, issued_until = _instant(issued_from, "from"), _instant(issued_until, "until")
    if issued_from is not None:
        q = q.where(CRED.c.issued_at >= issued_from)
    if issued_until is not None:
        q = q.where(CRED.c.issued_at < issued_until)
    if cursor is not None:
        at_text, last_id = _cursor(cursor, str, str)
        try:
            at = _instant(datetime.fromisoformat(at_text), "cursor")
        except ValueError:
            raise _bad("cursor", "not a cursor returned by this listing") from None
        q = q.where(or_(CRED.c.issued_at < at, and_(CRED.c.issued_at == at, CRED.c.id < last_id)))
    q = q.order_by(CRED.c.issued_at.desc(), CRED.c.id.desc()).limit(limit + 1)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q).all()
    items = [_info(r) for r in rows[:limit]]
    more = len(rows) > limit
    next_cursor = _encode([items[-1].issued_at.isoformat(), items[-1].id]) if more else None
    return Page(items, next_cursor)


def audit_log(
    ctx,
    agency: str,
    *,
    action: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    """The agency's audit events, newest first."""
    limit = _limit(limit)
    q = select(AUDIT).where(AUDIT.c.agency == agency)
    if action is not None:
        q = q.where(AUDIT.c.action == action)
    if subject is not None:
        q = q.where(AUDIT.c.subject == subject)
    since, until = _instant(since, "since"), _instant(until, "until")
    if since is not None:
        q = q.where(AUDIT.c.at >= since)
    if until is not None:
        q = q.where(AUDIT.c.at < until)
    if cursor is not None:
        (last_id,) = _cursor(cursor, int)
        if not 0 < last_id <= MAX_ROW_ID:
            raise _bad("cursor", "not a cursor returned by this listing")
        q = q.where(AUDIT.c.id < last_id)
    q = q.order_by(AUDIT.c.id.desc()).limit(limit + 1)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q).all()
    items = [AuditEntry(r.id, r.at, r.actor, r.agency, r.action, r.subject, r.tx_hash, r.details) for r in rows[:limit]]
    return Page(items, _encode([items[-1].id]) if len(rows) > limit else None)


__all__ = ["audit_log", "get_bundle", "get_credential", "get_credential_info", "list_credentials"]
