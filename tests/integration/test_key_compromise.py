"""A signing key compromised in the past, on a real anvil, on SQLite and PostgreSQL: the report lists
exactly the credentials anchored at or after the compromise (and those not anchored yet), the key is
revoked as of that time (retry-safe, a different time refused), those credentials fail with
KEY_REVOKED while the earlier ones stay VALID, and the re-issue supersedes every one of them with
the new key, the old ones revoked with reason 3 (key compromise)."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from ledger.chain import Reason
from ledger.governance.agency_keys import AgencyKeys
from ledger.issuance import anchor_once, get_bundle, issue_many, register_agency, rows_from_objects
from ledger.issuance.errors import KeyRevocationRefused
from ledger.issuance.key_compromise import compromise_report, fill_signing_keys, registry_for, reissue, revoke_key
from ledger.issuance.w3c_issue import issue_w3c
from ledger.protocol.credential import GENERIC_CREDENTIAL
from ledger.protocol.datetimes import format_utc
from ledger.protocol.did_key import public_key_from_verification_method
from ledger.protocol.identifiers import agency_id, type_id
from ledger.protocol.keys import SigningKey
from ledger.storage.tables import CRED
from ledger.verification import Verdict
from tests.integration.issuance_support import (
    CIVIL,
    DEGREE,
    EDU,
    RESIDENCE,
    degree_subject,
    issuer_world_of,
    make_context,
    residence_subject,
    verdict,
)

pytestmark = pytest.mark.integration


def _batch(ctx, n: int, tag: str, agency: str = EDU) -> list[str]:
    """``n`` credentials issued and anchored in one batch."""
    if agency == EDU:
        rows = rows_from_objects([degree_subject(f"{tag}{i}") for i in range(n)])
        result = issue_many(ctx, EDU, DEGREE, rows)
    else:
        result = issue_many(
            ctx, CIVIL, RESIDENCE, rows_from_objects([residence_subject(f"{tag}{i}") for i in range(n)])
        )
    anchor_once(ctx, flush=True)
    return [r.id for r in result.issued]


GENERIC_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "https://example.org/credentials/compromise",
    "type": ["VerifiableCredential", "ExampleCredential"],
    "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
}


def _with_generic(ctx):
    register_agency(ctx, EDU, "杭州市教育局 Hangzhou Education Bureau", [DEGREE, GENERIC_CREDENTIAL])
    return ctx


def _chain_time(w3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def _wait_chain_time(w3, at: int) -> None:
    """Mine empty blocks until the chain's time reaches ``at`` (anvil follows the wall clock)."""
    while _chain_time(w3) < at:
        w3.provider.make_request("evm_mine", [])
        if _chain_time(w3) < at:
            time.sleep(0.2)


