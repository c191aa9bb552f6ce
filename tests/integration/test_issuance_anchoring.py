"""The anchoring pipeline on a real anvil, on SQLite and PostgreSQL: batches by size and age, one
anchor per batch, every bundle VALID for the verifier, recovery from a dropped transaction and
from a root anchored behind the pipeline's back, the content hook, and one anchorer at a time."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from ledger.issuance import (
    BatchPolicy,
    anchor_once,
    get_bundle,
    issue_many,
    issue_one,
    list_credentials,
    pending_work,
    rows_from_objects,
    run_anchorer,
)
from ledger.issuance.lease import acquire_lease, lease_holder, release_lease
from ledger.protocol.digest import from_hex32
from ledger.protocol.merkle import MerkleTree
from ledger.storage.states import BatchState
from ledger.storage.tables import BATCH, CRED
from ledger.verification import Verdict
from tests.integration.issuance_support import (  # noqa: F401  (pytest fixtures)
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    ctx,
    degree_subject,
    issuer_world,
    make_context,
    residence_subject,
    verdict,
)

pytestmark = pytest.mark.integration


def batches(ctx):
    with ctx.engine.connect() as conn:
        return conn.execute(select(BATCH).order_by(BATCH.c.id)).all()


def anchored_events(world, roots):
    ledger = world.agencies[EDU].ledger
    events = ledger.events(names=["Anchored"])
    wanted = {from_hex32(r) for r in roots}
    return [e for e in events if bytes(e.args["root"]) in wanted]


def test_one_batch_anchored_every_bundle_valid(ctx, issuer_world):
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"学生{i}") for i in range(25)]))
    single = issue_one(ctx, CIVIL, RESIDENCE, residence_subject())
    assert anchor_once(ctx).closed == []  # not due yet: 25 < 10,000 and younger than 5 s
    report = anchor_once(ctx, flush=True)
    assert len(report.closed) == 2 and sorted(report.completed) == sorted(report.closed)
    rows = batches(ctx)
    assert [(b.agency_code, b.count, b.state) for b in rows] == [(EDU, 25, "completed"), (CIVIL, 1, "completed")]
    assert all(b.tx_hash and b.block_number and b.anchored_at for b in rows)
    assert len(anchored_events(issuer_world.world, [b.root for b in rows])) == 2
    for issued in result.issued + [single]:
        bundle = get_bundle(ctx, CIVIL if issued is single else EDU, issued.id)
        assert bundle.anchor is not None
        v, codes = verdict(issuer_world.world, bundle)
        assert v is Verdict.VALID, codes
    # leaves keep issuance (row) order
    with ctx.engine.connect() as conn:
        order = (
            conn.execute(select(CRED.c.request_row).where(CRED.c.agency_code == EDU).order_by(CRED.c.leaf_index))
            .scalars()
            .all()
        )
    assert order == list(range(1, 26))
    assert {c.state for c in list_credentials(ctx, EDU).items} == {"anchored"}
    assert pending_work(ctx) == {"pending_credentials": 0, "batches": {}}


def test_batches_close_by_size_and_by_age(issuer_world, database_url):
    clock = [datetime.now(UTC)]
    ctx = make_context(
        issuer_world,
        database_url,
        policy=BatchPolicy(max_size=4, max_age_s=5, retry_backoff_s=0),
        clock=lambda: clock[0],
    )
    issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(10)]))
    report = anchor_once(ctx)
    assert [b.count for b in batches(ctx)] == [4, 4]  # two full batches; 2 wait for age
    assert len(report.completed) == 2
    clock[0] += timedelta(seconds=6)
    anchor_once(ctx)
    assert [(b.count, b.state) for b in batches(ctx)] == [(4, "completed")] * 2 + [(2, "completed")]
    ctx.engine.dispose()


def test_content_hook_gets_every_bundle_and_failures_are_retried(issuer_world, database_url):
    stored: dict[str, bytes] = {}
    failing = {"on": True}

    def store_bundle(credential_id: str, data: bytes) -> None:
        if failing["on"]:
            raise ConnectionError("content store unreachable")
        stored[credential_id] = data

    ctx = make_context(issuer_world, database_url, store_bundle=store_bundle)
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(3)]))
    report = anchor_once(ctx, flush=True)
    assert report.retrying and batches(ctx)[0].state == "confirmed"  # anchored, bundles not delivered
    assert "content store unreachable" in batches(ctx)[0].last_error
    assert list_credentials(ctx, EDU).items[0].state == "anchored"  # anchored all the same
    failing["on"] = False
    report = anchor_once(ctx)
    assert report.completed == [batches(ctx)[0].id]
    assert set(stored) == {r.id for r in result.issued}
    for r in result.issued:
        assert json.loads(stored[r.id]) == json.loads(get_bundle(ctx, EDU, r.id).to_bytes())  # the same bundle
        assert verdict(issuer_world.world, get_bundle(ctx, EDU, r.id))[0] is Verdict.VALID
    ctx.engine.dispose()


def test_root_already_anchored_is_adopted_not_anchored_again(ctx, issuer_world):
    """A batch whose root is already on chain (e.g. broadcast before a crash, hash never recorded)."""
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(3)]))
    from ledger.issuance.anchoring import close_batches

    (batch_id,) = close_batches(ctx, flush=True)
    root = batches(ctx)[0].root
    tx = issuer_world.world.agencies[EDU].ledger.anchor(from_hex32(root), 3)  # behind the pipeline's back
    anchor_once(ctx)
    (batch,) = batches(ctx)
    assert (batch.state, batch.tx_hash, batch.block_number) == ("completed", tx.tx_hash, tx.block_number)
    assert len(anchored_events(issuer_world.world, [root])) == 1
    assert verdict(issuer_world.world, get_bundle(ctx, EDU, result.issued[0].id))[0] is Verdict.VALID


def test_an_already_anchored_revert_without_an_anchor_is_retried_not_adopted(ctx, issuer_world, monkeypatch):
    """A node that estimated the anchor as AlreadyAnchored while anchorOf, read from another (lagging)
    node, shows nothing: the batch is not confirmed with an empty anchor (block 0), it is tried again."""
    from ledger.chain import ContractReverted
    from ledger.chain.contracts import LedgerClient

    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject("落后节点")]))

    def reverts(self, root, count):
        raise ContractReverted("anchor", "AlreadyAnchored", {})

    with monkeypatch.context() as patched:
        patched.setattr(LedgerClient, "submit_anchor", reverts)
        report = anchor_once(ctx, flush=True)
    (batch,) = batches(ctx)
    assert report.retrying and batch.state == BatchState.CLOSED and batch.block_number is None
    assert "not per anchorOf" in batch.last_error
    with ctx.engine.begin() as conn:  # the retry is due now, not after the backoff
        from sqlalchemy import update

        conn.execute(update(BATCH).values(next_attempt_at=None))
    anchor_once(ctx)
    assert batches(ctx)[0].state == "completed"
    assert verdict(issuer_world.world, get_bundle(ctx, EDU, result.issued[0].id))[0] is Verdict.VALID


def _rpc(url, method, params):
    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10).json()
    assert "error" not in reply, reply
    return reply["result"]


def test_dropped_transaction_is_detected_and_sent_again(issuer_world, database_url, caplog):
    world = issuer_world.world
    ctx = make_context(issuer_world, database_url)
    ctx.chain.receipt_timeout_s = 1.0
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(3)]))
    _rpc(world.rpc_url, "evm_setAutomine", [False])
    try:
        report = anchor_once(ctx, flush=True)  # sent, no block mined: no receipt in time
        (batch,) = batches(ctx)
        assert batch.state == "sent" and report.retrying
        _rpc(world.rpc_url, "anvil_dropTransaction", [batch.tx_hash])
        caplog.clear()
        anchor_once(ctx)  # the node no longer knows it: back to closed
        assert "was dropped" in caplog.text
        assert batches(ctx)[0].state == BatchState.CLOSED
    finally:
        _rpc(world.rpc_url, "evm_setAutomine", [True])
    anchor_once(ctx)
    (batch,) = batches(ctx)
    assert batch.state == "completed" and batch.attempts == 2
    assert len(anchored_events(world, [batch.root])) == 1
    assert verdict(world, get_bundle(ctx, EDU, result.issued[2].id))[0] is Verdict.VALID
    ctx.engine.dispose()


def test_reverted_anchor_is_logged_and_retried(issuer_world, database_url, caplog):
    """An operator removed from the agency: the anchor is refused; once fixed, the retry succeeds."""
    world = issuer_world.world
    ctx = make_context(issuer_world, database_url)
    operator = issuer_world.keys[EDU].operator.address
    issue_one(ctx, EDU, DEGREE, degree_subject())
    world.registry.remove_operator(operator)
    try:
        caplog.clear()
        report = anchor_once(ctx, flush=True)
        (batch,) = batches(ctx)
        assert report.retrying and batch.state == BatchState.CLOSED and "NotOperator" in batch.last_error
        assert "NotOperator" in caplog.text
    finally:
        from ledger.protocol.identifiers import agency_id

        world.registry.add_operator(agency_id(EDU), operator)
    anchor_once(ctx)
    assert batches(ctx)[0].state == "completed"
    ctx.engine.dispose()


def test_lease_one_holder_at_a_time(ctx):
    now = datetime.now(UTC)
    assert acquire_lease(ctx.engine, "anchorer", "worker-a", 30, now)
    assert not acquire_lease(ctx.engine, "anchorer", "worker-b", 30, now)
    assert acquire_lease(ctx.engine, "anchorer", "worker-a", 30, now + timedelta(seconds=10))  # renew
    assert lease_holder(ctx.engine, "anchorer", now) == "worker-a"
    assert not acquire_lease(ctx.engine, "anchorer", "worker-b", 30, now + timedelta(seconds=39))
    assert acquire_lease(ctx.engine, "anchorer", "worker-b", 30, now + timedelta(seconds=41))  # expired: taken
    assert not acquire_lease(ctx.engine, "anchorer", "worker-a", 30, now + timedelta(seconds=42))
    release_lease(ctx.engine, "anchorer", "worker-b")
    assert acquire_lease(ctx.engine, "anchorer", "worker-a", 30, now + timedelta(seconds=43))


def test_only_one_of_many_concurrent_contenders_gets_the_lease(ctx):
    now = datetime.now(UTC)
    wins = []
    barrier = threading.Barrier(6)

    def contend(name):
        barrier.wait()
        if acquire_lease(ctx.engine, "race", name, 30, now):
            wins.append(name)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_a_second_anchorer_does_nothing_while_the_first_holds_the_lease(issuer_world, database_url):
    first = make_context(issuer_world, database_url)
    second = make_context(issuer_world, database_url, register=False)
    issue_one(first, EDU, DEGREE, degree_subject())
    assert anchor_once(first).lease_held
    report = anchor_once(second, flush=True)
    assert not report.lease_held and batches(second) == []
    for c in (first, second):
        c.engine.dispose()


def test_run_anchorer_loop_anchors_and_stops(issuer_world, database_url):
    ctx = make_context(issuer_world, database_url, policy=BatchPolicy(max_age_s=0.2, poll_interval_s=0.1))
    stop = threading.Event()
    worker = threading.Thread(target=run_anchorer, args=(ctx, stop))
    worker.start()
    try:
        issued = issue_one(ctx, EDU, DEGREE, degree_subject())
        for _ in range(100):
            if get_bundle(ctx, EDU, issued.id).anchor is not None and batches(ctx)[0].state == "completed":
                break
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert verdict(issuer_world.world, get_bundle(ctx, EDU, issued.id))[0] is Verdict.VALID
    assert lease_holder(ctx.engine, "anchorer", datetime.now(UTC)) is None  # released on stop
    ctx.engine.dispose()


def test_anchor_pending_lets_the_lease_go_for_the_next_worker(issuer_world, database_url):
    """A one-shot run (the demo, issue-bulk) anchors what waits and releases the lease: a service
    started right after it anchors at once instead of waiting lease_ttl_s for a holder that is gone."""
    from ledger.issuance import anchor_pending

    once = make_context(issuer_world, database_url)
    issue_one(once, EDU, DEGREE, degree_subject("一次"))
    anchor_pending(once)
    assert lease_holder(once.engine, "anchorer", datetime.now(UTC)) is None
    service = make_context(issuer_world, database_url, register=False)
    issued = issue_one(service, EDU, DEGREE, degree_subject("随后"))
    assert anchor_once(service, flush=True).lease_held
    assert verdict(issuer_world.world, get_bundle(service, EDU, issued.id))[0] is Verdict.VALID
    for c in (once, service):
        c.engine.dispose()


def test_stored_batch_rebuilds_its_root(ctx):
    issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(7)]))
    anchor_once(ctx, flush=True)
    (batch,) = batches(ctx)
    with ctx.engine.connect() as conn:
        digests = (
            conn.execute(select(CRED.c.digest).where(CRED.c.batch_id == batch.id).order_by(CRED.c.leaf_index))
            .scalars()
            .all()
        )
    assert "0x" + MerkleTree.build([from_hex32(d) for d in digests]).root.hex() == batch.root


def test_reverted_because_anchored_first_by_a_colleague_is_adopted(issuer_world, database_url, funded_account):
    """Our anchor transaction and another operator's for the same root land in one block, theirs
    first: ours reverts (AlreadyAnchored). After a restart the pipeline finds the reverted receipt,
    sees the root anchored by its agency, and adopts that anchor (their transaction)."""
    from ledger.protocol.identifiers import agency_id

    world = issuer_world.world
    colleague = funded_account()
    world.registry.add_operator(agency_id(EDU), colleague.address)
    ctx = make_context(issuer_world, database_url)
    ctx.chain.receipt_timeout_s = 1.0
    result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(2)]))
    w3 = world.registry.w3
    _rpc(world.rpc_url, "evm_setAutomine", [False])
    try:
        anchor_once(ctx, flush=True)
        (batch,) = batches(ctx)
        assert batch.state == "sent"
        contract = world.agencies[EDU].ledger.contract
        tx = contract.functions.anchor(from_hex32(batch.root), 2).build_transaction(
            {
                "from": colleague.address,
                "nonce": w3.eth.get_transaction_count(colleague.address),
                "gas": 200_000,
                "maxFeePerGas": 500 * 10**9,
                "maxPriorityFeePerGas": 100 * 10**9,
                "chainId": w3.eth.chain_id,
            }
        )
        theirs = "0x" + bytes(w3.eth.send_raw_transaction(colleague.sign_transaction(tx).raw_transaction)).hex()
        _rpc(world.rpc_url, "evm_mine", [])
    finally:
        _rpc(world.rpc_url, "evm_setAutomine", [True])
    assert w3.eth.get_transaction_receipt(batch.tx_hash)["status"] == 0  # ours reverted
    release_lease(ctx.engine, "anchorer", ctx.worker_id)  # the first process is gone
    fresh = make_context(issuer_world, database_url, register=False)  # "after a restart"
    assert anchor_once(fresh).lease_held
    (batch,) = batches(fresh)
    assert (batch.state, batch.tx_hash) == ("completed", theirs)
    assert len(anchored_events(world, [batch.root])) == 1
    assert verdict(world, get_bundle(fresh, EDU, result.issued[0].id))[0] is Verdict.VALID
    for c in (ctx, fresh):
        c.engine.dispose()


def test_a_credential_committed_while_closing_a_batch_that_sorts_earlier_is_not_left_out_of_order(ctx, monkeypatch):
    """Sealing reads the batch's credentials before its write transaction: one issued meanwhile that
    sorts among them (an earlier signing time, committed late) makes it read again, so the tree and
    the leaf indexes always describe the same credentials in the same order."""
    from ledger.issuance import anchoring

    issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(6)]))
    late = ctx.now() - timedelta(hours=1)
    builds = []
    real_build = anchoring.MerkleTree.build

    def build_then_commit_a_late_one(leaves):
        builds.append(len(leaves))
        if len(builds) == 1:  # between the read and the write, as a slow request would
            real_clock = ctx.clock
            ctx.clock = lambda: late
            try:
                issue_one(ctx, EDU, DEGREE, degree_subject("late"))
            finally:
                ctx.clock = real_clock
        return real_build(leaves)

    monkeypatch.setattr(anchoring.MerkleTree, "build", staticmethod(build_then_commit_a_late_one))
    anchor_once(ctx, flush=True)
    assert builds[:2] == [6, 6]  # read again: the first six in order now start with the late one
    assert [(b.count, b.state) for b in batches(ctx)] == [(6, "completed"), (1, "completed")]
    first = batches(ctx)[0]
    with ctx.engine.connect() as conn:
        leaves = conn.execute(
            select(CRED.c.digest, CRED.c.issued_at).where(CRED.c.batch_id == first.id).order_by(CRED.c.leaf_index)
        ).all()
    assert abs(leaves[0].issued_at.replace(tzinfo=UTC) - late) < timedelta(seconds=1)
    assert MerkleTree.build([from_hex32(d) for d, _ in leaves]).root == from_hex32(first.root)
