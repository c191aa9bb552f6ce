"""The credential table's partial indexes (migration 0006) serve the queries that need them, on SQLite
and PostgreSQL: each query below, captured as the library sends it, is planned with its index.

A partial index is only used when the planner can prove the query's condition implies the index's
(``batch_id IS NULL``; ``subject_id = ?`` implies ``subject_id IS NOT NULL``...): a query written
another way would silently scan the table. PostgreSQL is asked with sequential scans disabled, so
the test checks that the index is usable, not the planner's choice on a small table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert, inspect, text

from ledger.issuance import anchoring
from ledger.issuance.merkle_cache import build_batch_tree
from ledger.issuance.queries import list_credentials
from ledger.storage.db import init_database
from ledger.storage.tables import CRED

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class _Ctx:
    """What the functions under test use of an issuance context."""

    worker_id = "plan-test"

    def __init__(self, engine):
        self.engine = engine

    def now(self):
        return NOW

    def on_step(self, name):  # the anchoring step hook: nothing here
        pass

    class trees:  # noqa: N801 - stands for the context's tree cache
        @staticmethod
        def put(*_):
            pass


def _credential(i: int, **extra) -> dict:
    return {
        "id": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
        "agency_code": "edu",
        "type_name": "T",
        "digest": f"0x{i:064x}",
        "state": "pending",
        "issued_at": NOW,
        "updated_at": NOW,
        "request_row": i,
        **extra,
    }


@pytest.fixture
def filled(database_url):
    engine = init_database(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agency (code, name, operator_address, signing_public_key, types, created_at) "
                f"VALUES ('edu', 'Edu', '0x{'11' * 20}', '0x{'22' * 32}', '[]', '2026-01-01')"
            )
        )
        conn.execute(
            insert(CRED),
            [
                _credential(
                    i,
                    subject_id=f"did:example:{i}" if i % 10 == 0 else None,
                    idempotency_key=f"key-{i}" if i % 7 == 0 else None,
                )
                for i in range(300)
            ],
        )
        conn.execute(insert(CRED), [_credential(300, supersedes=_credential(5)["id"])])
    yield engine
    engine.dispose()


def _captured(engine, action) -> list[tuple[str, object]]:
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH")) and not executemany:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statements


def _plan(engine, statement: str, parameters) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return "\n".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters).all())


def _planned_with(engine, index: str, statements) -> None:
    assert statements
    for statement, parameters in statements:
        plan = _plan(engine, statement, parameters)
        assert index in plan, f"{statement}\nplanned without {index}:\n{plan}"


def test_the_indexes_are_partial(filled):
    found = {ix["name"]: ix for ix in inspect(filled).get_indexes("credential")}
    key = f"{filled.dialect.name}_where"
    for name, condition in [
        ("ix_credential_agency_unbatched", "batch_id IS NULL"),
        ("ix_credential_batch_leaf", "batch_id IS NOT NULL"),
        ("ix_credential_agency_holder", "subject_id IS NOT NULL"),
        ("ix_credential_supersedes", "supersedes IS NOT NULL"),
        ("ix_credential_agency_idempotency", "idempotency_key IS NOT NULL"),
    ]:
        where = str(found[name].get("dialect_options", {}).get(key, ""))
        assert condition.replace(" ", "").lower() in where.replace(" ", "").replace("(", "").replace(")", "").lower(), (
            name,
            where,
        )


def test_waiting_credentials_are_found_and_closed_into_a_batch_through_their_index(filled):
    ctx = _Ctx(filled)
    stats = _captured(filled, lambda: anchoring._pending_stats(ctx, "edu"))
    _planned_with(filled, "ix_credential_agency_unbatched", stats)
    closing = _captured(filled, lambda: anchoring.close_batch(ctx, "edu", 250))
    chosen = [s for s in closing if s[0].lstrip().upper().startswith("SELECT")]
    _planned_with(filled, "ix_credential_agency_unbatched", chosen)
    with filled.connect() as conn:
        batch_id, root = conn.execute(text("SELECT id, root FROM batch")).one()
        waiting = conn.execute(text("SELECT count(*) FROM credential WHERE batch_id IS NULL")).scalar_one()
    assert waiting == 301 - 250
    leaves = _captured(filled, lambda: build_batch_tree(filled, batch_id, root))
    _planned_with(filled, "ix_credential_batch_leaf", leaves)


def test_holder_successor_and_idempotency_lookups_use_their_index(filled):
    ctx = _Ctx(filled)
    by_holder = _captured(filled, lambda: list_credentials(ctx, "edu", holder_id="did:example:20"))
    _planned_with(filled, "ix_credential_agency_holder", by_holder)
    page = list_credentials(ctx, "edu", holder_id="did:example:20")
    assert [c.holder_id for c in page.items] == ["did:example:20"]
    marker = "?" if filled.dialect.name == "sqlite" else "%(p)s"
    params = (
        ("urn:uuid:00000000-0000-4000-8000-000000000005",)
        if marker == "?"
        else {"p": "urn:uuid:00000000-0000-4000-8000-000000000005"}
    )
    _planned_with(
        filled, "ix_credential_supersedes", [(f"SELECT id FROM credential WHERE supersedes = {marker}", params)]
    )
    key_params = ("key-14",) if marker == "?" else {"p": "key-14"}
    _planned_with(
        filled,
        "ix_credential_agency_idempotency",
        [(f"SELECT id FROM credential WHERE agency_code = 'edu' AND idempotency_key = {marker}", key_params)],
    )


def test_superseded_credentials_are_joined_through_the_successor_index(filled):
    ctx = _Ctx(filled)
    joined = _captured(filled, lambda: anchoring.revoke_superseded(ctx))
    assert joined
    _planned_with(filled, "ix_credential_supersedes", joined[:1])


def test_a_successor_is_still_unique(filled):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with filled.begin() as conn:
            conn.execute(insert(CRED), [_credential(301, supersedes=_credential(5)["id"])])


def test_the_share_retry_queue_is_read_through_its_index(filled):
    from ledger.issuance.sharing import ShareStore
    from ledger.storage.models import ContentRecord

    with filled.begin() as conn:
        conn.execute(
            insert(ContentRecord.__table__),
            [
                {
                    "credential_id": _credential(i)["id"],
                    "cid": f"bafk{i}",
                    "sealed_share_key": b"k",
                    "stored": i != 3,
                    "attempts": 0,
                    "next_attempt_at": datetime(2030, 1, 1, tzinfo=UTC) if i == 3 else None,
                }
                for i in range(10)
            ],
        )
    shares = ShareStore(_Ctx(filled), content=None)  # nothing is due: the store is never called
    queries = _captured(filled, lambda: (shares.push_pending(), shares.pending_count()))
    _planned_with(filled, "ix_content_queued", queries)
    assert shares.pending_count() == 1


def test_one_lists_revoked_and_suspended_credentials_are_read_through_its_index(filled):
    """The status-list publisher's query; on PostgreSQL the index holds the credentials whose status
    ever changed (migration 0008), and the query still answers only the revoked and suspended."""
    from ledger.issuance.status_publisher import listed_credentials

    with filled.begin() as conn:
        conn.execute(text("UPDATE credential SET status_list_id = 1, status_index = request_row"))
        conn.execute(text("UPDATE credential SET state = 'revoked', status_reason = 4 WHERE request_row IN (3, 7)"))
        conn.execute(text("UPDATE credential SET state = 'suspended', status_reason = 0 WHERE request_row = 9"))
        conn.execute(text("UPDATE credential SET state = 'anchored', status_reason = 0 WHERE request_row = 11"))
    query = listed_credentials("edu", 1)
    sql = str(query.compile(dialect=filled.dialect, compile_kwargs={"literal_binds": True}))
    _planned_with(filled, "ix_credential_status_list", [(sql, () if filled.dialect.name == "sqlite" else {})])
    with filled.connect() as conn:
        listed = sorted((r.status_index, r.state) for r in conn.execute(query))
    assert listed == [(3, "revoked"), (7, "revoked"), (9, "suspended")]


def test_confirming_a_batch_adds_no_index_entries_on_postgresql(filled):
    """Confirming sets only ``state``: on PostgreSQL each row's new version stays on its page with no
    new index entry (a HOT update), since no index names ``state`` and ``fillfactor`` leaves room."""
    from types import SimpleNamespace

    from ledger.issuance.results import AnchorReport

    if filled.dialect.name != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    ctx = _Ctx(filled)
    batch_id = anchoring.close_batch(ctx, "edu", 301)
    with filled.connect() as conn:
        batch = conn.execute(text("SELECT * FROM batch WHERE id = :b"), {"b": batch_id}).one()
    counts = []

    def before_commit(conn):  # this transaction's own counts, read before it ends
        counts.append(
            conn.exec_driver_sql(
                "SELECT pg_stat_get_xact_tuples_updated('credential'::regclass),"
                " pg_stat_get_xact_tuples_hot_updated('credential'::regclass)"
            ).one()
        )

    event.listen(filled, "commit", before_commit)
    try:
        anchoring._confirm(
            ctx, batch, SimpleNamespace(timestamp=1_800_000_000, block_number=7), "0x" + "ab" * 32, AnchorReport()
        )
    finally:
        event.remove(filled, "commit", before_commit)
    with filled.connect() as conn:
        states = conn.execute(text("SELECT state, count(*) FROM credential GROUP BY state")).all()
    assert states == [("anchored", 301)]
    # the backend's counts not yet reported may include closing the batch (never HOT: batch_id is indexed)
    updated, hot = counts[-1]
    assert updated >= 301 and hot >= 0.9 * 301, (updated, hot)


def test_a_revoked_credential_without_a_reason_is_refused_on_postgresql(filled):
    """Its status-list index holds only credentials with a reason (0008): one without would be
    missing from its list, so the database refuses it."""
    from sqlalchemy.exc import IntegrityError

    if filled.dialect.name != "postgresql":
        pytest.skip("the check goes with PostgreSQL's index")
    with pytest.raises(IntegrityError, match="ck_credential_changed_status_has_reason"):
        with filled.begin() as conn:
            conn.execute(text("UPDATE credential SET state = 'revoked' WHERE request_row = 3"))
