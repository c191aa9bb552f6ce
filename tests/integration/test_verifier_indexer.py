"""The verifier's chain indexer on a real anvil: it answers like the contracts' v2 views in every
agency's namespace (and the RPC, cached and indexed readers agree when two agencies share a root, a
digest and key bytes), serves verification with no RPC call, resumes after a restart, rolls back
reorganisations (evm_revert, anvil_reorg), honours confirmations and fails closed when stale."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlmodel import Session, func, select

from ledger.chain import Reason, connect
from ledger.chain.embedded import EmbeddedChain
from ledger.protocol.deployment import Deployment
from ledger.protocol.identifiers import agency_id, type_id
from ledger.protocol.keys import SigningKey
from ledger.verification import Verdict, verify
from ledger.verification.chain_state import ChainUnavailable
from tests.integration.conftest import build_world, degree
from verifier.index_db import IndexCursor, IndexedEvent, make_index_engine
from verifier.indexer import IndexedChainReader, Indexer, IndexLock, IndexService, deployment_key, lock_path_for

pytestmark = pytest.mark.integration

EDU, CIVIL = "zj-hz-education", "zj-hz-civil"


def root_of(world) -> Deployment:
    d = world.deployment
    return Deployment.trust_root(d.chain_id, d.registry, d.ledger, "test", d.block)


class Index:
    """An indexer and a reader on one database, for a world."""

    def __init__(self, world, tmp_path, name="index.db", **reader_kw):
        self.world, self.root = world, root_of(world)
        self.url = f"sqlite:///{tmp_path / name}"
        self.engine = make_index_engine(self.url)
        self.indexer = Indexer(self.engine, [self.root], {world.chain_id: [world.rpc_url]}, reorg_window=16)
        self.reader = IndexedChainReader(self.engine, [self.root], **reader_kw)

    def catch_up(self):
        result = self.indexer.run(self.root)
        self.reader.sync()
        return result

    @property
    def trusted(self):
        return self.root

    def events(self) -> int:
        with Session(self.engine) as s:
            return s.exec(select(func.count()).select_from(IndexedEvent)).one()

    def cursor(self) -> IndexCursor:
        with Session(self.engine) as s:
            return s.get(IndexCursor, deployment_key(self.root))


def test_index_answers_exactly_like_the_contract_views(world, tmp_path):
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"s{i}")) for i in range(6)])
    ledger = world.agencies[EDU].ledger
    ledger.revoke(batch.digests[0], batch.root, batch.tree.proof(0), Reason.SUPERSEDED)
    ledger.suspend(batch.digests[1], batch.root, batch.tree.proof(1), Reason.ADMINISTRATIVE)
    ledger.suspend(batch.digests[2], batch.root, batch.tree.proof(2), Reason.HOLDER_REQUEST)
    ledger.reinstate(batch.digests[2], batch.root, batch.tree.proof(2), Reason.HOLDER_REQUEST)
    other, _ = world.anchor(EDU, [world.sign(EDU, degree("x"))])
    ledger.revoke_root(other.root, Reason.ISSUED_IN_ERROR)
    civil_key = world.agencies[CIVIL].signing_key.public_key.raw
    world.registry.revoke_key(agency_id(CIVIL), civil_key, 0)
    world.registry.set_type_permitted(agency_id(CIVIL), type_id("ResidenceCertificate"), False)
    world.registry.set_type_permitted(agency_id(CIVIL), type_id("ApprovalDecision"), True)
    world.registry.set_agency_name(agency_id(CIVIL), "杭州市民政局（新）")
    world.registry.set_agency_active(agency_id(CIVIL), False)
    far_key = SigningKey.generate().public_key.raw  # validFrom is any uint64: the index must keep it exactly
    world.registry.add_key(agency_id(EDU), far_key, 2**64 - 1)

    index = Index(world, tmp_path)
    index.catch_up()
    rpc, d = world.reader(), index.trusted
    agencies = [agency_id(EDU), agency_id(CIVIL), agency_id("never-registered")]
    for a in agencies:
        assert index.reader.agency_info(d, a) == rpc.inner.agency_info(d, a)
        for root in (batch.root, other.root, b"\x07" * 32):
            assert index.reader.anchor_of(d, a, root) == rpc.inner.anchor_of(d, a, root)
            assert index.reader.root_status_of(d, a, root) == rpc.inner.root_status_of(d, a, root)
        for digest in list(batch.digests) + [b"\x09" * 32]:
            assert index.reader.status_of(d, a, digest) == rpc.inner.status_of(d, a, digest)
        for key in (world.agencies[EDU].signing_key.public_key.raw, civil_key, far_key, b"\x05" * 32):
            assert index.reader.key_of(d, a, key) == rpc.inner.key_of(d, a, key)
        for t in ("DegreeCertificate", "ResidenceCertificate", "ApprovalDecision"):
            assert index.reader.is_permitted(d, a, type_id(t)) == rpc.inner.is_permitted(d, a, type_id(t))
    assert index.reader.key_of(d, agency_id(EDU), far_key).valid_from == 2**64 - 1
    assert index.reader.agency_info(d, agency_id(EDU)).code == EDU
    assert index.reader.agency_info(d, agency_id(CIVIL)).name == "杭州市民政局（新）"
    assert not index.reader.agency_info(d, agency_id(CIVIL)).active
    assert index.reader.anchor_of(d, agency_id(EDU), batch.root).count == 6
    # and the verdicts agree, report for report
    for b in bundles:
        by_index = verify(b.to_bytes(), world.trust(), index.reader).to_json()
        by_rpc = verify(b.to_bytes(), world.trust(), rpc).to_json()
        assert by_index == by_rpc
    codes = [verify(b.to_bytes(), world.trust(), index.reader).check("status").code for b in bundles[:3]]
    assert codes == ["REVOKED", "SUSPENDED", "STATUS_ACTIVE"]


def test_two_agencies_sharing_a_root_a_digest_and_key_bytes_get_independent_answers(world, tmp_path):
    """Agency B (civil) anchors the very root agency A (education) anchored, registers A's key bytes,
    then revokes A's digest, the root and the key in its own namespace: every reader (RPC, cached,
    indexed) answers for A exactly as before, and A's bundles stay VALID; B's answers show B's acts."""
    A, B = agency_id(EDU), agency_id(CIVIL)
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"ns{i}")) for i in range(4)])
    key = world.agencies[EDU].signing_key.public_key.raw
    index = Index(world, tmp_path)
    index.catch_up()
    [d] = world.trust()  # the deployment verify() reads, so that its reads hit the same cache
    rpc = world.reader().inner
    cached = world.reader(head_poll_s=0)
    readers = {"rpc": rpc, "cached": cached, "indexed": index.reader}

    def answers(reader, agency):
        return (
            reader.anchor_of(d, agency, batch.root),
            reader.root_status_of(d, agency, batch.root),
            [reader.status_of(d, agency, x) for x in batch.digests],
            reader.key_of(d, agency, key),
            reader.is_permitted(d, agency, type_id("DegreeCertificate")),
            reader.agency_info(d, agency),
        )

    before = {name: answers(r, A) for name, r in readers.items()}
    assert before["cached"] == before["rpc"] == before["indexed"]
    assert before["rpc"][0].anchored and before["rpc"][3].registered
    assert not answers(rpc, B)[0].anchored and not answers(rpc, B)[3].registered

    # B's acts, all in B's namespace, on the same bytes.
    civil = world.agencies[CIVIL].ledger
    civil.anchor(batch.root, len(batch))
    civil.revoke(batch.digests[0], batch.root, batch.tree.proof(0), Reason.KEY_COMPROMISE)
    civil.suspend(batch.digests[1], batch.root, batch.tree.proof(1), Reason.ADMINISTRATIVE)
    civil.revoke_root(batch.root, Reason.ISSUED_IN_ERROR)
    world.registry.add_key(B, key, 0)
    world.registry.revoke_key(B, key, 0)
    world.registry.set_type_permitted(B, type_id("DegreeCertificate"), False)
    world.registry.set_agency_name(B, "另一个名字 Another name")
    world.registry.set_agency_active(B, False)
    index.catch_up()
    cached.refresh(d)
    reads = cached.fact_reads

    for name, reader in readers.items():
        assert answers(reader, A) == before[name], name  # B changed nothing of A's
        for bundle in bundles:
            report = verify(bundle.to_bytes(), world.trust(), reader)
            assert report.verdict is Verdict.VALID, (name, report.to_json())
    assert cached.fact_reads == reads  # A's cached facts were not dropped by B's events
    # and B's namespace shows B's acts, the same in every reader
    b_answers = {name: answers(r, B) for name, r in readers.items()}
    assert b_answers["rpc"] == b_answers["cached"] == b_answers["indexed"]
    anchor, root_status, statuses, b_key, b_permitted, b_info = b_answers["rpc"]
    assert anchor.anchored and anchor.count == len(batch) and root_status.state == 2
    assert [s.state for s in statuses] == [2, 1, 0, 0]
    assert b_key.registered and b_key.revoked_at != 0 and not b_permitted
    assert (b_info.code, b_info.name, b_info.active) == (CIVIL, "另一个名字 Another name", False)