def test_a_past_compromise_invalidates_exactly_the_later_anchors_and_reissue_repairs_them(
    world, w3, database_url, capsys, monkeypatch
):
    iw = issuer_world_of(world)
    world.registry.set_type_permitted(agency_id(EDU), type_id(GENERIC_CREDENTIAL), True)
    ctx = _with_generic(make_context(iw, database_url))
    old_key = world.agencies[EDU].signing_key.public_key.raw

    # before the compromise: two EDU batches, one CIVIL batch (another agency, another key)
    before = _batch(ctx, 3, "a") + _batch(ctx, 2, "b")
    civil = _batch(ctx, 2, "c", CIVIL)
    compromised_at = _chain_time(w3) + 1
    _wait_chain_time(w3, compromised_at)
    # at or after it, still signed with the old key: two batches, and one request not anchored yet
    after = _batch(ctx, 4, "d")
    generic = issue_w3c(ctx, EDU, GENERIC_EXAMPLE).id  # a VC API credential, anchored with the next batch
    after += _batch(ctx, 1, "e") + [generic]
    waiting = [r.id for r in issue_many(ctx, EDU, DEGREE, rows_from_objects([degree_subject("f0")])).issued]

    # a row issued before migration 0009 has no signing key: the report finds it from the sealed body
    with ctx.engine.begin() as conn:
        conn.execute(update(CRED).where(CRED.c.id == before[0]).values(signing_key=None))
    assert fill_signing_keys(ctx, EDU) == 1

    report = compromise_report(ctx, EDU, old_key, compromised_at)
    assert sorted(a.id for a in report.invalid) == sorted(after)
    assert [a.id for a in report.not_anchored] == waiting
    assert sorted(a.id for a in report.stay_valid) == sorted(before)
    j = report.to_json()
    assert j["becomeInvalid"]["byType"] == {DEGREE: 5, GENERIC_CREDENTIAL: 1}
    assert [b["count"] for b in j["becomeInvalid"]["byBatch"]] == [4, 2]
    assert all(b["anchoredAt"] >= j["compromisedAt"] for b in j["becomeInvalid"]["byBatch"])
    assert [b["count"] for b in j["stayValid"]["byBatch"]] == [3, 2] and "ids" not in j["stayValid"]
    assert "name" not in str(j) and "张三" not in str(j)  # ids, types and batches only

    # rotate: a new key registered; the old one may not be revoked while it is still the current one
    registry = registry_for(ctx, EDU)
    with pytest.raises(KeyRevocationRefused, match="agency key rotate"):
        revoke_key(ctx, registry, EDU, old_key, compromised_at, current_keys={old_key})
    new_key = SigningKey.generate()
    world.registry.add_key(agency_id(EDU), new_key.public_key.raw, 0)
    iw.keys[EDU] = AgencyKeys(iw.keys[EDU].operator, new_key)
    # the issuer restarted with the new key (the same anchoring worker: its lease is still held)
    ctx = _with_generic(make_context(iw, database_url, worker_id=ctx.worker_id))
    current = {new_key.public_key.raw}

    change = revoke_key(ctx, registry_for(ctx, EDU), EDU, old_key, compromised_at, current_keys=current, actor="t")
    assert len(change.done) == 1 and len(change.tx_hashes) == 1
    again = revoke_key(ctx, registry_for(ctx, EDU), EDU, old_key, compromised_at, current_keys=current)
    assert again.done == [] and len(again.skipped) == 1  # a retry sends nothing
    with pytest.raises(KeyRevocationRefused, match="already revoked as of"):
        revoke_key(ctx, registry_for(ctx, EDU), EDU, old_key, compromised_at - 1, current_keys=current)
    assert world.registry.key_of(agency_id(EDU), old_key).revoked_at == compromised_at

    anchor_once(ctx, flush=True)  # the waiting credential is anchored now, after the compromise
    for cid in after + waiting:
        v, codes = verdict(world, get_bundle(ctx, EDU, cid))
        assert (v, codes["issuer"]) == (Verdict.INVALID, "KEY_REVOKED"), (cid, codes)
    for cid in before:
        assert verdict(world, get_bundle(ctx, EDU, cid))[0] == Verdict.VALID, cid
    for cid in civil:
        assert verdict(world, get_bundle(ctx, CIVIL, cid))[0] == Verdict.VALID, cid

    # a re-issue cut short after 3 credentials (a crash), then run again: each is re-issued once
    import ledger.issuance.issue as issue_module

    real_supersede, calls = issue_module.supersede, []

    def crashing_supersede(*args, **kw):
        if len(calls) == 3:
            raise RuntimeError("killed")
        calls.append(args[2])
        return real_supersede(*args, **kw)

    monkeypatch.setattr(issue_module, "supersede", crashing_supersede)
    with pytest.raises(RuntimeError, match="killed"):
        reissue(ctx, EDU, old_key, actor="t")
    monkeypatch.setattr(issue_module, "supersede", real_supersede)
    with ctx.engine.connect() as conn:
        done_first = set(conn.execute(select(CRED.c.supersedes).where(CRED.c.supersedes.is_not(None))).scalars())
    assert set(calls) <= done_first and len(done_first) < len(after + waiting)
    result = reissue(ctx, EDU, old_key, actor="t")
    assert {old for old, _ in result.already} == done_first
    assert sorted(old for old, _ in result.reissued + result.already) == sorted(after + waiting)
    result.reissued += result.already
    anchor_once(ctx, flush=True)  # the new ones anchored; then the old ones revoked (key compromise)
    reader = ctx.chain.reader()
    for old, new in result.reissued:
        bundle = get_bundle(ctx, EDU, new)
        assert verdict(world, bundle)[0] == Verdict.VALID, new
        vm = bundle.credential["proof"]["verificationMethod"]
        assert public_key_from_verification_method(vm) == new_key.public_key.raw
        was = get_bundle(ctx, EDU, old).credential
        assert bundle.credential["credentialSubject"] == was["credentialSubject"]
        assert bundle.credential["type"] == was["type"] and bundle.credential["validFrom"] == was["validFrom"]
        old_bundle = get_bundle(ctx, EDU, old)
        status = reader.credential_status(agency_id(EDU), old_bundle.anchor.digest, old_bundle.anchor.root)
        assert (status.state, status.reason) == (2, Reason.KEY_COMPROMISE), old
    with ctx.engine.connect() as conn:
        reasons = dict(
            conn.execute(select(CRED.c.id, CRED.c.status_reason).where(CRED.c.id.in_(after + waiting))).all()
        )
    assert set(reasons.values()) == {int(Reason.KEY_COMPROMISE)}
    for cid in before:
        assert verdict(world, get_bundle(ctx, EDU, cid))[0] == Verdict.VALID, cid

    rerun = reissue(ctx, EDU, old_key)  # after a crash, or twice: nothing issued again
    assert rerun.reissued == [] and sorted(rerun.already) == sorted(result.reissued)

    with capsys.disabled():
        print(
            f"\n[key compromise, {ctx.engine.dialect.name}] signed with the old key: {len(before) + len(after) + len(waiting)}"
            f" in 6 requests (one a VC API credential); anchored before the compromise: {len(before)} (VALID); at or after: {len(after)}"
            f" + {len(waiting)} not anchored yet (KEY_REVOKED); re-issued: {len(result.reissued)} (VALID, new key;"
            f" {len(done_first)} before a simulated crash, the rest by the re-run),"
            f" old ones revoked with reason 3: {len(reasons)}; other agency untouched: {len(civil)} VALID"
        )


