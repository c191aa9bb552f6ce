"""The index's fold of v2 events, without a chain: a scripted chain feeds the real :class:`Indexer`
(decoding, storing, rolling back), and the :class:`IndexedChainReader` answers from the database.

Checks that every fact lives in its agency's namespace, the freshness rule (what takes validity away
counts at once, the rest after ``confirmations``), agencyInfo's fold, uint64 values, and that an
index written by v1 is dropped and rebuilt from the deployment block."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass, field

import pytest

from ledger.chain.records import AgencyInfo, AnchorRecord, KeyRecord, StatusRecord
from ledger.protocol.deployment import Deployment
from ledger.verification.chain_state import ChainUnavailable
from verifier.index_db import OLD_FORMAT_TABLES, IndexCursor, make_index_engine
from verifier.indexer import BlockInfo, IndexedChainReader, Indexer, decode_args, deployment_key

A, B, C = (hashlib.sha3_256(code.encode()).digest() for code in ("agency-a", "agency-b", "agency-c"))
ROOT, DIGEST, KEY = b"\x11" * 32, b"\x22" * 32, b"\x33" * 32
T1, T2 = b"\x44" * 32, b"\x55" * 32
OPERATOR = "0x" + "ab" * 20
FIRST_BLOCK = 10


@dataclass
class _Block:
    number: int
    hash: str
    timestamp: int
    events: list = field(default_factory=list)  # (name, args)


class ScriptedChain:
    """What :class:`verifier.indexer.ChainSource` offers the indexer, over blocks written by the test."""

    def __init__(self):
        self.blocks: dict[int, _Block] = {}
        self.head = FIRST_BLOCK - 1
        self.fork = 0
        self.ranges: list[tuple[int, int]] = []
        for n in range(self.head + 1):
            self.blocks[n] = self._block(n, [])

    def _block(self, number: int, events) -> _Block:
        return _Block(
            number,
            "0x" + hashlib.sha256(f"{self.fork}:{number}".encode()).hexdigest(),
            1_700_000_000 + 12 * number,
            list(events),
        )

    def mine(self, *events, empty: int = 0) -> int:
        """One block holding ``events`` (then ``empty`` empty ones); returns the events' block."""
        self.head += 1
        self.blocks[self.head] = self._block(self.head, events)
        holding = self.head
        for _ in range(empty):
            self.head += 1
            self.blocks[self.head] = self._block(self.head, [])
        return holding

    def reorg(self, depth: int) -> None:
        """The last ``depth`` blocks replaced by empty ones (anvil_reorg with no transactions)."""
        self.fork += 1
        for n in range(self.head - depth + 1, self.head + 1):
            self.blocks[n] = self._block(n, [])

    def timestamp(self, number: int) -> int:
        return self.blocks[number].timestamp

    # --- the ChainSource interface the Indexer uses ---

    def head_number(self) -> int:
        return self.head

    def block(self, number: int) -> BlockInfo | None:
        b = self.blocks.get(number) if number <= self.head else None
        return BlockInfo(b.number, b.hash, b.timestamp) if b else None

    def events(self, root, from_block: int, to_block: int):
        self.ranges.append((from_block, to_block))
        out = []
        for n in range(from_block, to_block + 1):
            b = self.blocks[n]
            for i, (name, args) in enumerate(b.events):
                out.append(
                    decode_args(
                        name,
                        args,
                        {
                            "name": name,
                            "block_number": n,
                            "block_hash": b.hash,
                            "log_index": i,
                            "tx_hash": "0x" + "00" * 32,
                        },
                    )
                )
        return out


class Harness:
    def __init__(self, tmp_path, confirmations: int = 1, name: str = "index.db"):
        self.chain = ScriptedChain()
        self.root = Deployment.trust_root(31337, "0x" + "01" * 20, "0x" + "02" * 20, "test", FIRST_BLOCK)
        self.d = self.root
        self.url = f"sqlite:///{tmp_path / name}"
        self.engine = make_index_engine(self.url)
        self.indexer = Indexer(self.engine, [self.root], {}, reorg_window=8)
        self.indexer.sources[self.root.chain_id] = self.chain
        self.reader = IndexedChainReader(self.engine, [self.root], confirmations=confirmations)

    def index(self):
        result = self.indexer.run(self.root)
        self.reader.sync()
        return result


