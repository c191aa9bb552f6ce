"""Writing the audit log."""
from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from .models import AuditEvent


def record_audit(engine: Engine, action: str, actor: str, *, agency: str | None = None, subject: str | None = None,
                 tx_hash: str | None = None, details: dict | None = None) -> AuditEvent:
    event = AuditEvent(action=action, actor=actor, agency=agency, subject=subject, tx_hash=tx_hash, details=details or {})
    with Session(engine) as session:
        session.add(event)
        session.commit()
        session.refresh(event)
    return event