def test_steady_state_verification_makes_no_rpc_call(world, tmp_path):
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"n{i}")) for i in range(20)])
    index = Index(world, tmp_path)
    index.catch_up()
    source = index.indexer.source(world.chain_id)
    calls = source.calls
    sent = []
    original = requests.Session.request

    def spy(self, method, url, *a, **kw):  # any HTTP request at all, from any library using requests
        sent.append(url)
        return original(self, method, url, *a, **kw)

    requests.Session.request = spy
    try:
        for _ in range(25):
            for b in bundles:
                assert verify(b.to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID
    finally:
        requests.Session.request = original
    assert sent == [] and source.calls == calls

    # The index alone (a reader with no RPC configured anywhere) verifies: it is the source of truth.
    alone = IndexedChainReader(make_index_engine(index.url), [index.root])
    alone.sync()
    assert verify(bundles[0].to_bytes(), world.trust(), alone).verdict is Verdict.VALID


def test_restart_resumes_from_the_last_indexed_block(world, tmp_path):
    world.anchor(EDU, [world.sign(EDU, degree("r1"))])
    first = Index(world, tmp_path)
    first.catch_up()
    head, events = first.cursor().head, first.events()
    assert events >= 5  # agencies, operators, keys, permissions, the anchor

    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree("r2"))])
    again = Index(world, tmp_path)  # a new process: same database, fresh objects
    ranges = []
    source = again.indexer.source(world.chain_id)
    original = source.events
    source.events = lambda root, a, b: ranges.append((a, b)) or original(root, a, b)
    again.catch_up()
    assert ranges and ranges[0][0] == head + 1  # nothing before the last indexed block is read again
    assert again.events() == events + 1  # exactly the new anchor, no duplicates
    assert verify(bundles[0].to_bytes(), world.trust(), again.reader).verdict is Verdict.VALID


