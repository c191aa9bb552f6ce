"""Writing the audit log.

``add_audit`` adds an event to the caller's session, so the event commits (or not) with the change
it records; ``record_audit`` writes one event on its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger.storage.models import AuditEvent


def add_audit(
    session: Session,
    action: str,
    actor: str,
    *,
    agency: str | None = None,
    subject: str | None = None,
    tx_hash: str | None = None,
    details: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action, actor=actor, agency=agency, subject=subject, tx_hash=tx_hash, details=details or {}
    )
    if at is not None:
        event.at = at
    session.add(event)
    return event


def record_audit(
    engine: Engine,
    action: str,
    actor: str,
    *,
    agency: str | None = None,
    subject: str | None = None,
    tx_hash: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    with Session(engine) as session:
        event = add_audit(session, action, actor, agency=agency, subject=subject, tx_hash=tx_hash, details=details)
        session.commit()
        session.refresh(event)
    return event
