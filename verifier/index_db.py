"""The verifier's own database: the chain facts its indexer follows (SQLModel, SQLite by default).

Kept apart from the issuer's schema (``ledger.storage``): its own SQLModel registry and metadata,
created with ``create_all`` — the tables are a cache of public chain state and can always be rebuilt
by deleting the file.

* ``index_cursor`` — per trusted deployment: the last indexed block and its hash, the chain head
  seen, when the indexer last looked (``synced_at``), and a ``generation`` bumped at every rollback.
* ``indexed_block`` — hashes (and timestamps) of recent indexed blocks: the reorganisation check.
* ``indexed_event`` — every ledger and registry event, in chain order; the current state of a
  credential, key or permission is the fold of its events.
"""
from __future__ import annotations

import time

from sqlalchemy import Index, LargeBinary, UniqueConstraint, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel, create_engine

_REGISTRY = registry()


class IndexBase(SQLModel, registry=_REGISTRY):
    """Base of the verifier's tables (its own metadata, not ``SQLModel.metadata``)."""


class IndexCursor(IndexBase, table=True):
    __tablename__ = "index_cursor"

    deployment: str = Field(primary_key=True)   # "eip155:<chainId>:<ledger>/<registry>"
    start_block: int
    head: int = -1                 # last indexed block (-1: nothing yet)
    head_hash: str = ""
    chain_head: int = -1           # the chain's head when the indexer last looked
    generation: int = 0            # bumped at every rollback: readers reload
    synced_at: float = 0.0         # wall-clock time of the last successful round


class IndexedBlock(IndexBase, table=True):
    __tablename__ = "indexed_block"

    deployment: str = Field(primary_key=True)
    number: int = Field(primary_key=True)
    hash: str
    timestamp: int


class IndexedEvent(IndexBase, table=True):
    __tablename__ = "indexed_event"
    __table_args__ = (
        UniqueConstraint("deployment", "block_number", "log_index"),
        Index("ix_indexed_event_lookup", "deployment", "name", "key"),
        Index("ix_indexed_event_block", "deployment", "block_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deployment: str
    block_number: int
    log_index: int
    tx_hash: str
    timestamp: int                 # the block's timestamp: the anchor time, a status's "since"
    name: str                      # the event's name
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))        # root, digest, public key, …
    agency_id: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    value: int = 0                 # state, validFrom, revokedAt, permitted, count, index, active
    reason: int = 0
    extra: str = ""                # agency code, operator address


def make_index_engine(url: str) -> Engine:
    """An engine on the index database, its tables created if missing."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            conn.execute("PRAGMA journal_mode=WAL")     # readers never wait for the indexer
            conn.execute("PRAGMA synchronous=NORMAL")  # a cache of the chain: a lost commit is re-indexed
    else:
        engine = create_engine(url)
    for attempt in range(5):  # several workers may start at once: another may create a table first
        try:
            IndexBase.metadata.create_all(engine)
            break
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    return engine


__all__ = ["IndexBase", "IndexCursor", "IndexedBlock", "IndexedEvent", "make_index_engine"]