def test_index_not_ready_or_stale_is_error_never_valid(world, tmp_path):
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree("st"))])
    index = Index(world, tmp_path)
    report = verify(bundles[0].to_bytes(), world.trust(), index.reader)  # nothing indexed yet
    assert report.verdict is Verdict.ERROR and report.check("anchor").code == "CHAIN_UNAVAILABLE"
    index.catch_up()
    assert verify(bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID
    index.reader.clock = lambda: time.time() + 120  # two minutes without reaching the chain
    report = verify(bundles[0].to_bytes(), world.trust(), index.reader)
    assert report.verdict is Verdict.ERROR
    assert "has not reached the chain" in report.check("anchor").message
    with pytest.raises(ChainUnavailable):
        index.reader.status_of(index.trusted, agency_id(EDU), bytes(32))


def test_index_service_keeps_status_fresh_and_catches_up_on_demand(world, tmp_path):
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"f{i}")) for i in range(2)])
    index = Index(world, tmp_path)
    service = IndexService(index.indexer, index.reader, IndexLock(lock_path_for(index.url)), poll_interval_s=0.25)
    service.tick(force=True, wait_s=5)
    service.start()
    try:
        assert verify(bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID
        world.agencies[EDU].ledger.revoke(batch.digests[0], batch.root, batch.tree.proof(0), Reason.KEY_COMPROMISE)
        deadline = time.monotonic() + 5
        while verify(bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID:
            assert time.monotonic() < deadline, "the revocation did not reach the index within 5 s"
            time.sleep(0.05)
        assert time.monotonic() < deadline - 3.0  # within 2 s; the poll interval is 0.25 s here
        assert verify(bundles[0].to_bytes(), world.trust(), index.reader).check("status").code == "REVOKED"
    finally:
        service.stop()
    # With the poll thread stopped, a fresh anchor is unknown until someone asks for a catch-up.
    _, fresh = world.anchor(EDU, [world.sign(EDU, degree("new"))])
    asked = time.time()
    assert verify(fresh[0].to_bytes(), world.trust(), index.reader).check("anchor").code == "ROOT_NOT_ANCHORED"
    service.catch_up(asked)
    assert verify(fresh[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID


def test_rpc_fallback_urls(world, tmp_path):
    """A dead first URL: the indexer goes on with the next one."""
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree("fb"))])
    index = Index(world, tmp_path)
    index.indexer = Indexer(
        index.engine, [index.root], {world.chain_id: ["http://127.0.0.1:9", world.rpc_url]}, rpc_timeout_s=1
    )
    index.catch_up()
    assert verify(bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID
    dead = Indexer(index.engine, [index.root], {world.chain_id: ["http://127.0.0.1:9"]}, rpc_timeout_s=1)
    with pytest.raises(ChainUnavailable):
        dead.run(index.root)


def test_index_lock_is_exclusive_across_holders(tmp_path):
    a, b = IndexLock(tmp_path / "x.lock"), IndexLock(tmp_path / "x.lock")
    assert a.acquire(0)
    assert not b.acquire(0.05)  # another holder (as another process would be) waits
    a.release()
    assert b.acquire(0)
    b.release()


# ----------------------------------------------------------------------------- reorganisations
# On a private anvil: reverting the shared chain would undo other tests' state.


@pytest.fixture(scope="module")
def private_chain(tmp_path_factory):
    chain = EmbeddedChain(tmp_path_factory.mktemp("reorg-anvil"), port=0)
    process = chain.up()
    yield process
    chain.down()


@pytest.fixture
def private_world(private_chain):
    return build_world(connect(private_chain.rpc_url, private_chain.chain_id), private_chain)


def rpc(url: str, method: str, *params):
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10
    ).json()
    assert "error" not in reply, reply
    return reply["result"]


def forget_nonces(world):
    """After a revert the chain forgot transactions the senders counted: ask the chain again."""
    world.registry.sender._nonce = None
    for agency in world.agencies.values():
        agency.ledger.sender._nonce = None


def test_reorg_by_evm_revert_rolls_back_and_reindexes(private_world, tmp_path):
    world = private_world
    kept, kept_bundles = world.anchor(EDU, [world.sign(EDU, degree("kept"))])
    index = Index(world, tmp_path)
    index.catch_up()
    snapshot = rpc(world.rpc_url, "evm_snapshot")

    doomed, doomed_bundles = world.anchor(EDU, [world.sign(EDU, degree(f"d{i}")) for i in range(2)])
    world.agencies[EDU].ledger.revoke(kept.digests[0], kept.root, kept.tree.proof(0), Reason.ISSUED_IN_ERROR)
    index.catch_up()
    assert verify(doomed_bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID
    assert verify(kept_bundles[0].to_bytes(), world.trust(), index.reader).check("status").code == "REVOKED"
    generation = index.cursor().generation
    old_head = index.cursor().head

    assert rpc(world.rpc_url, "evm_revert", snapshot) is True
    forget_nonces(world)
    # The new branch: another anchor, and enough blocks to pass the old head.
    replacement, replacement_bundles = world.anchor(EDU, [world.sign(EDU, degree("new-branch"))])
    rpc(world.rpc_url, "anvil_mine", hex(max(1, old_head - connect(world.rpc_url).eth.block_number + 2)))

    result = index.catch_up()
    assert index.indexer.rollbacks == 1 and index.cursor().generation == generation + 1
    assert result.caught_up
    doomed_report = verify(doomed_bundles[0].to_bytes(), world.trust(), index.reader)
    assert doomed_report.check("anchor").code == "ROOT_NOT_ANCHORED"
    assert verify(kept_bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID  # revocation undone
    assert verify(replacement_bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID
    # the index equals a fresh index of the same chain
    fresh = Index(world, tmp_path, name="fresh.db")
    fresh.catch_up()
    assert index.events() == fresh.events()
    for root in (kept.root, doomed.root, replacement.root):
        assert index.reader.anchor_of(index.trusted, agency_id(EDU), root) == fresh.reader.anchor_of(
            index.trusted, agency_id(EDU), root
        )
    assert index.reader.status_of(index.trusted, agency_id(EDU), kept.digests[0]).state == 0


def test_reorg_at_the_same_height_by_anvil_reorg(private_world, tmp_path):
    world = private_world
    index = Index(world, tmp_path)
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"ar{i}")) for i in range(3)])
    world.agencies[EDU].ledger.suspend(batch.digests[1], batch.root, batch.tree.proof(1), Reason.ADMINISTRATIVE)
    index.catch_up()
    assert verify(bundles[1].to_bytes(), world.trust(), index.reader).check("status").code == "SUSPENDED"
    head_before = index.cursor().head

    rpc(world.rpc_url, "anvil_reorg", 2, [])  # the last two blocks (anchor, suspension) replaced by empty ones
    forget_nonces(world)
    assert connect(world.rpc_url).eth.block_number == head_before  # same height, other hashes
    index.catch_up()
    assert index.indexer.rollbacks == 1
    assert verify(bundles[1].to_bytes(), world.trust(), index.reader).check("anchor").code == "ROOT_NOT_ANCHORED"

    # The agency anchors again on the new branch: valid again, and the suspension is gone.
    result = world.agencies[EDU].ledger.anchor(batch.root, len(batch))
    index.catch_up()
    assert result.block_number > head_before - 2
    report = verify(bundles[1].to_bytes(), world.trust(), index.reader)
    assert report.verdict is Verdict.VALID, report.to_json()