# ---------------------------------------------------------------- the runbook's commands (SQLite, embedded chain)

SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


def _cli(home, *args, **kw) -> int:
    from certledger.cli import main

    return main(["--data-dir", str(home), *args], **kw)


def _issue(home, tmp_path, name: str) -> str:
    subject = tmp_path / "subject.json"
    subject.write_text(json.dumps(SUBJECT, ensure_ascii=False))
    bundle = tmp_path / f"{name}.json"
    assert _cli(home, "issue", "--type", DEGREE, "--subject", str(subject), "--out", str(bundle)) == 0
    return json.loads(bundle.read_text())["credential"]["id"]


def test_the_compromise_commands(tmp_path, capsys, monkeypatch):
    from certledger.cli.context import App
    from tests.integration.cli_home import AGENCY, agency_home

    with agency_home(tmp_path / "home") as home:
        app = App(home)
        before = [_issue(home, tmp_path, "a1"), _issue(home, tmp_path, "a2")]
        at = _chain_time(app.w3) + 1
        _wait_chain_time(app.w3, at)
        after = [_issue(home, tmp_path, "b1")]
        rows = tmp_path / "rows.csv"
        rows.write_text(
            "name,degree,major,institution,graduationDate\n"
            + "".join(f"学生{i},学士,数学,浙大,2024-06-30\n" for i in range(3))
        )
        assert _cli(home, "issue-bulk", "--type", DEGREE, "--csv", str(rows), "--out-dir", str(tmp_path / "bulk")) == 0
        after += [
            json.loads(b)["credential"]["id"] for b in (tmp_path / "bulk" / "bundles.jsonl").read_bytes().splitlines()
        ]
        time_text = format_utc(datetime.fromtimestamp(at, UTC))
        capsys.readouterr()
        assert _cli(home, "agency", "show", AGENCY, "--json") == 0
        [old] = [k["public_key"] for k in json.loads(capsys.readouterr().out)["keys"]]

        def revoke(*extra) -> int:
            return _cli(home, "agency", "key", "revoke", AGENCY, old, "--compromised-at", time_text, *extra)

        # the current key is refused, after the report
        assert revoke("--yes", "--reason", "laptop stolen") == 1
        out, err = capsys.readouterr()
        assert "become invalid (anchored at or after that time): 4 (DegreeCertificate 4)" in out
        assert "stay valid (anchored before it): 2" in out and "agency key rotate" in err
        assert _cli(home, "agency", "key", "rotate", AGENCY) == 0

        # the report, then no confirmation: nothing revoked
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.setattr("sys.stdin", io.StringIO("n\n"))
            assert revoke("--json") != 0  # answered no: aborted
        report = json.loads(capsys.readouterr().out)
        assert app.registry().key_of(agency_id(AGENCY), bytes.fromhex(old[2:])).revoked_at == 0
        assert sorted(report["becomeInvalid"]["ids"]) == sorted(after) and not set(before) & set(after)
        assert [b["count"] for b in report["becomeInvalid"]["byBatch"]] == [1, 3]
        assert report["stayValid"]["count"] == 2 and report["notYetAnchored"]["count"] == 0

        assert revoke("--yes", "--reason", "laptop stolen") == 0
        assert "done:    revoke key" in capsys.readouterr().out
        assert revoke("--yes") == 0  # retried: nothing sent
        assert "already: revoke key" in capsys.readouterr().out
        assert (
            _cli(home, "agency", "key", "revoke", AGENCY, old, "--compromised-at", "2020-01-01T00:00:00Z", "--yes") == 1
        )
        assert "already revoked as of" in capsys.readouterr().err
        assert _cli(home, "agency", "key", "revoke", AGENCY, old, "--compromised-at", "yesterday") == 1
        assert "--compromised-at" in capsys.readouterr().err

        assert _cli(home, "verify", str(tmp_path / "a1.json"), str(tmp_path / "a2.json")) == 0
        assert _cli(home, "verify", str(tmp_path / "b1.json")) != 0
        assert "KEY_REVOKED" in capsys.readouterr().out

        out_dir = tmp_path / "reissued"
        assert _cli(home, "reissue", "--revoked-key", old, "--out-dir", str(out_dir)) == 0
        assert "re-issued 4 credentials" in capsys.readouterr().out
        links = (out_dir / "links.csv").read_text("utf-8").splitlines()
        assert links[0] == "oldCredentialId,credentialId,link" and sorted(
            line.split(",")[0] for line in links[1:]
        ) == sorted(after)
        assert _cli(home, "verify", str(out_dir / "bundles.jsonl")) == 0
        assert _cli(home, "verify", str(tmp_path / "a1.json"), str(tmp_path / "a2.json")) == 0
        capsys.readouterr()
        assert _cli(home, "verify", str(tmp_path / "b1.json"), "--json") != 0
        assert "key compromise" in capsys.readouterr().out  # revoked, reason 3

        assert _cli(home, "reissue", "--revoked-key", old, "--out-dir", str(tmp_path / "again")) == 0
        assert "re-issued 0 credentials" in capsys.readouterr().out
        assert (tmp_path / "again" / "links.csv").read_text("utf-8") == (out_dir / "links.csv").read_text("utf-8")

        from sqlmodel import Session, select

        from ledger.storage import AuditEvent

        with Session(app.engine) as session:
            events = session.exec(select(AuditEvent).where(AuditEvent.action == "key-revoke")).all()
        assert len(events) == 1 and events[0].details["reason"] == "laptop stolen"


