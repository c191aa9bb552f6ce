"""The verifier's own database: the chain facts its indexer follows (SQLModel, SQLite by default).

Kept apart from the issuer's schema (``ledger.storage``): its own SQLModel registry and metadata,
created with ``create_all`` — the tables are a cache of public chain state and can always be rebuilt
by deleting the file.

* ``index2_cursor`` — per trusted deployment: the last indexed block and its hash, the chain head
  seen, when the indexer last looked (``synced_at``), and a ``generation`` bumped at every rollback.
* ``index2_block`` — hashes (and timestamps) of recent indexed blocks: the reorganisation check.
* ``index2_event`` — every ledger and registry event, in chain order, with the agency whose namespace
  it belongs to; the current state of an anchor, credential, key, permission or agency is the fold
  of its events.

**Format.** The tables' names carry the index format (:data:`INDEX_FORMAT`, 2: protocol v2, every
fact in an agency's namespace). A database written by an earlier format is never read: its tables
(v1: ``index_cursor``, ``indexed_block``, ``indexed_event``) are dropped when the database is opened,
and the deployments are indexed again from their deployment blocks into the new tables.
"""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Index, LargeBinary, UniqueConstraint, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel, create_engine

_REGISTRY = registry()

INDEX_FORMAT = 2
# Tables of earlier formats: dropped on opening (a cache; misreading them would be worse than a rebuild).
OLD_FORMAT_TABLES = ("indexed_event", "indexed_block", "index_cursor")

_U64_WRAP = 1 << 64


def to_i64(value: int) -> int:
    """A uint64 event value (validFrom may be any uint64) as the signed 64-bit integer a column holds."""
    return value - _U64_WRAP if value >= 1 << 63 else value


def from_i64(value: int) -> int:
    """The inverse of :func:`to_i64`."""
    return value + _U64_WRAP if value < 0 else value


class IndexBase(SQLModel, registry=_REGISTRY):
    """Base of the verifier's tables (its own metadata, not ``SQLModel.metadata``)."""


class IndexCursor(IndexBase, table=True):
    __tablename__ = "index2_cursor"

    deployment: str = Field(primary_key=True)  # "eip155:<chainId>:<ledger>/<registry>"
    start_block: int
    head: int = -1  # last indexed block (-1: nothing yet)
    head_hash: str = ""
    chain_head: int = -1  # the chain's head when the indexer last looked
    generation: int = 0  # bumped at every rollback: readers reload
    synced_at: float = 0.0  # wall-clock time of the last successful round


class IndexedBlock(IndexBase, table=True):
    __tablename__ = "index2_block"

    deployment: str = Field(primary_key=True)
    number: int = Field(primary_key=True)
    hash: str
    timestamp: int


class IndexedEvent(IndexBase, table=True):
    __tablename__ = "index2_event"
    __table_args__ = (
        UniqueConstraint("deployment", "block_number", "log_index"),
        Index("ix_index2_event_block", "deployment", "block_number"),
        # The transparency queries (verifier.transparency): one agency's batches (or events) in
        # chain order, and one record's history (a batch root, a digest). The latest events and
        # the export read the unique (deployment, block_number, log_index) index.
        Index("ix_index2_event_agency", "deployment", "agency_id", "block_number", "log_index"),
        Index("ix_index2_event_agency_name", "deployment", "agency_id", "name", "block_number", "log_index"),
        Index("ix_index2_event_key", "deployment", "agency_id", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deployment: str
    block_number: int
    log_index: int
    tx_hash: str
    timestamp: int  # the block's timestamp: the anchor time, a status's "since"
    name: str  # the event's name
    agency_id: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the namespace
    key: bytes = Field(
        sa_column=Column(LargeBinary, nullable=False)
    )  # root, digest, public key, type id; b"" for agency events
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    #                              count, state, validFrom, revokedAt, permitted, index, active (uint64: to_i64)
    reason: int = 0
    extra: str = ""  # agency code (AgencyRegistered), operator address (Anchored, Operator*)
    agency_name: str = ""  # AgencyRegistered, AgencyNameChanged


def make_index_engine(url: str) -> Engine:
    """An engine on the index database: tables of an earlier format dropped, the current ones created."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the indexer
            conn.execute("PRAGMA synchronous=NORMAL")  # a cache of the chain: a lost commit is re-indexed
    else:
        engine = create_engine(url)
    for attempt in range(5):  # several workers may start at once: another may create a table first
        try:
            old = [t for t in OLD_FORMAT_TABLES if t in inspect(engine).get_table_names()]
            if old:
                with engine.begin() as conn:
                    for table in old:
                        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
            IndexBase.metadata.create_all(engine)
            # create_all adds indexes only with a new table: an index added later is made here, on
            # an existing database too (the rows are the same, so the format does not change).
            for index in IndexedEvent.__table__.indexes:  # type: ignore[attr-defined]
                index.create(engine, checkfirst=True)
            break
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    return engine


__all__ = [
    "INDEX_FORMAT",
    "IndexBase",
    "IndexCursor",
    "IndexedBlock",
    "IndexedEvent",
    "from_i64",
    "make_index_engine",
    "to_i64",
]
