"""Issue #7: a chain reorganisation after an anchor — detected; the root is re-anchored; the bundles
still verify.

A private anvil (a reorganisation must not disturb the session's chain). A batch is anchored,
completed (its bundles delivered as encrypted shares) and two credentials revoked (one in that
batch, one in an older batch that stays anchored); then the blocks since just before the anchor
disappear, in three ways: ``evm_revert`` to a snapshot (a shorter chain), ``anvil_reorg`` (the same
height, other blocks), and the node restarted from an older state file. The anchoring round must
notice, re-anchor the root exactly once (the senders' nonces re-learnt by the pipeline itself, not
by the test) and send the lost revocations again; every bundle the library returns then verifies
VALID (or REVOKED for the revoked two) with the verifier library over RPC, and with the verifier's
reorg-aware indexer, which rolled back too. The shares delivered before the reorganisation keep
their old ``txHash``/``blockNumber`` and still verify: verification reads the anchor by its root.
"""

from __future__ import annotations

import shutil
import time

import pytest
import requests
from sqlalchemy import select

from ledger.chain import Reason, connect
from ledger.chain.embedded import EmbeddedChain
from ledger.content.links import parse_share_link
from ledger.content.local_store import LocalContentStore
from ledger.content.share import decrypt_share
from ledger.issuance import (
    InvalidTransition,
    anchor_once,
    get_bundle,
    issue_many,
    reinstate,
    revoke,
    rows_from_objects,
    suspend,
)
from ledger.issuance.reorg_watch import ReorgWatch
from ledger.issuance.sharing import ShareStore
from ledger.protocol.deployment import Deployment
from ledger.protocol.digest import from_hex32, to_hex32
from ledger.protocol.identifiers import agency_id
from ledger.storage.tables import AUDIT, BATCH, CRED
from ledger.verification import Verdict, verify
from tests.integration.conftest import build_world
from tests.integration.issuance_support import DEGREE, EDU, degree_subject, issuer_world_of, make_context
from tests.integration.postgres import database_url, postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.integration.verifier_server import free_port
from verifier.index_db import make_index_engine
from verifier.indexer import IndexedChainReader, Indexer

VERIFIER_URL = "http://127.0.0.1:8080"


def rpc(url: str, method: str, *params):
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10
    ).json()
    assert "error" not in reply, reply
    return reply["result"]


@pytest.fixture
def chain(tmp_path):
    """A private anvil on a fixed port (a restart from an older state keeps the URL)."""
    embedded = EmbeddedChain(tmp_path / "chain", port=free_port())
    process = embedded.up()
    yield embedded, process
    embedded.down()


class Undo:
    """Makes the blocks after `mark()` disappear, one of three ways."""

    def __init__(self, how: str, embedded: EmbeddedChain, url: str, tmp_path):
        self.how, self.embedded, self.url, self.saved = how, embedded, url, tmp_path / "older-state.json"

    def mark(self) -> None:
        self.head = connect(self.url).eth.block_number
        if self.how == "evm_revert":
            self.snapshot = rpc(self.url, "evm_snapshot")
        elif self.how == "restart_older_state":
            time.sleep(1.5)  # the state is dumped every second: let the dump catch up with the head
            shutil.copy(self.embedded.state_file, self.saved)

    def undo(self) -> None:
        head = connect(self.url).eth.block_number
        if self.how == "evm_revert":
            assert rpc(self.url, "evm_revert", self.snapshot) is True
        elif self.how == "anvil_reorg":
            rpc(self.url, "anvil_reorg", head - self.head, [])  # same height, other (empty) blocks
            assert connect(self.url).eth.block_number == head
        else:
            self.embedded.down()
            shutil.copy(self.saved, self.embedded.state_file)
            self.embedded.up()
        assert connect(self.url).eth.block_number <= head
        # A real chain's clock does not go back; anvil's does (evm_revert restores the snapshot's time,
        # measured: the next block stamped 3 s in the past). Stamp the next block no earlier than now,
        # as a block mined after a real reorganisation is; else a re-anchor could be dated before the
        # proofs of the credentials it anchors (CREATED_AFTER_ANCHOR, a flaky failure).
        latest = connect(self.url).eth.get_block("latest")["timestamp"]
        rpc(self.url, "evm_setNextBlockTimestamp", max(int(time.time()) + 1, latest + 1))


