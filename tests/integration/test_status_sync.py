"""Status changes made on chain by other means than this issuer (an operator's wallet, a whole-batch
revocation) reach the database, and so the published status lists (ledger.issuance.status_sync)."""

from __future__ import annotations

from sqlalchemy import select

from ledger.chain import Reason
from ledger.issuance import anchor_pending, issue_many, rows_from_objects
from ledger.issuance.status_publisher import publish
from ledger.issuance.status_sync import StatusSync
from ledger.protocol.digest import from_hex32
from ledger.protocol.status_list import check_list_credential
from ledger.storage.tables import BATCH, CRED
from tests.integration.issuance_support import DEGREE, EDU, ctx, degree_subject, issuer_world  # noqa: F401 - fixtures


def _rows(ctx, ids):
    with ctx.engine.connect() as conn:
        found = conn.execute(
            select(
                CRED.c.id,
                CRED.c.digest,
                CRED.c.state,
                CRED.c.status_reason,
                CRED.c.batch_id,
                CRED.c.leaf_index,
                CRED.c.status_index,
            ).where(CRED.c.id.in_(ids))
        ).all()
    return {r.id: r for r in found}


def _bits(ctx, purpose):
    import json

    from ledger.issuance.status_publisher import get_list_credential

    stored = get_list_credential(ctx.engine, EDU, 1, purpose)
    return set(check_list_credential(json.loads(stored.body), verify=True).set_indexes())


def test_changes_made_on_chain_outside_the_issuer_reach_the_database_and_the_lists(ctx, issuer_world):
    bulk = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"同步{i}") for i in range(6)]))
    ids = [row.id for row in bulk.issued]
    anchor_pending(ctx)
    rows = _rows(ctx, ids)
    first = rows[ids[0]]
    with ctx.engine.connect() as conn:
        root = conn.execute(select(BATCH.c.root).where(BATCH.c.id == first.batch_id)).scalar_one()
    tree = ctx.trees.get(ctx.engine, first.batch_id, root)
    operator = issuer_world.world.agencies[EDU].ledger  # the agency's operator, with a wallet, not this issuer

    sync = StatusSync()
    assert sync.run(ctx) == 0  # nothing changed yet
    operator.suspend(from_hex32(first.digest), from_hex32(root), tree.proof(first.leaf_index), Reason.HOLDER_REQUEST)
    assert sync.run(ctx) == 1
    assert _rows(ctx, [ids[0]])[ids[0]].state == "suspended"
    publish(ctx)
    assert _bits(ctx, "suspension") == {first.status_index}

    operator.revoke_root(from_hex32(root), Reason.ADMINISTRATIVE)  # the whole batch, final
    assert sync.run(ctx) == len(ids)
    after = _rows(ctx, ids)
    assert {r.state for r in after.values()} == {"revoked"}
    assert {r.status_reason for r in after.values()} == {int(Reason.ADMINISTRATIVE)}
    publish(ctx)
    assert _bits(ctx, "revocation") == {r.status_index for r in after.values()}
    assert sync.run(ctx) == 0  # a round reads only new blocks; nothing left to record


def test_a_new_process_reads_the_agencies_events_again_and_records_nothing_twice(ctx, issuer_world):
    bulk = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject("重读")]))
    anchor_pending(ctx)
    row = _rows(ctx, [bulk.issued[0].id])[bulk.issued[0].id]
    with ctx.engine.connect() as conn:
        root = conn.execute(select(BATCH.c.root).where(BATCH.c.id == row.batch_id)).scalar_one()
    operator = issuer_world.world.agencies[EDU].ledger
    tree = ctx.trees.get(ctx.engine, row.batch_id, root)
    operator.revoke(from_hex32(row.digest), from_hex32(root), tree.proof(row.leaf_index), Reason.ISSUED_IN_ERROR)
    assert StatusSync().run(ctx) == 1
    assert StatusSync().run(ctx) == 0  # a restarted process: the same events, recorded already
