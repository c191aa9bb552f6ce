"""Status-list indexes for new credentials: reserved in the database before signing, never twice.

Each signing key of an agency fills its own lists (``status_list``), one after the other; a list's
indexes are handed out in order from its ``next_index``. :func:`reserve` takes ``count`` consecutive
free indexes in one committed transaction of its own, before anything is signed, and returns them as
ranges (:class:`StatusRange`); a full list is followed by a new one, numbered after the agency's
highest list id. A crash after reserving loses the reserved indexes: they stay unused (the lists
have room to spare), and no index is ever handed out twice.

Concurrent callers, in one process or many: on PostgreSQL each reservation first locks the agency's
row (``SELECT … FOR NO KEY UPDATE``: credentials inserted meanwhile, whose foreign key takes a key-share
lock on it, are not held up), so the reservations of one agency take turns; on SQLite every write
transaction already holds the database's write lock (``BEGIN IMMEDIATE``, ``ledger.storage.db``).

The cost is per list touched, not per index: reserving 100,000 indexes is two or three statements.

Typical use (issuance)::

    ranges = reserve(ctx.engine, agency, key.public_key.raw, len(rows))
    for row, (list_id, index) in zip(rows, slots(ranges)):
        row.credentialStatus = status_entries(ctx.status_base_url, agency, list_id, index)
        # … and store list_id, index in credential.status_list_id / status_index
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from ledger.issuance.errors import AgencyNotFound
from ledger.protocol.status_list import LIST_SIZE
from ledger.storage.models import AgencyRecord, StatusListRecord
from ledger.storage.tables import table_of

LIST = table_of(StatusListRecord)
AGENCY = table_of(AgencyRecord)


@dataclass(frozen=True)
class StatusRange:
    """``count`` consecutive indexes of list ``list_id``, from ``start``."""

    list_id: int
    start: int
    count: int

    @property
    def stop(self) -> int:
        return self.start + self.count


def public_key_hex(public_key: bytes) -> str:
    """How ``status_list.public_key`` records a key: ``0x`` + 64 lower-case hex digits."""
    raw = bytes(public_key)
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return "0x" + raw.hex()


def reserve(
    engine: Engine, agency_code: str, public_key: bytes, count: int, *, size: int = LIST_SIZE, now=None
) -> list[StatusRange]:
    """Reserve ``count`` fresh indexes in the lists of ``agency_code``'s key ``public_key`` (committed
    before this returns); ``size`` is the size of lists opened now. Raises ``AgencyNotFound`` for an
    agency this installation does not record."""
    if type(count) is not int or count < 0:
        raise ValueError(f"count must be a non-negative integer, not {count!r}")
    if type(size) is not int or size < 8 or size % 8:
        raise ValueError("a list size is a positive multiple of 8")
    key = public_key_hex(public_key)
    if count == 0:
        return []
    ranges: list[StatusRange] = []
    with engine.begin() as conn:
        agency = conn.execute(
            select(AGENCY.c.code).where(AGENCY.c.code == agency_code).with_for_update(key_share=True)
        ).first()
        if agency is None:
            raise AgencyNotFound(agency_code)
        current = conn.execute(
            select(LIST.c.list_id, LIST.c.size, LIST.c.next_index)
            .where(LIST.c.agency_code == agency_code, LIST.c.public_key == key)
            .order_by(LIST.c.list_id.desc())
            .limit(1)
        ).first()
        left = count
        if current is not None and current.next_index < current.size:
            take = min(left, current.size - current.next_index)
            conn.execute(
                update(LIST)
                .where(LIST.c.agency_code == agency_code, LIST.c.list_id == current.list_id)
                .values(next_index=current.next_index + take)
            )
            ranges.append(StatusRange(current.list_id, current.next_index, take))
            left -= take
        if left:
            last = conn.execute(select(func.max(LIST.c.list_id)).where(LIST.c.agency_code == agency_code)).scalar()
            list_id = (last or 0) + 1
            rows = []
            while left:
                take = min(left, size)
                values = {
                    "agency_code": agency_code,
                    "list_id": list_id,
                    "public_key": key,
                    "size": size,
                    "next_index": take,
                }
                if now is not None:
                    values["created_at"] = now
                rows.append(values)
                ranges.append(StatusRange(list_id, 0, take))
                left -= take
                list_id += 1
            conn.execute(insert(LIST), rows)
    return ranges


def slots(ranges: Iterable[StatusRange]) -> Iterator[tuple[int, int]]:
    """``(list id, index)`` of every reserved index, in order."""
    for r in ranges:
        for index in range(r.start, r.start + r.count):
            yield r.list_id, index


__all__ = ["StatusRange", "public_key_hex", "reserve", "slots"]