def anchored_roots(world) -> list[str]:
    ledger = world.agencies[EDU].ledger
    return [
        to_hex32(bytes(e.args["root"]))
        for e in ledger.events(from_block=world.deployment.block, names=["Anchored"])
        if bytes(e.args["agencyId"]) == agency_id(EDU)
    ]  # in EDU's namespace


def issue(ctx, prefix: str, n: int) -> list[str]:
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"{prefix}{i}") for i in range(n)]))
    return [r.id for r in result.issued]


def batch_of(ctx, credential_id: str):
    with ctx.engine.connect() as conn:
        return conn.execute(
            select(BATCH).join(CRED, CRED.c.batch_id == BATCH.c.id).where(CRED.c.id == credential_id)
        ).first()


def stored_share(shares: ShareStore, store: LocalContentStore, credential_id: str) -> bytes:
    link = shares.link(EDU, credential_id, VERIFIER_URL)
    parsed = parse_share_link(link.url)
    return decrypt_share(store.get(parsed.cid), parsed.key)


def settle(ctx, watch, rounds: int = 6):
    """Anchoring rounds until one finds nothing to do."""
    reports = []
    for _ in range(rounds):
        report = anchor_once(ctx, flush=True, reorgs=watch)
        reports.append(report)
        if not (report.reanchoring or report.confirmed or report.completed or report.closed or watch.redoing):
            return reports
    raise AssertionError(f"still busy after {rounds} rounds: {reports}")


