"""Revoke, suspend, reinstate and supersede on a real anvil, on SQLite and PostgreSQL: visible to the
verifier, refused across agencies and before anchoring, safe to retry after a crash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.chain import CredentialState, Reason
from ledger.issuance import (
    CredentialNotFound,
    InvalidTransition,
    NotAnchored,
    SupersedeRefused,
    anchor_once,
    audit_log,
    get_bundle,
    get_credential_info,
    issue_many,
    issue_one,
    reinstate,
    revoke,
    rows_from_objects,
    supersede,
    suspend,
)
from ledger.protocol.digest import from_hex32
from ledger.protocol.errors import ValidationError
from ledger.protocol.identifiers import agency_id
from ledger.storage.tables import CRED
from ledger.verification import Verdict
from tests.integration.issuance_support import (  # noqa: F401  (pytest fixtures)
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    ctx,
    degree_subject,
    issuer_world,
    residence_subject,
    verdict,
)

pytestmark = pytest.mark.integration


def anchored(ctx, n=3, agency=EDU):
    if agency == EDU:
        result = issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject(f"s{i}") for i in range(n)]))
    else:
        result = issue_many(ctx, CIVIL, RESIDENCE, rows_from_objects([residence_subject(f"r{i}") for i in range(n)]))
    anchor_once(ctx, flush=True)
    return [r.id for r in result.issued]


def status_code(ctx, world, agency, cid):
    v, codes = verdict(world, get_bundle(ctx, agency, cid))
    return v, codes["status"]


def test_revoke_suspend_reinstate_visible_to_the_verifier(ctx, issuer_world):
    world = issuer_world.world
    a, b, c = anchored(ctx)
    r = revoke(ctx, EDU, a, Reason.ISSUED_IN_ERROR, actor="officer-7")
    assert r.changed == [a] and len(r.tx_hashes) == 1
    revoke_tx = r.tx_hashes[0]
    assert status_code(ctx, world, EDU, a) == (Verdict.INVALID, "REVOKED")
    info = get_credential_info(ctx, EDU, a)
    assert (info.state, info.status_reason) == ("revoked", int(Reason.ISSUED_IN_ERROR))

    suspend(ctx, EDU, [b, c], Reason.ADMINISTRATIVE)  # many in one transaction
    assert status_code(ctx, world, EDU, b) == (Verdict.INVALID, "SUSPENDED")
    assert status_code(ctx, world, EDU, c) == (Verdict.INVALID, "SUSPENDED")
    r = reinstate(ctx, EDU, [b])
    assert r.changed == [b]
    assert status_code(ctx, world, EDU, b) == (Verdict.VALID, "STATUS_ACTIVE")
    assert get_credential_info(ctx, EDU, b).state == "anchored"

    # already in the wanted state: nothing sent
    r = suspend(ctx, EDU, [c])
    assert r.unchanged == [c] and r.tx_hashes == []
    # revocation is final
    with pytest.raises(InvalidTransition):
        reinstate(ctx, EDU, a)
    with pytest.raises(InvalidTransition):
        suspend(ctx, EDU, [b, a])
    assert get_credential_info(ctx, EDU, b).state == "anchored"  # nothing of a refused request happened
    # the suspended one can be revoked
    revoke(ctx, EDU, c, Reason.HOLDER_REQUEST)
    assert status_code(ctx, world, EDU, c) == (Verdict.INVALID, "REVOKED")
    actions = [(e.action, e.subject) for e in audit_log(ctx, EDU, limit=5).items]
    assert actions[0] == ("revoke", c)
    entry = audit_log(ctx, EDU, action="revoke", subject=a).items[0]
    assert (entry.actor, entry.tx_hash, entry.details["reason"]) == (
        "officer-7",
        revoke_tx,
        int(Reason.ISSUED_IN_ERROR),
    )


def test_other_agencies_credentials_are_not_found(ctx, issuer_world):
    (edu_id,) = anchored(ctx, 1)
    for action in (revoke, suspend, reinstate):
        with pytest.raises(CredentialNotFound) as err:
            action(ctx, CIVIL, edu_id)
        assert "no credential" in str(err.value)
    with pytest.raises(CredentialNotFound) as missing:
        revoke(ctx, CIVIL, "urn:uuid:00000000-0000-4000-8000-000000000000")
    assert type(missing.value) is type(err.value)  # the same refusal: existence is not revealed
    with pytest.raises(CredentialNotFound):
        get_bundle(ctx, CIVIL, edu_id)
    with pytest.raises(CredentialNotFound):
        supersede(ctx, CIVIL, edu_id, residence_subject())
    assert get_credential_info(ctx, EDU, edu_id).state == "anchored"
    assert [e.action for e in audit_log(ctx, CIVIL).items] == ["agency-record"]  # nothing else happened


def test_unanchored_credentials_are_refused_clearly(ctx):
    issued = issue_one(ctx, EDU, DEGREE, degree_subject())
    with pytest.raises(NotAnchored) as err:
        revoke(ctx, EDU, issued.id)
    assert "not anchored yet" in str(err.value) and err.value.ids == [issued.id]


def test_database_behind_the_chain_is_reconciled_on_retry(ctx, issuer_world):
    """A crash between the revocation transaction and its database update: the retry sees the chain."""
    (cid,) = anchored(ctx, 1)
    with ctx.engine.connect() as conn:
        row = conn.execute(select(CRED).where(CRED.c.id == cid)).one()
    from ledger.issuance.lifecycle import _load

    found = _load(ctx, EDU, [cid])[cid]
    tree = ctx.trees.get(ctx.engine, found.batch_id, found.root)
    issuer_world.world.agencies[EDU].ledger.revoke(
        from_hex32(row.digest), from_hex32(found.root), tree.proof(found.leaf_index), Reason.KEY_COMPROMISE
    )
    result = revoke(ctx, EDU, cid, Reason.KEY_COMPROMISE)
    assert result.unchanged == [cid] and result.tx_hashes == []
    info = get_credential_info(ctx, EDU, cid)
    assert (info.state, info.status_reason) == ("revoked", int(Reason.KEY_COMPROMISE))
    assert audit_log(ctx, EDU, action="status-sync").items[0].subject == cid


def test_supersede_revokes_the_old_once_the_new_is_anchored(ctx, issuer_world):
    world = issuer_world.world
    (old,) = anchored(ctx, 1)
    corrected = degree_subject("s0", major="软件工程")
    new = supersede(ctx, EDU, old, corrected, idempotency_key="fix-1")
    assert new.supersedes == old and new.credential["credentialSubject"]["major"] == "软件工程"
    assert supersede(ctx, EDU, old, corrected, idempotency_key="fix-1").id == new.id  # retry
    with pytest.raises(SupersedeRefused):
        supersede(ctx, EDU, old, corrected)  # one successor only
    # until the new one is anchored, the old one stays valid
    assert status_code(ctx, world, EDU, old) == (Verdict.VALID, "STATUS_ACTIVE")
    report = anchor_once(ctx, flush=True)
    assert report.superseded_revoked == [old]
    assert status_code(ctx, world, EDU, old) == (Verdict.INVALID, "REVOKED")
    assert get_credential_info(ctx, EDU, old).status_reason == int(Reason.SUPERSEDED)
    assert verdict(world, get_bundle(ctx, EDU, new.id))[0] is Verdict.VALID
    old_digest = from_hex32(get_credential_info(ctx, EDU, old).digest)
    assert world.agencies[EDU].ledger.status_of(agency_id(EDU), old_digest).state == CredentialState.REVOKED
    assert (
        world.agencies[EDU].ledger.status_of(agency_id(CIVIL), old_digest).state == CredentialState.ACTIVE
    )  # EDU's namespace only
    assert anchor_once(ctx).superseded_revoked == []  # done once
    with pytest.raises(SupersedeRefused):
        supersede(ctx, EDU, old, corrected, idempotency_key="fix-2")


def test_supersede_keeps_the_holder_and_the_type(ctx):
    first = issue_one(ctx, EDU, DEGREE, degree_subject(id="did:example:alice"))
    with pytest.raises(ValidationError) as err:
        supersede(ctx, EDU, first.id, degree_subject(id="did:example:mallory"))
    assert err.value.errors[0].field == "credentialSubject.id"
    with pytest.raises(ValidationError):
        supersede(ctx, EDU, first.id, residence_subject())  # validated against the old type's schema
    new = supersede(ctx, EDU, first.id, degree_subject(id="did:example:alice", major="数学"))
    assert new.type_name == DEGREE