# --- event arguments as web3 decodes them ---


def registered(agency, code, name, index=1):
    return "AgencyRegistered", {"agencyId": agency, "index": index, "code": code, "name": name}


def renamed(agency, name):
    return "AgencyNameChanged", {"agencyId": agency, "name": name}


def active(agency, flag):
    return "AgencyActiveChanged", {"agencyId": agency, "active": flag}


def anchored(agency, root, count):
    return "Anchored", {"agencyId": agency, "root": root, "count": count, "operator": OPERATOR}


def status(agency, digest, state, reason=0):
    return "StatusChanged", {"agencyId": agency, "digest": digest, "state": state, "reason": reason}


def root_status(agency, root, state=2, reason=0):
    return "RootStatusChanged", {"agencyId": agency, "root": root, "state": state, "reason": reason}


def key_added(agency, key, valid_from):
    return "KeyAdded", {"agencyId": agency, "publicKey": key, "validFrom": valid_from}


def key_revoked(agency, key, revoked_at):
    return "KeyRevoked", {"agencyId": agency, "publicKey": key, "revokedAt": revoked_at}


def permitted(agency, type_id, flag):
    return "TypePermissionChanged", {"agencyId": agency, "typeId": type_id, "permitted": flag}


def operator(agency, added=True):
    return ("OperatorAdded" if added else "OperatorRemoved"), {"agencyId": agency, "operator": OPERATOR}


# ------------------------------------------------------------------------------------------ tests


def test_two_agencies_sharing_a_root_a_digest_and_key_bytes_are_independent(tmp_path):
    h = Harness(tmp_path)
    c = h.chain
    c.mine(registered(A, "agency-a", "Agency A"), registered(B, "agency-b", "Agency B", 2), operator(A), operator(B))
    b_key = c.mine(key_added(A, KEY, 5), key_added(B, KEY, 7), permitted(A, T1, True), permitted(B, T1, True))
    a_anchor = c.mine(anchored(A, ROOT, 3))
    b_anchor = c.mine(anchored(B, ROOT, 9))
    # Agency B takes everything away in its own namespace; A's records must not move.
    b_gone = c.mine(
        status(B, DIGEST, 2, 3),
        root_status(B, ROOT),
        key_revoked(B, KEY, c.timestamp(b_key)),
        permitted(B, T1, False),
        renamed(B, "Agency B, renamed"),
        active(B, False),
    )
    h.index()
    r, d = h.reader, h.d

    assert r.anchor_of(d, A, ROOT) == AnchorRecord(c.timestamp(a_anchor), a_anchor, 3)
    assert r.anchor_of(d, B, ROOT) == AnchorRecord(c.timestamp(b_anchor), b_anchor, 9)
    assert r.anchor_of(d, C, ROOT) == AnchorRecord(0, 0, 0) and not r.anchor_of(d, C, ROOT).anchored
    assert r.status_of(d, A, DIGEST) == StatusRecord(0, 0, 0)
    assert r.status_of(d, B, DIGEST) == StatusRecord(2, 3, c.timestamp(b_gone))
    assert r.root_status_of(d, A, ROOT) == StatusRecord(0, 0, 0)
    assert r.root_status_of(d, B, ROOT) == StatusRecord(2, 0, c.timestamp(b_gone))
    assert r.key_of(d, A, KEY) == KeyRecord(5, 0)
    assert r.key_of(d, B, KEY) == KeyRecord(7, c.timestamp(b_key))
    assert not r.key_of(d, C, KEY).registered
    assert r.is_permitted(d, A, T1) and not r.is_permitted(d, B, T1) and not r.is_permitted(d, C, T1)
    assert not r.is_permitted(d, A, T2)
    assert r.agency_info(d, A) == AgencyInfo(A, "agency-a", "Agency A", True)
    assert r.agency_info(d, B) == AgencyInfo(B, "agency-b", "Agency B, renamed", False)
    assert r.agency_info(d, C) == AgencyInfo(C, "", "", False) and not r.agency_info(d, C).registered


