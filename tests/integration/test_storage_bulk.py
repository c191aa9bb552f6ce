"""bulk_insert stores exactly what a Core insert stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from ledger.storage.bulk import bulk_insert
from ledger.storage.db import init_database
from ledger.storage.models import AgencyRecord
from ledger.storage.tables import AUDIT

pytestmark = pytest.mark.integration


def test_bulk_insert_matches_core_insert(database_url):
    engine = init_database(database_url)
    t0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    east8 = timezone(timedelta(hours=8))
    rows = [
        {
            "at": (t0 if i % 2 else t0.astimezone(east8)) + timedelta(seconds=i // 3),
            "actor": "a",
            "agency": None,
            "action": "issue",
            "subject": f"s{i}",
            "tx_hash": None,
            "details": {"n": i, "名": "张"},
        }
        for i in range(7)
    ]
    with engine.begin() as conn:
        conn.execute(insert(AUDIT), [{**r, "subject": "core-" + r["subject"]} for r in rows])
        bulk_insert(conn, AUDIT, [{**r, "subject": "bulk-" + r["subject"]} for r in rows], chunk=3)
    with engine.connect() as conn:
        stored = conn.execute(select(AUDIT).order_by(AUDIT.c.id)).all()
    core = [(r.at, r.details, r.agency) for r in stored if r.subject.startswith("core-")]
    bulk = [(r.at, r.details, r.agency) for r in stored if r.subject.startswith("bulk-")]
    assert core == bulk and len(bulk) == 7
    assert all(at.tzinfo is not None for at, _, _ in bulk)
    assert bulk[0][0] == t0
    with engine.connect() as conn:  # and comparisons on the stored values still work
        n = conn.execute(select(AUDIT.c.id).where(AUDIT.c.at >= t0 + timedelta(seconds=1))).all()
    assert len(n) == 8
    bulk_insert(engine.connect(), AgencyRecord.__table__, [])  # nothing to do
    engine.dispose()