@pytest.mark.parametrize("how", ["evm_revert", "anvil_reorg", "restart_older_state"])
def test_anchor_lost_in_a_reorganisation_is_detected_and_redone(how, chain, database_url, tmp_path, caplog):
    embedded, process = chain
    world = build_world(connect(process.rpc_url, process.chain_id), process)
    ctx = make_context(issuer_world_of(world), database_url)
    store = LocalContentStore(tmp_path / "content")
    shares = ShareStore(ctx, store)
    ctx.store_bundle = shares.store_bundle
    # Detection must come from the chain's head changing, not from the periodic re-check.
    watch = ReorgWatch(window_blocks=64, check_interval_s=3600)
    d = world.deployment
    root = Deployment.trust_root(d.chain_id, d.registry, d.ledger, "test", d.block)
    index_engine = make_index_engine(f"sqlite:///{tmp_path / 'index.db'}")
    indexer = Indexer(index_engine, [root], {world.chain_id: [world.rpc_url]}, reorg_window=16)
    index = IndexedChainReader(index_engine, [root])

    kept_ids = issue(ctx, "kept", 3)
    settle(ctx, watch)
    kept = batch_of(ctx, kept_ids[0])
    undo = Undo(how, embedded, world.rpc_url, tmp_path)
    undo.mark()

    doomed_ids = issue(ctx, "doomed", 6)
    settle(ctx, watch)
    before = batch_of(ctx, doomed_ids[0])
    assert before.state == "completed" and kept.state == "completed"
    shared_before = {cid: stored_share(shares, store, cid) for cid in doomed_ids}
    revoked = [kept_ids[1], doomed_ids[2]]
    for cid in revoked:
        assert revoke(ctx, EDU, cid, Reason.ISSUED_IN_ERROR).changed == [cid]
    indexer.run(root)
    index.sync()
    assert verify(get_bundle(ctx, EDU, doomed_ids[0]).to_bytes(), world.trust(), index).verdict is Verdict.VALID
    assert anchored_roots(world).count(before.root) == 1

    undo.undo()
    assert before.root not in anchored_roots(world)  # really gone
    assert not world.agencies[EDU].ledger.anchor_of(agency_id(EDU), from_hex32(before.root)).anchored

    caplog.set_level("WARNING", logger="ledger.issuance")
    first = anchor_once(ctx, reorgs=watch)
    assert first.reanchoring == [before.id]  # detected in the first round after the reorganisation
    assert before.id in first.confirmed  # ... and anchored again in that same round
    settle(ctx, watch)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("chain reorganised" in w for w in warnings), warnings
    assert any(f"batch {before.id} of {EDU}" in w and "no longer on chain" in w for w in warnings), warnings
    resent = [w for w in warnings if "revocations of" in w and "sending again" in w]
    assert len(resent) == 2, warnings  # the older batch's at once, the re-anchored batch's once it is anchored

    # Re-anchored exactly once (the same signed transaction when nonce and fees match); the older batch untouched.
    after = batch_of(ctx, doomed_ids[0])
    assert after.state == "completed" and after.root == before.root
    events = world.agencies[EDU].ledger.events(from_block=d.block, names=["Anchored"])
    assert [e.tx_hash for e in events if to_hex32(bytes(e.args["root"])) == before.root] == [after.tx_hash]
    assert (
        after.block_number == world.agencies[EDU].ledger.anchor_of(agency_id(EDU), from_hex32(before.root)).block_number
    )
    roots = anchored_roots(world)
    assert roots.count(before.root) == 1 and roots.count(kept.root) == 1
    assert batch_of(ctx, kept_ids[0]).tx_hash == kept.tx_hash
    with ctx.engine.connect() as conn:
        audit = conn.execute(
            select(AUDIT.c.action, AUDIT.c.subject, AUDIT.c.tx_hash).where(AUDIT.c.action == "anchor-reorged")
        ).all()
        states = dict(conn.execute(select(CRED.c.id, CRED.c.state)).all())
    assert [(a.subject, a.tx_hash) for a in audit] == [(before.root, before.tx_hash)]
    assert {cid for cid, s in states.items() if s == "revoked"} == set(revoked)
    assert all(s == "anchored" for cid, s in states.items() if cid not in revoked)

    # The lost revocations were sent again: the chain says revoked.
    reader = world.agencies[EDU].ledger
    for cid in revoked:
        b = batch_of(ctx, cid)
        with ctx.engine.connect() as conn:
            digest = conn.execute(select(CRED.c.digest).where(CRED.c.id == cid)).scalar_one()
        assert reader.credential_status(agency_id(EDU), from_hex32(digest), from_hex32(b.root)).state == 2

    # Every bundle as the library returns it now verifies, over RPC and through the indexer.
    result = indexer.run(root)
    index.sync()
    assert indexer.rollbacks == 1 and result.caught_up
    for cid in kept_ids + doomed_ids:
        data = get_bundle(ctx, EDU, cid).to_bytes()
        for chain_reader in (world.reader(), index):
            report = verify(data, world.trust(), chain_reader)
            if cid in revoked:
                assert report.verdict is Verdict.INVALID and report.check("status").code == "REVOKED"
            else:
                assert report.verdict is Verdict.VALID, report
    fresh = get_bundle(ctx, EDU, doomed_ids[0]).to_json()["anchor"]
    assert fresh["txHash"] == after.tx_hash and fresh["blockNumber"] == after.block_number

    # The shares delivered before keep their old receipt fields (their links stay valid) and verify.
    for cid in doomed_ids:
        assert stored_share(shares, store, cid) == shared_before[cid]
        old = shared_before[cid]
        assert f'"txHash": "{before.tx_hash}"'.encode() in old or f'"txHash":"{before.tx_hash}"'.encode() in old
        if cid not in revoked:
            assert verify(old, world.trust(), index).verdict is Verdict.VALID

    print(
        f"\n{how}: anchor tx {before.tx_hash[:12]}… block {before.block_number} -> "
        f"tx {after.tx_hash[:12]}… block {after.block_number}"
    )

    # Quiet afterwards: nothing more to redo, no second anchor.
    assert anchor_once(ctx, reorgs=watch).reanchoring == []
    assert anchored_roots(world).count(before.root) == 1
    ctx.engine.dispose()