def test_what_takes_validity_away_counts_at_once_the_rest_after_confirmations(tmp_path):
    h = Harness(tmp_path, confirmations=3)
    c, r, d = h.chain, h.reader, h.d
    c.mine(registered(A, "agency-a", "Agency A"), key_added(A, KEY, 1), permitted(A, T1, True), anchored(A, ROOT, 2))
    h.index()
    # 1 confirmation of 3: nothing that gives validity counts yet
    assert not r.agency_info(d, A).registered
    assert not r.key_of(d, A, KEY).registered
    assert not r.is_permitted(d, A, T1)
    assert not r.anchor_of(d, A, ROOT).anchored
    c.mine()
    h.index()
    assert not r.anchor_of(d, A, ROOT).anchored  # 2 of 3
    c.mine()
    h.index()
    assert r.anchor_of(d, A, ROOT).anchored and r.agency_info(d, A).active
    assert r.key_of(d, A, KEY) == KeyRecord(1, 0) and r.is_permitted(d, A, T1)

    # Taken away: counts in the block that holds it.
    took = c.mine(status(A, DIGEST, 1, 4), key_revoked(A, KEY, 50), permitted(A, T1, False), active(A, False))
    h.index()
    assert r.status_of(d, A, DIGEST) == StatusRecord(1, 4, c.timestamp(took))
    assert r.key_of(d, A, KEY) == KeyRecord(1, 50)
    assert not r.is_permitted(d, A, T1) and not r.agency_info(d, A).active

    # Given back: waits for its confirmations, while the earlier state stands.
    c.mine(status(A, DIGEST, 0, 4), permitted(A, T1, True), active(A, True), renamed(A, "New name"))
    h.index()
    assert r.status_of(d, A, DIGEST).state == 1
    assert not r.is_permitted(d, A, T1)
    assert r.agency_info(d, A) == AgencyInfo(A, "agency-a", "Agency A", False)
    c.mine(empty=1)
    h.index()
    assert r.status_of(d, A, DIGEST).state == 0
    assert r.is_permitted(d, A, T1)
    assert r.agency_info(d, A) == AgencyInfo(A, "agency-a", "New name", True)

    # A batch revocation counts at once too.
    c.mine(root_status(A, ROOT, 2, 2))
    h.index()
    assert r.root_status_of(d, A, ROOT).state == 2


def test_a_key_revocation_only_moves_earlier_and_the_last_one_is_the_view(tmp_path):
    h = Harness(tmp_path)
    c = h.chain
    c.mine(registered(A, "agency-a", "Agency A"), key_added(A, KEY, 100))
    c.mine(key_revoked(A, KEY, 500))
    c.mine(key_revoked(A, KEY, 300))  # compromise found earlier
    h.index()
    record = h.reader.key_of(h.d, A, KEY)
    assert record == KeyRecord(100, 300)
    assert record.valid_at(299) and not record.valid_at(300) and not record.valid_at(99)


def test_any_uint64_value_is_stored_and_read_back_exactly(tmp_path):
    """validFrom is any uint64 the agency's operator chooses: it must neither stall the index nor change."""
    h = Harness(tmp_path)
    c = h.chain
    top = (1 << 64) - 1
    c.mine(
        registered(A, "agency-a", "Agency A"),
        key_added(A, KEY, top),
        key_added(A, b"\x66" * 32, 1 << 63),
        anchored(A, ROOT, (1 << 32) - 1),
    )
    result = h.index()
    assert result.caught_up
    assert h.reader.key_of(h.d, A, KEY) == KeyRecord(top, 0)
    assert h.reader.key_of(h.d, A, b"\x66" * 32) == KeyRecord(1 << 63, 0)
    assert h.reader.anchor_of(h.d, A, ROOT).count == (1 << 32) - 1


def test_a_reorganisation_undoes_what_the_lost_blocks_said(tmp_path):
    h = Harness(tmp_path)
    c = h.chain
    c.mine(registered(A, "agency-a", "Agency A"), registered(B, "agency-b", "Agency B", 2))
    c.mine(anchored(A, ROOT, 1), anchored(B, ROOT, 1))
    h.index()
    c.mine(status(A, DIGEST, 2), status(B, DIGEST, 1), renamed(A, "Lost name"))
    h.index()
    assert h.reader.status_of(h.d, A, DIGEST).state == 2 and h.reader.agency_info(h.d, A).name == "Lost name"
    c.reorg(1)
    h.index()
    assert h.indexer.rollbacks == 1
    assert h.reader.status_of(h.d, A, DIGEST) == StatusRecord(0, 0, 0)
    assert h.reader.status_of(h.d, B, DIGEST) == StatusRecord(0, 0, 0)
    assert h.reader.agency_info(h.d, A).name == "Agency A"
    assert h.reader.anchor_of(h.d, B, ROOT).anchored


