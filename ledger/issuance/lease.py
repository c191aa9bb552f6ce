"""A named lease in the ``lease`` table: one holder at a time across processes and hosts.

Acquiring and renewing are one statement, ``UPDATE lease SET holder = me, expires_at = now + ttl
WHERE name = :name AND (expires_at < now OR holder = me)``, atomic on SQLite and PostgreSQL alike;
the first use inserts the row (a concurrent insert loses on the primary key). Times come from the
callers' clocks: hosts sharing a database need synchronised clocks (NTP) and a TTL well above their
skew. A lease is an optimisation of who works, not what keeps the chain right: a root can be
anchored once, so two anchorers racing after a lost lease cannot anchor anything twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ledger.storage.db import reading
from ledger.storage.tables import LEASE

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def acquire_lease(engine: Engine, name: str, holder: str, ttl_s: float, now: datetime) -> bool:
    """Take or renew ``name`` for ``holder`` until ``now + ttl_s``; False while another holds it."""
    expires = now + timedelta(seconds=ttl_s)
    with engine.begin() as conn:
        taken = conn.execute(
            update(LEASE)
            .where(LEASE.c.name == name, or_(LEASE.c.expires_at < now, LEASE.c.holder == holder))
            .values(holder=holder, expires_at=expires)
        ).rowcount
    if taken == 1:
        return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(LEASE).values(name=name, holder=holder, expires_at=expires))
        return True
    except IntegrityError:  # the row exists and someone else holds it
        return False


def release_lease(engine: Engine, name: str, holder: str) -> None:
    """Let the lease go now (only if we hold it), so another worker need not wait for it to expire."""
    with engine.begin() as conn:
        conn.execute(update(LEASE).where(LEASE.c.name == name, LEASE.c.holder == holder).values(expires_at=_EPOCH))


def lease_holder(engine: Engine, name: str, now: datetime) -> str | None:
    """Who holds ``name`` now (None: nobody)."""
    with reading(engine).connect() as conn:
        row = conn.execute(LEASE.select().where(LEASE.c.name == name)).first()
    return row.holder if row is not None and row.expires_at >= now else None


def lease_state(engine: Engine, name: str, now: datetime) -> tuple[str, float] | None:
    """``(holder, seconds left)`` while someone holds ``name``; None when nobody does."""
    with reading(engine).connect() as conn:
        row = conn.execute(LEASE.select().where(LEASE.c.name == name)).first()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    left = (expires - now).total_seconds()
    return (row.holder, left) if left >= 0 else None


__all__ = ["acquire_lease", "lease_holder", "lease_state", "release_lease"]
