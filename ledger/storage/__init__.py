"""Storage: SQLModel models on SQLite (embedded default) or PostgreSQL."""

from ledger.storage.audit import record_audit
from ledger.storage.db import init_database, make_engine, reading
from ledger.storage.models import AgencyRecord, AuditEvent

__all__ = ["init_database", "make_engine", "reading", "AgencyRecord", "AuditEvent", "record_audit"]
