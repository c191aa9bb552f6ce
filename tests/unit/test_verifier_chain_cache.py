"""CachedChainReader over a scripted chain: facts cached per (agency, …), dropped exactly by the events
of new blocks in the same namespace, everything dropped on a failed event read or a reorganisation,
anchors kept only when final, and a read that straddles new blocks never kept."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from ledger.chain.records import AgencyInfo, AnchorRecord, KeyRecord, StatusRecord
from ledger.protocol.deployment import Deployment
from ledger.verification.chain_state import CachedChainReader, ChainUnavailable

A, B = b"\xaa" * 32, b"\xbb" * 32
ROOT, DIGEST, KEY, TYPE = b"\x11" * 32, b"\x22" * 32, b"\x33" * 32, b"\x44" * 32
D = Deployment(31337, "0x" + "01" * 20, "0x" + "02" * 20)
ACTIVE, REVOKED = StatusRecord(0, 0, 0), StatusRecord(2, 3, 1_000)


class ScriptedChain:
    """The RpcChainReader interface the cache uses, over state and events the test writes."""

    def __init__(self):
        self.number, self.fork = 1, 0
        self.hashes = {1: self._hash(1)}
        self.events_at: dict[int, list] = {}
        self.state = {"anchor": {}, "status": {}, "root_status": {}, "key": {}, "permitted": {}, "agency": {}}
        self.reads = Counter()
        self.fail_events = False
        self.during_read = None  # called inside the next fact read (as another thread would act)

    def _hash(self, n: int) -> bytes:
        return bytes([self.fork % 256, n % 256]) * 16

    def mine(self, *changes, empty: int = 0) -> int:
        """A block holding the changes: (table, key, value, event name, event args)."""
        self.number += 1
        self.hashes[self.number] = self._hash(self.number)
        self.events_at[self.number] = []
        for table, key, value, name, args in changes:
            self.state[table][key] = value
            self.events_at[self.number].append(SimpleNamespace(name=name, args=args))
        block = self.number
        for _ in range(empty):
            self.mine()
        return block

    def reorg(self, depth: int, shorter_by: int = 0) -> None:
        """The last ``depth`` blocks replaced, after the chain lost its last ``shorter_by`` (evm_revert)."""
        self.number -= shorter_by
        self.fork += 1
        for n in range(self.number - depth + 1, self.number + 1):
            self.hashes[n] = self._hash(n)
            self.events_at[n] = []

    # --- reads ---

    def _fact(self, table, key, default):
        self.reads[table] += 1
        answer = self.state[table].get(key, default)
        if self.during_read:  # the node has answered; before the answer is used, new blocks arrive
            hook, self.during_read = self.during_read, None
            hook()
        return answer

    def anchor_of(self, d, agency_id, root):
        return self._fact("anchor", (agency_id, root), AnchorRecord(0, 0, 0))

    def status_of(self, d, agency_id, digest):
        return self._fact("status", (agency_id, digest), ACTIVE)

    def root_status_of(self, d, agency_id, root):
        return self._fact("root_status", (agency_id, root), ACTIVE)

    def key_of(self, d, agency_id, key):
        return self._fact("key", (agency_id, key), KeyRecord(0, 0))

    def is_permitted(self, d, agency_id, type_id):
        return self._fact("permitted", (agency_id, type_id), False)

    def agency_info(self, d, agency_id):
        return self._fact("agency", agency_id, AgencyInfo(agency_id, "", "", False))

    def head(self, d):
        return self.number, self.hashes[self.number]

    def block_hash(self, d, number):
        return self.hashes[number]

    def events(self, d, a, b):
        if self.fail_events:
            raise ChainUnavailable("eth_getLogs failed")
        return [e for n in range(a, b + 1) for e in self.events_at.get(n, [])]

    def status_changes(self, d, a, b):
        self.reads["status_changes"] += 1
        changed = [e for e in self.events(d, a, b) if e.name == "StatusChanged"]
        if self.during_read:
            hook, self.during_read = self.during_read, None
            hook()
        return [e.args["agencyId"] + e.args["digest"] for e in changed]


def revoke(agency, digest):
    return (
        "status",
        (agency, digest),
        REVOKED,
        "StatusChanged",
        {"agencyId": agency, "digest": digest, "state": 2, "reason": 3},
    )


def revoke_root(agency, root):
    return (
        "root_status",
        (agency, root),
        REVOKED,
        "RootStatusChanged",
        {"agencyId": agency, "root": root, "state": 2, "reason": 3},
    )


def revoke_key(agency, key):
    return (
        "key",
        (agency, key),
        KeyRecord(5, 900),
        "KeyRevoked",
        {"agencyId": agency, "publicKey": key, "revokedAt": 900},
    )


def withdraw(agency, type_id):
    return (
        "permitted",
        (agency, type_id),
        False,
        "TypePermissionChanged",
        {"agencyId": agency, "typeId": type_id, "permitted": False},
    )


def deactivate(agency, code):
    return (
        "agency",
        agency,
        AgencyInfo(agency, code, "Renamed", False),
        "AgencyActiveChanged",
        {"agencyId": agency, "active": False},
    )


def anchor(agency, root, block):
    return (
        "anchor",
        (agency, root),
        AnchorRecord(1_000 + block, block, 4),
        "Anchored",
        {"agencyId": agency, "root": root},
    )


def setup(finality_depth: int = 0):
    chain = ScriptedChain()
    for agency, code in ((A, "agency-a"), (B, "agency-b")):
        chain.state["agency"][agency] = AgencyInfo(agency, code, code.upper(), True)
        chain.state["key"][(agency, KEY)] = KeyRecord(5, 0)
        chain.state["permitted"][(agency, TYPE)] = True
    return chain, CachedChainReader(chain, finality_depth=finality_depth, head_poll_s=0)


def read_all(reader, agency):
    return (
        reader.status_of(D, agency, DIGEST),
        reader.root_status_of(D, agency, ROOT),
        reader.key_of(D, agency, KEY),
        reader.is_permitted(D, agency, TYPE),
        reader.agency_info(D, agency),
    )


def test_events_of_agency_b_never_drop_or_change_the_cached_facts_of_agency_a():
    chain, reader = setup()
    a_before, b_before = read_all(reader, A), read_all(reader, B)
    assert a_before == b_before[:4] + (AgencyInfo(A, "agency-a", "AGENCY-A", True),)
    reads = sum(chain.reads.values())
    # Agency B revokes digest X, its root, its key bytes, loses the type, is deactivated.
    chain.mine(
        revoke(B, DIGEST), revoke_root(B, ROOT), revoke_key(B, KEY), withdraw(B, TYPE), deactivate(B, "agency-b")
    )
    assert read_all(reader, A) == a_before
    assert sum(chain.reads.values()) == reads  # A's facts were not even read again
    assert read_all(reader, B) == (
        REVOKED,
        REVOKED,
        KeyRecord(5, 900),
        False,
        AgencyInfo(B, "agency-b", "Renamed", False),
    )
    assert sum(chain.reads.values()) == reads + 5  # exactly B's five facts were dropped
    assert reader.status_of(D, A, DIGEST) == ACTIVE


def test_an_event_drops_exactly_its_entry_in_its_namespace():
    chain, reader = setup()
    other = b"\x99" * 32
    reader.status_of(D, A, DIGEST), reader.status_of(D, A, other)
    chain.mine(revoke(A, DIGEST))
    assert reader.status_of(D, A, DIGEST) == REVOKED
    reads = chain.reads["status"]
    assert reader.status_of(D, A, other) == ACTIVE and chain.reads["status"] == reads


def test_a_failed_event_read_drops_every_mutable_fact_but_no_final_anchor():
    chain, reader = setup()
    chain.mine(anchor(A, ROOT, 2))
    assert reader.anchor_of(D, A, ROOT).anchored
    read_all(reader, A)
    reads = Counter(chain.reads)
    chain.fail_events = True
    chain.mine()
    read_all(reader, A)
    reader.anchor_of(D, A, ROOT)
    assert {t: chain.reads[t] - reads[t] for t in chain.reads} == {
        "anchor": 0,
        "status": 1,
        "root_status": 1,
        "key": 1,
        "permitted": 1,
        "agency": 1,
    }


def test_a_reorganisation_drops_every_mutable_fact_and_anchors_above_the_final_height():
    chain, reader = setup(finality_depth=2)
    old = chain.mine(anchor(A, ROOT, 2), empty=2)
    assert reader.anchor_of(D, A, ROOT) == AnchorRecord(1_000 + old, old, 4)  # 2 deep: final, kept
    young_root = b"\x77" * 32
    young = chain.mine(anchor(B, young_root, chain.number + 1), empty=2)
    assert reader.anchor_of(D, B, young_root).block_number == young  # kept too
    read_all(reader, A)
    reads = Counter(chain.reads)
    chain.reorg(2, shorter_by=1)  # the head goes back a block and B's anchor's block is replaced
    del chain.state["anchor"][(B, young_root)]
    assert not reader.anchor_of(D, B, young_root).anchored  # above the new final height: dropped, read again
    assert reader.anchor_of(D, A, ROOT).anchored
    read_all(reader, A)
    assert chain.reads["anchor"] - reads["anchor"] == 1  # A's old anchor stayed cached
    assert all(chain.reads[t] - reads[t] == 1 for t in ("status", "root_status", "key", "permitted", "agency"))


def test_only_final_anchors_are_kept():
    chain, reader = setup(finality_depth=2)
    chain.mine(anchor(A, ROOT, 2))
    for _ in range(3):
        assert reader.anchor_of(D, A, ROOT).anchored  # 0 blocks deep: read every time
    assert chain.reads["anchor"] == 3
    for _ in range(3):
        assert not reader.anchor_of(D, A, b"\x78" * 32).anchored  # absent: never kept
    assert chain.reads["anchor"] == 6
    chain.mine(empty=1)
    reader.anchor_of(D, A, ROOT), reader.anchor_of(D, A, ROOT)
    assert chain.reads["anchor"] == 7


def test_a_read_that_straddles_new_blocks_is_returned_but_not_kept():
    chain, reader = setup()
    reader.refresh(D)

    def another_thread_applies_a_block():  # after the node answered "active", the revocation lands
        chain.mine(revoke(A, DIGEST))
        reader.refresh(D)

    chain.during_read = another_thread_applies_a_block
    assert reader.status_of(D, A, DIGEST) == ACTIVE
    assert reader.status_of(D, A, DIGEST) == REVOKED  # not the stale answer


def test_an_unreadable_chain_raises_and_nothing_is_kept():
    chain, reader = setup()

    def fail(*_):
        raise ChainUnavailable("down")

    chain.key_of = fail
    with pytest.raises(ChainUnavailable):
        reader.key_of(D, A, KEY)
    del chain.key_of
    assert reader.key_of(D, A, KEY) == KeyRecord(5, 0)


OTHER = b"\x55" * 32


def test_prefetched_statuses_answer_without_a_read_and_follow_new_events():
    chain, reader = setup()
    chain.mine(revoke(A, DIGEST))
    assert reader.prefetch_statuses(D)
    assert chain.reads["status_changes"] == 1
    # never changed: the contracts' default, no read; changed once: read as before
    assert reader.status_of(D, A, OTHER) == ACTIVE and reader.status_of(D, B, DIGEST) == ACTIVE
    assert chain.reads["status"] == 0
    assert reader.status_of(D, A, DIGEST) == REVOKED and chain.reads["status"] == 1
    # a revocation after the scan: its event marks the credential, which is then read
    chain.mine(revoke(A, OTHER))
    assert reader.status_of(D, A, OTHER) == REVOKED and chain.reads["status"] == 2


def test_prefetched_statuses_are_forgotten_when_events_cannot_be_read_or_the_chain_reorganises():
    chain, reader = setup()
    assert reader.prefetch_statuses(D)
    chain.fail_events = True
    chain.mine(revoke(A, OTHER))
    assert reader.status_of(D, A, OTHER) == REVOKED  # not the prefetched default: read
    chain.fail_events = False
    assert reader.prefetch_statuses(D)
    chain.reorg(1)
    chain.state["status"][(A, DIGEST)] = REVOKED  # the new branch holds a change the scan never saw
    assert reader.status_of(D, A, DIGEST) == REVOKED
    chain.fail_events = True
    assert not reader.prefetch_statuses(D)


def test_a_scan_that_straddles_new_blocks_is_not_kept():
    chain, reader = setup()
    chain.during_read = lambda: chain.mine(revoke(A, OTHER))
    assert reader.prefetch_statuses(D)  # the head did not move before the scan ended: kept
    reader.refresh(D)
    assert reader.status_of(D, A, OTHER) == REVOKED  # ... and the block's event marked it
    chain2, reader2 = setup()
    reader2.refresh(D)

    def move():
        chain2.mine(revoke(A, OTHER))
        reader2.refresh(D)  # another thread applied the new block while the scan ran

    chain2.during_read = move
    assert not reader2.prefetch_statuses(D)
    assert reader2.status_of(D, A, OTHER) == REVOKED


def test_a_seeded_reader_starts_from_the_export_and_drops_what_changed_since():
    chain, reader = setup()
    assert reader.prefetch_statuses(D)
    before = read_all(reader, A)
    reads = sum(chain.reads.values())
    other = CachedChainReader(chain, head_poll_s=0)
    other.seed(reader.export())
    assert read_all(other, A) == before and sum(chain.reads.values()) == reads  # nothing read again
    chain.mine(revoke(A, DIGEST), revoke(A, OTHER))
    assert other.status_of(D, A, DIGEST) == REVOKED and other.status_of(D, A, OTHER) == REVOKED
    assert reader.status_of(D, A, OTHER) == REVOKED  # the export shared nothing mutable