def test_a_reorganisation_deeper_than_the_window_reindexes_from_scratch(private_world, tmp_path):
    world = private_world
    index = Index(world, tmp_path)
    index.indexer.reorg_window = 2
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree("deep"))])
    rpc(world.rpc_url, "anvil_mine", "0x5")
    index.catch_up()
    rpc(world.rpc_url, "anvil_reorg", 8, [])  # deeper than the two kept block hashes
    forget_nonces(world)
    index.catch_up()
    assert index.indexer.rollbacks == 1
    fresh = Index(world, tmp_path, name="fresh-deep.db")
    fresh.catch_up()
    assert index.events() == fresh.events()
    assert (
        verify(bundles[0].to_bytes(), world.trust(), index.reader).to_json()
        == verify(bundles[0].to_bytes(), world.trust(), fresh.reader).to_json()
    )


def test_confirmations_delay_what_adds_validity_never_what_removes_it(private_world, tmp_path):
    world = private_world
    index = Index(world, tmp_path, confirmations=3)
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"c{i}")) for i in range(2)])
    index.catch_up()
    report = verify(bundles[0].to_bytes(), world.trust(), index.reader)
    assert report.check("anchor").code == "ROOT_NOT_ANCHORED"  # 1 confirmation of 3
    rpc(world.rpc_url, "anvil_mine", "0x2")
    index.catch_up()
    assert verify(bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID

    ledger = world.agencies[EDU].ledger
    ledger.suspend(batch.digests[0], batch.root, batch.tree.proof(0), Reason.HOLDER_REQUEST)
    index.catch_up()  # a suspension counts at once
    assert verify(bundles[0].to_bytes(), world.trust(), index.reader).check("status").code == "SUSPENDED"
    ledger.reinstate(batch.digests[0], batch.root, batch.tree.proof(0), Reason.HOLDER_REQUEST)
    index.catch_up()  # a reinstatement waits for its confirmations
    assert verify(bundles[0].to_bytes(), world.trust(), index.reader).check("status").code == "SUSPENDED"
    rpc(world.rpc_url, "anvil_mine", "0x2")
    index.catch_up()
    assert verify(bundles[0].to_bytes(), world.trust(), index.reader).verdict is Verdict.VALID


def test_indexed_rows_are_plain_json_friendly(world, tmp_path):
    """The health view reports progress a person can read."""
    index = Index(world, tmp_path)
    index.catch_up()
    [state] = index.reader.state()
    assert state["ready"] and state["caughtUp"] and state["indexedBlock"] >= world.deployment.block
    json.dumps(state)
