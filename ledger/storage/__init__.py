"""Storage: SQLModel models on SQLite (embedded default) or PostgreSQL."""
from .db import init_database, make_engine, reading
from .models import AgencyRecord, AuditEvent
from .audit import record_audit

__all__ = ["init_database", "make_engine", "reading", "AgencyRecord", "AuditEvent", "record_audit"]
