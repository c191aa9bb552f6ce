"""Storage: SQLModel models on SQLite (embedded default) or PostgreSQL."""
from ledger.storage.db import init_database, make_engine, reading
from ledger.storage.models import AgencyRecord, AuditEvent
from ledger.storage.audit import record_audit

__all__ = ["init_database", "make_engine", "reading", "AgencyRecord", "AuditEvent", "record_audit"]