def test_a_revocation_lost_above_the_seen_head_is_found_by_the_periodic_check(chain, tmp_path):
    """A reorganisation of only the blocks above the head the watch last saw leaves that block's
    hash unchanged: the periodic re-check (here after 30 s of a fake clock) still finds it."""
    embedded, process = chain
    world = build_world(connect(process.rpc_url, process.chain_id), process)
    ctx = make_context(issuer_world_of(world), f"sqlite:///{tmp_path / 'issuer.db'}")
    now = [1000.0]
    watch = ReorgWatch(window_blocks=64, check_interval_s=30, clock=lambda: now[0])
    ids = issue(ctx, "p", 2)
    settle(ctx, watch)
    assert anchor_once(ctx, reorgs=watch).reanchoring == []  # the watch has seen the head
    assert revoke(ctx, EDU, ids[0], Reason.HOLDER_REQUEST).changed == [ids[0]]
    rpc(world.rpc_url, "anvil_reorg", 1, [])  # the revocation's block replaced by an empty one
    b = batch_of(ctx, ids[0])
    with ctx.engine.connect() as conn:
        digest = from_hex32(conn.execute(select(CRED.c.digest).where(CRED.c.id == ids[0])).scalar_one())
    ledger = world.agencies[EDU].ledger
    assert (
        ledger.credential_status(agency_id(EDU), digest, from_hex32(b.root)).state == 0
    )  # lost on chain, "revoked" in the database

    anchor_once(ctx, reorgs=watch)
    assert (
        ledger.credential_status(agency_id(EDU), digest, from_hex32(b.root)).state == 0
    )  # not due yet: the head it saw is unchanged
    now[0] += 31
    anchor_once(ctx, reorgs=watch)
    assert ledger.credential_status(agency_id(EDU), digest, from_hex32(b.root)).state == 2  # sent again
    with ctx.engine.connect() as conn:
        revokes = conn.execute(
            select(AUDIT.c.tx_hash).where(AUDIT.c.action == "revoke", AUDIT.c.subject == ids[0])
        ).all()
    assert len(revokes) == 2 and revokes[0] != revokes[1]  # the lost transaction and the one that stuck
    ctx.engine.dispose()


def test_a_lost_revocation_stands_against_a_later_change_and_a_lost_suspension_does_not(chain, tmp_path):
    """A reorganisation loses a revocation and a suspension; before the watch sends them again,
    someone changes both credentials' status. Revocation is final: the database's record of it
    stands, suspend and reinstate are refused, and the watch sends it again. A suspension is not:
    the chain shows the credential active, so reinstating it is a no-op that the database takes up,
    and the watch leaves it (the newer explicit change wins)."""
    embedded, process = chain
    world = build_world(connect(process.rpc_url, process.chain_id), process)
    ctx = make_context(issuer_world_of(world), f"sqlite:///{tmp_path / 'issuer.db'}")
    now = [1000.0]
    watch = ReorgWatch(window_blocks=64, check_interval_s=30, clock=lambda: now[0])
    revoked, suspended = issue(ctx, "l", 2)
    settle(ctx, watch)
    assert anchor_once(ctx, reorgs=watch).reanchoring == []  # the watch has seen the head
    assert revoke(ctx, EDU, revoked, Reason.HOLDER_REQUEST).changed == [revoked]
    assert suspend(ctx, EDU, suspended).changed == [suspended]
    rpc(world.rpc_url, "anvil_reorg", 2, [])  # both transactions' blocks replaced by empty ones
    ledger = world.agencies[EDU].ledger

    def on_chain(cid: str) -> int:
        b = batch_of(ctx, cid)
        with ctx.engine.connect() as conn:
            digest = conn.execute(select(CRED.c.digest).where(CRED.c.id == cid)).scalar_one()
        return ledger.credential_status(agency_id(EDU), from_hex32(digest), from_hex32(b.root)).state

    def in_database() -> dict:
        with ctx.engine.connect() as conn:
            return dict(conn.execute(select(CRED.c.id, CRED.c.state).where(CRED.c.id.in_([revoked, suspended]))).all())

    assert (on_chain(revoked), on_chain(suspended)) == (0, 0)  # both lost on chain
    for change in (suspend, reinstate):
        with pytest.raises(InvalidTransition):
            change(ctx, EDU, revoked)
    assert reinstate(ctx, EDU, suspended).unchanged == [suspended]
    assert in_database() == {revoked: "revoked", suspended: "anchored"}

    now[0] += 31  # the watch's periodic check (the head it saw is unchanged)
    anchor_once(ctx, reorgs=watch)
    assert (on_chain(revoked), on_chain(suspended)) == (2, 0)
    assert in_database() == {revoked: "revoked", suspended: "anchored"}
    ctx.engine.dispose()
