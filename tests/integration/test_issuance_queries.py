"""Listing and searching an agency's credentials and its audit log, paginated, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ledger.issuance import (
    anchor_once,
    audit_log,
    bundle_bytes,
    get_bundle,
    get_credential_info,
    issue_many,
    issue_one,
    list_credentials,
    revoke,
    rows_from_objects,
)
from ledger.issuance.bundle_bytes import anchored_bundles
from ledger.issuance.errors import CredentialNotFound, NotAnchored
from tests.integration.issuance_support import (
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    degree_subject,
    issuer_world,  # noqa: F401  (pytest fixtures)
    make_context,
    residence_subject,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def clocked(issuer_world, database_url):
    """A context whose clock the test moves (issuance times are what lists filter on)."""
    clock = [datetime(2025, 3, 1, 8, 0, tzinfo=UTC)]
    ctx = make_context(issuer_world, database_url, clock=lambda: clock[0])
    yield ctx, clock
    ctx.engine.dispose()


def test_list_filters_and_paginates(clocked):
    ctx, clock = clocked
    day1 = issue_many(
        ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}", id=f"did:example:{i % 3}") for i in range(7)])
    ).issued
    clock[0] += timedelta(days=1)
    day2 = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"t{i}") for i in range(5)])).issued
    issue_one(ctx, CIVIL, RESIDENCE, residence_subject())

    everything, cursor, pages = [], None, 0
    while True:
        page = list_credentials(ctx, EDU, limit=5, cursor=cursor)
        everything += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and len(everything) == 12 and len({c.id for c in everything}) == 12
    assert {c.agency for c in everything} == {EDU}
    assert [c.issued_at for c in everything] == sorted((c.issued_at for c in everything), reverse=True)
    assert {c.id for c in everything[:5]} == {r.id for r in day2}

    day = datetime(2025, 3, 1, tzinfo=UTC)
    first_day = list_credentials(ctx, EDU, issued_from=day, issued_until=day + timedelta(days=1), limit=100).items
    assert {c.id for c in first_day} == {r.id for r in day1}
    holder = list_credentials(ctx, EDU, holder_id="did:example:1").items
    assert {c.id for c in holder} == {day1[1].id, day1[4].id}
    assert list_credentials(ctx, EDU, type_name=RESIDENCE).items == []
    assert len(list_credentials(ctx, CIVIL, type_name=RESIDENCE).items) == 1
    assert len(list_credentials(ctx, EDU, state="pending").items) == 12
    with pytest.raises(ValueError):
        list_credentials(ctx, EDU, cursor="garbage!")
    with pytest.raises(ValueError):
        list_credentials(ctx, EDU, limit=0)


def test_list_by_state_after_anchoring_and_revocation(issuer_world, database_url):
    ctx = make_context(issuer_world, database_url)
    issued = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(4)])).issued
    anchor_once(ctx, flush=True)
    revoke(ctx, EDU, [issued[0].id, issued[1].id])
    assert {c.id for c in list_credentials(ctx, EDU, state="revoked").items} == {issued[0].id, issued[1].id}
    assert len(list_credentials(ctx, EDU, state=["anchored", "revoked"]).items) == 4
    info = get_credential_info(ctx, EDU, issued[2].id)
    assert info.batch_id is not None and info.to_dict()["issued_at"].endswith("+00:00")
    ctx.engine.dispose()


def test_audit_log_is_per_agency_newest_first_and_paginated(clocked):
    ctx, clock = clocked
    issued = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(5)])).issued
    issue_one(ctx, CIVIL, RESIDENCE, residence_subject())
    page1 = audit_log(ctx, EDU, action="issue", limit=3)
    page2 = audit_log(ctx, EDU, action="issue", limit=3, cursor=page1.next_cursor)
    assert page2.next_cursor is None
    subjects = [e.subject for e in page1.items + page2.items]
    assert sorted(subjects) == sorted(r.id for r in issued)
    assert [e.id for e in page1.items + page2.items] == sorted((e.id for e in page1.items + page2.items), reverse=True)
    assert all(e.agency == EDU for e in page1.items + page2.items)
    assert audit_log(ctx, EDU, since=clock[0] + timedelta(seconds=1)).items == []


def test_anchored_bundles_in_bulk_are_get_bundles_in_the_order_asked(issuer_world, database_url, monkeypatch):
    monkeypatch.setattr(bundle_bytes, "_READ_CHUNK", 3)
    ctx = make_context(issuer_world, database_url)
    first = [
        r.id
        for r in issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"a{i}") for i in range(4)])).issued
    ]
    anchor_once(ctx, flush=True)
    second = [
        r.id
        for r in issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"b{i}") for i in range(3)])).issued
    ]
    anchor_once(ctx, flush=True)
    asked = [second[2], first[0], second[0], first[3], first[1], second[1], first[2]]  # two batches, mixed
    got = list(anchored_bundles(ctx, EDU, asked))
    assert [i for i, _ in got] == asked
    for credential_id, data in got:
        assert json.loads(data) == json.loads(get_bundle(ctx, EDU, credential_id).to_bytes())
    # another agency's credential is not found; a pending one is not anchored; nothing is guessed
    pending = issue_one(ctx, EDU, DEGREE, degree_subject("c")).id
    with pytest.raises(NotAnchored) as waiting:
        list(anchored_bundles(ctx, EDU, [first[0], pending]))
    assert waiting.value.ids == [pending]
    with pytest.raises(CredentialNotFound) as missing:
        list(anchored_bundles(ctx, CIVIL, [first[0]]))
    assert missing.value.ids == [first[0]]
    ctx.engine.dispose()
