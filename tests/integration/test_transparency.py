"""The public transparency section on a real anvil and a real uvicorn: the API's and the pages' figures
equal what was anchored, revoked and suspended on chain; listings page through opaque cursors; the
export holds every event; bad parameters are problems, never a 500; and an event undone by a
reorganisation disappears from the API and the pages."""

from __future__ import annotations

import csv
import io
import json
import time
import types

import pytest

from ledger.chain import Reason, connect
from ledger.protocol.identifiers import agency_id
from ledger.protocol.keys import SigningKey
from tests.integration.conftest import degree
from tests.integration.test_verifier_indexer import (  # noqa: F401  (fixtures)
    forget_nonces,
    private_chain,
    private_world,
    rpc,
)
from tests.integration.verifier_server import settings_for, start_verifier

pytestmark = pytest.mark.integration

EDU, CIVIL = "zj-hz-education", "zj-hz-civil"


def until(client, path: str, ok, timeout_s: float = 20.0):
    """GET path until ok(json) holds (the verifier's indexer polls the chain); the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = client.get(path)
        if reply.status_code == 200 and ok(reply.json()):
            return reply.json()
        assert time.monotonic() < deadline, reply.text[:500]
        time.sleep(0.2)


def residence(name: str) -> dict:
    return {"name": name, "idNumber": "330106199001011234", "address": "杭州市西湖区", "residentSince": "2020-01-01"}


@pytest.fixture
def ledger_state(world):
    """Four batches (11 credentials), one revocation, one suspension, and a key of the education
    bureau revoked as of an hour ago (compromised)."""
    batches = {EDU: [], CIVIL: []}
    for size in (3, 2, 4):
        batches[EDU].append(world.anchor(EDU, [world.sign(EDU, degree(f"学生{size}-{i}")) for i in range(size)])[0])
    batches[CIVIL].append(
        world.anchor(CIVIL, [world.sign(CIVIL, residence(f"居民{i}"), "ResidenceCertificate") for i in range(2)])[0]
    )
    first = batches[EDU][0]
    world.agencies[EDU].ledger.revoke(first.digests[1], first.root, first.tree.proof(1), Reason.SUPERSEDED)
    civil = batches[CIVIL][0]
    world.agencies[CIVIL].ledger.suspend(civil.digests[0], civil.root, civil.tree.proof(0), Reason.ADMINISTRATIVE)
    leaked = SigningKey.generate().public_key.raw
    now = connect(world.rpc_url).eth.get_block("latest")["timestamp"]
    world.registry.add_key(agency_id(EDU), leaked, now - 7200)
    world.registry.revoke_key(agency_id(EDU), leaked, now - 3600)
    return batches, leaked


def test_api_and_pages_count_what_the_chain_holds(world, ledger_state, tmp_path):
    batches, leaked = ledger_state
    server = start_verifier(settings_for(world, tmp_path))
    try:
        with server.client() as client:
            ledger = until(client, "/transparency/api/ledger", lambda j: j["totals"]["compromisedKeys"] == 1)
            assert ledger["totals"] == {
                "batches": 4,
                "credentials": 11,
                "revocations": 1,
                "suspensions": 1,
                "reinstatements": 0,
                "batchRevocations": 0,
                "agencies": 2,
                "activeAgencies": 2,
                "keys": 3,
                "compromisedKeys": 1,
            }
            agencies = {a["code"]: a for a in client.get("/transparency/api/agencies").json()["items"]}
            assert set(agencies) == {EDU, CIVIL}
            edu = agencies[EDU]
            assert [t["name"] for t in edu["types"]] == ["DegreeCertificate"]
            assert [o["address"] for o in edu["operators"]] == [world.agencies[EDU].ledger.sender.address.lower()]
            keys = {k["publicKey"]: k for k in edu["keys"]}
            assert keys["0x" + leaked.hex()]["compromised"] is True
            assert keys["0x" + world.agencies[EDU].signing_key.public_key.raw.hex()]["revokedAt"] is None

            detail = client.get(f"/transparency/api/agencies/{EDU}").json()
            assert detail["totals"]["credentials"] == 9 and detail["totals"]["batches"] == 3
            assert detail["totals"]["revocations"] == 1 and detail["totals"]["suspensions"] == 0
            per_day = client.get(f"/transparency/api/agencies/{EDU}/anchored?period=day").json()
            assert sum(b["credentials"] for b in per_day["items"]) == 9
            per_week = client.get(f"/transparency/api/agencies/{EDU}/anchored?period=week").json()
            assert sum(b["batches"] for b in per_week["items"]) == 3
            reasons = client.get(f"/transparency/api/agencies/{CIVIL}/status-changes").json()["items"]
            assert reasons == [{"of": "credential", "state": "suspended", "reason": 5, "count": 1}]

            # batches, newest first, two at a time through the cursor
            seen, cursor = [], None
            while True:
                url = f"/transparency/api/agencies/{EDU}/batches?limit=2" + (f"&cursor={cursor}" if cursor else "")
                page = client.get(url).json()
                seen += page["items"]
                cursor = page["next"]
                if cursor is None:
                    break
            assert [b["root"] for b in seen] == ["0x" + b.root.hex() for b in reversed(batches[EDU])]
            assert [b["count"] for b in seen] == [4, 2, 3]

            first = batches[EDU][0]
            batch = client.get(f"/transparency/api/agencies/{EDU}/batches/0x{first.root.hex()}").json()
            assert batch["count"] == 3 and batch["operator"] == edu["operators"][0]["address"]
            assert batch["statusHistory"] == []
            digest = client.get(f"/transparency/api/agencies/{EDU}/digests/0x{first.digests[1].hex()}").json()
            assert digest["state"] == "revoked" and [h["reason"] for h in digest["statusHistory"]] == [1]
            # another agency's namespace: the same digest has no history there
            other = client.get(f"/transparency/api/agencies/{CIVIL}/digests/0x{first.digests[1].hex()}").json()
            assert other["statusHistory"] == []
            missing = client.get(f"/transparency/api/agencies/{CIVIL}/batches/0x{first.root.hex()}")
            assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

            # every event, through the cursor and in the exports
            events, cursor = [], None
            while True:
                page = client.get("/transparency/api/events?limit=7" + (f"&cursor={cursor}" if cursor else "")).json()
                events += page["items"]
                cursor = page["next"]
                if cursor is None:
                    break
            counts = {name: sum(1 for e in events if e["event"] == name) for name in ("Anchored", "StatusChanged")}
            assert counts == {"Anchored": 4, "StatusChanged": 2}
            ndjson = [json.loads(line) for line in client.get("/transparency/api/export.ndjson").text.splitlines()]
            assert len(ndjson) == len(events) and ndjson == list(reversed(events))
            rows = list(csv.DictReader(io.StringIO(client.get("/transparency/api/export.csv").text)))
            assert (
                len(rows) == len(events) and sum(int(r["count"] or 0) for r in rows if r["event"] == "Anchored") == 11
            )
            latest = client.get("/transparency/api/events?limit=1").json()["latest"]
            assert client.get(f"/transparency/api/events?after={latest}").json()["items"] == []

            # refusals: problems, never a 500
            for url, status in (
                ("/transparency/api/events?cursor=not-a-cursor", 400),
                (f"/transparency/api/agencies/{EDU}/batches?cursor=WzEsMiwzXQ", 400),
                ("/transparency/api/ledger/timeline?period=month", 422),
                ("/transparency/api/events?limit=0", 422),
                ("/transparency/api/agencies/no-such-agency", 404),
                ("/transparency/api/agencies/BAD", 422),
                (f"/transparency/api/agencies/{EDU}/digests/0x12", 422),
            ):
                reply = client.get(url)
                assert reply.status_code == status, (url, reply.text)
                assert reply.headers["content-type"] == "application/problem+json"

            # the pages show the same figures, in both languages
            en = client.get("/transparency?lang=en").text
            assert 'data-total="credentials">11<' in en and 'data-total="revocations">1<' in en
            zh = client.get("/transparency?lang=zh").text
            assert "已锚定证书" in zh and 'data-total="batches">4<' in zh
            page = client.get(f"/transparency/agencies/{EDU}?lang=zh").text
            assert 'data-total="credentials">9<' in page and "已泄露" in page
            assert all(("0x" + b.root.hex())[:14] in page for b in batches[EDU])
            assert "学生" not in page and "330106" not in en  # never a credential's content
            found = client.get(f"/transparency/lookup?lang=en&agency={EDU}&batch=0x{first.root.hex()}").text
            assert 'id="lookup-result"' in found and edu["operators"][0]["address"] in found
            assert "Agency registered" in en or "Anchored" in en
            assert client.get("/transparency/agencies?lang=en").text.count('class="card agency"') == 2
    finally:
        server.stop()


def test_an_event_undone_by_a_reorganisation_disappears(private_world, tmp_path):
    world = private_world
    kept, _ = world.anchor(EDU, [world.sign(EDU, degree("kept"))])
    server = start_verifier(settings_for(world, tmp_path))
    try:
        with server.client() as client:
            until(client, "/transparency/api/ledger", lambda j: j["totals"]["batches"] == 1)
            snapshot = rpc(world.rpc_url, "evm_snapshot")
            doomed, _ = world.anchor(EDU, [world.sign(EDU, degree(f"d{i}")) for i in range(5)])
            world.agencies[EDU].ledger.revoke(kept.digests[0], kept.root, kept.tree.proof(0), Reason.ISSUED_IN_ERROR)
            before = until(client, "/transparency/api/ledger", lambda j: j["totals"]["batches"] == 2)
            assert before["totals"]["credentials"] == 6 and before["totals"]["revocations"] == 1
            doomed_url = f"/transparency/api/agencies/{EDU}/batches/0x{doomed.root.hex()}"
            assert client.get(doomed_url).status_code == 200
            old_head = connect(world.rpc_url).eth.block_number

            assert rpc(world.rpc_url, "evm_revert", snapshot) is True
            forget_nonces(world)
            replacement, _ = world.anchor(EDU, [world.sign(EDU, degree("new-branch"))])
            rpc(world.rpc_url, "anvil_mine", hex(max(1, old_head - connect(world.rpc_url).eth.block_number + 2)))

            after = until(
                client,
                "/transparency/api/ledger",
                lambda j: j["totals"]["credentials"] == 2 and j["index"][0]["finalBlock"] > old_head,
            )
            assert after["totals"]["batches"] == 2 and after["totals"]["revocations"] == 0
            assert client.get(doomed_url).status_code == 404
            roots = [b["root"] for b in client.get(f"/transparency/api/agencies/{EDU}/batches").json()["items"]]
            assert roots == ["0x" + replacement.root.hex(), "0x" + kept.root.hex()]
            digest = client.get(f"/transparency/api/agencies/{EDU}/digests/0x{kept.digests[0].hex()}").json()
            assert digest["statusHistory"] == [] and digest["state"] == "active"
            page = client.get(f"/transparency/agencies/{EDU}?lang=en").text
            assert ("0x" + doomed.root.hex())[:14] not in page and 'data-total="revocations">0<' in page
            exported = client.get("/transparency/api/export.ndjson").text
            assert doomed.root.hex() not in exported
    finally:
        server.stop()


def test_the_counts_equal_the_demos_summary(tmp_path, capsys):
    """`certledger demo` on a fresh data directory, then the verifier on its chain: the transparency
    section's figures per agency are the demo's summary (bundles anchored, one revoked, one suspended),
    and the demo prints the transparency URL beside the share link."""
    from certledger.cli import main

    home, out = tmp_path / "home", tmp_path / "out"
    assert main(["--data-dir", str(home), "init", "--port", "0"]) == 0
    try:
        assert main(["--data-dir", str(home), "demo", "--count", "30", "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in printed.splitlines() if ":" in line}
        share_base = lines["share link"].split("/s/")[0]
        assert lines["transparency"] == share_base + "/transparency"

        summary = json.loads((out / "summary.json").read_text())
        settings = settings_for(world_like(summary), tmp_path)  # trusts the demo's deployment
        expected: dict[str, dict[str, int]] = {}
        for bundle in summary["bundles"]:
            code = bundle["file"].split("/")[1].rsplit("-", 1)[0]
            counts = expected.setdefault(code, {"credentials": 0, "revocations": 0, "suspensions": 0})
            counts["credentials"] += 1
            counts["revocations"] += bundle["expected"] == "REVOKED"
            counts["suspensions"] += bundle["expected"] == "SUSPENDED"
        server = start_verifier(settings)
        try:
            with server.client() as client:
                total = until(client, "/transparency/api/ledger", lambda j: j["totals"]["suspensions"] == 1)["totals"]
                assert total["credentials"] == len(summary["bundles"]) == 30
                assert total["revocations"] == 1 and total["batches"] == len(expected) == 2
                for code, counts in expected.items():
                    got = client.get(f"/transparency/api/agencies/{code}").json()["totals"]
                    assert {k: got[k] for k in counts} == counts, code
                page = client.get("/transparency?lang=zh").text
                assert 'data-total="credentials">30<' in page
        finally:
            server.stop()
    finally:
        main(["--data-dir", str(home), "chain", "down"])


def world_like(summary: dict):
    """What settings_for reads of a test world, from the demo's summary."""
    return types.SimpleNamespace(
        deployment=types.SimpleNamespace(
            chain_id=summary["chainId"],
            registry=summary["registry"].split(":")[2],
            ledger=summary["ledger"].split(":")[2],
            block=0,
        ),
        chain_id=summary["chainId"],
        rpc_url=summary["rpcUrl"],
    )