def test_events_of_unknown_names_and_operator_events_change_no_answer(tmp_path):
    h = Harness(tmp_path)
    h.chain.mine(registered(A, "agency-a", "Agency A"), operator(A), operator(A, added=False))
    h.index()
    assert h.reader.agency_info(h.d, A) == AgencyInfo(A, "agency-a", "Agency A", True)
    assert decode_args("RoleGranted", {"agencyId": A}, {}) is None


def test_stale_or_unready_index_raises_for_every_read(tmp_path):
    h = Harness(tmp_path)
    reads = [
        lambda: h.reader.anchor_of(h.d, A, ROOT),
        lambda: h.reader.status_of(h.d, A, DIGEST),
        lambda: h.reader.root_status_of(h.d, A, ROOT),
        lambda: h.reader.key_of(h.d, A, KEY),
        lambda: h.reader.is_permitted(h.d, A, T1),
        lambda: h.reader.agency_info(h.d, A),
    ]
    for read in reads:
        with pytest.raises(ChainUnavailable, match="not ready"):
            read()
    h.index()
    for read in reads:
        read()
    h.reader.clock = lambda: time.time() + 120
    for read in reads:
        with pytest.raises(ChainUnavailable, match="has not reached the chain"):
            read()


V1_SCHEMA = """
CREATE TABLE index_cursor (deployment VARCHAR NOT NULL PRIMARY KEY, start_block INTEGER NOT NULL,
    head INTEGER NOT NULL, head_hash VARCHAR NOT NULL, chain_head INTEGER NOT NULL, generation INTEGER NOT NULL,
    synced_at FLOAT NOT NULL);
CREATE TABLE indexed_block (deployment VARCHAR NOT NULL, number INTEGER NOT NULL, hash VARCHAR NOT NULL,
    timestamp INTEGER NOT NULL, PRIMARY KEY (deployment, number));
CREATE TABLE indexed_event (id INTEGER NOT NULL PRIMARY KEY, deployment VARCHAR NOT NULL, block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL, tx_hash VARCHAR NOT NULL, timestamp INTEGER NOT NULL, name VARCHAR NOT NULL,
    key BLOB NOT NULL, agency_id BLOB NOT NULL, value INTEGER NOT NULL, reason INTEGER NOT NULL, extra VARCHAR NOT NULL,
    UNIQUE (deployment, block_number, log_index));
CREATE INDEX ix_indexed_event_lookup ON indexed_event (deployment, name, key);
"""


def test_an_index_written_by_v1_is_dropped_and_rebuilt_from_the_deployment_block(tmp_path):
    root = Deployment.trust_root(31337, "0x" + "01" * 20, "0x" + "02" * 20, "test", FIRST_BLOCK)
    key = deployment_key(root)
    path = tmp_path / "index.db"
    with sqlite3.connect(path) as conn:  # what v1 left: caught up far ahead, with a v1 (global) anchor of ROOT
        conn.executescript(V1_SCHEMA)
        conn.execute("INSERT INTO index_cursor VALUES (?, ?, 500, '0xaa', 500, 0, ?)", (key, FIRST_BLOCK, time.time()))
        conn.execute(
            "INSERT INTO indexed_event VALUES (1, ?, 20, 0, '0x', 1, 'Anchored', ?, ?, 0, 0, '')", (key, ROOT, A)
        )

    h = Harness(tmp_path)  # opens the same file
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & set(OLD_FORMAT_TABLES)
    with pytest.raises(ChainUnavailable, match="not ready"):  # nothing of v1 is read
        h.reader.sync() or h.reader.anchor_of(h.d, A, ROOT)

    h.chain.mine(registered(A, "agency-a", "Agency A"), empty=3)
    result = h.index()
    assert h.chain.ranges[0][0] == FIRST_BLOCK and result.head == h.chain.head  # from the deployment block
    assert not h.reader.anchor_of(h.d, A, ROOT).anchored
    with h.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT start_block FROM {IndexCursor.__tablename__}").scalar() == FIRST_BLOCK
    make_index_engine(h.url)  # opening again keeps the v2 index
    h.reader.sync()
    assert h.reader.agency_info(h.d, A).registered