def test_the_compromise_through_the_issuer_api(tmp_path, capsys):
    """The same through the issuer API, as the agency's admin: a dry run's report, the revocation
    (a retry sends nothing, another time is refused), the re-issue, the new bundles VALID and shared."""
    from fastapi.testclient import TestClient

    from certledger.cli.context import App
    from issuer_api.app import create_app
    from ledger.governance.api_keys import create_api_key
    from ledger.protocol.bundle import parse_bundle
    from ledger.verification import verify
    from tests.integration.cli_home import AGENCY, agency_home
    from tests.integration.verifier_server import issuer_service

    with agency_home(tmp_path / "home") as home:
        app = App(home)
        before = [_issue(home, tmp_path, "a1")]
        at = _chain_time(app.w3) + 1
        _wait_chain_time(app.w3, at)
        after = [_issue(home, tmp_path, "b1"), _issue(home, tmp_path, "b2")]
        capsys.readouterr()
        assert _cli(home, "agency", "show", AGENCY, "--json") == 0
        [old] = [k["public_key"] for k in json.loads(capsys.readouterr().out)["keys"]]
        assert _cli(home, "agency", "key", "rotate", AGENCY) == 0
        _, service = issuer_service(home)  # started after the rotation: it signs with the new key
        _, admin = create_api_key(service.ctx.engine, AGENCY, ["admin"], "incident")
        auth = {"Authorization": f"Bearer {admin}"}
        at_text = format_utc(datetime.fromtimestamp(at, UTC))
        with TestClient(create_app(service)) as client:

            def revoke(**body):
                return client.post(f"/agency/keys/{old}/revoke", json={"compromisedAt": at_text, **body}, headers=auth)

            dry = revoke(dryRun=True)
            assert dry.status_code == 200, dry.text
            assert sorted(dry.json()["report"]["becomeInvalid"]["ids"]) == sorted(after)
            assert dry.json()["report"]["stayValid"]["count"] == 1 and dry.json()["refusal"] is None
            assert dry.json()["revocation"] is None
            assert client.post(f"/agency/keys/{old}/reissue", headers=auth).status_code == 409  # not revoked yet

            done = revoke(reason="phished")
            assert done.status_code == 200 and done.json()["revocation"]["sent"] is True
            assert revoke().json()["revocation"] == {**done.json()["revocation"], "sent": False, "txHash": None}
            later = client.post(
                f"/agency/keys/{old}/revoke", json={"compromisedAt": "2020-01-01T00:00:00Z"}, headers=auth
            )
            assert later.status_code == 409 and "already revoked" in later.json()["detail"]
            current = "0x" + service.ctx.chain.signing_key(AGENCY).public_key.raw.hex()
            refused = client.post(f"/agency/keys/{current}/revoke", json={"compromisedAt": at_text}, headers=auth)
            assert refused.status_code == 409 and "agency key rotate" in refused.json()["detail"]
            bad = client.post(f"/agency/keys/{old}/revoke", json={"compromisedAt": "soon"}, headers=auth)
            assert bad.status_code == 422 and "compromisedAt" in bad.json()["detail"]

            answer = client.post(f"/agency/keys/{old}/reissue", headers=auth)
            assert answer.status_code == 200, answer.text
            pairs = answer.json()["reissued"]
            assert sorted(p["old"] for p in pairs) == sorted(after)
            anchor_once(service.ctx, flush=True)
            trust, reader = app.trust_roots(), app.chain_reader()
            for pair in pairs:
                reply = client.get(f"/credentials/{pair['new']}/bundle", headers=auth)
                assert verify(reply.content, trust, reader).verdict == Verdict.VALID
                assert client.get(f"/credentials/{pair['new']}/share", headers=auth).status_code == 200
                old_bundle = client.get(f"/credentials/{pair['old']}/bundle", headers=auth).content
                codes = {c.name: c.code for c in verify(old_bundle, trust, reader).checks}
                assert codes["issuer"] == "KEY_REVOKED" and codes["status"] == "REVOKED"
            for cid in before:
                bundle = parse_bundle(client.get(f"/credentials/{cid}/bundle", headers=auth).content)
                assert verify(bundle.to_bytes(), trust, reader).verdict == Verdict.VALID
            again = client.post(f"/agency/keys/{old}/reissue", headers=auth).json()
            assert again["reissued"] == [] and len(again["alreadyReissued"]) == len(after)
