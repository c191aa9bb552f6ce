"""The issuer API in process (real anvil, real SQLite, local content store): auth, issuance,
idempotency, bad input, anchoring, sharing, lifecycle, and agency isolation."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from certledger.cli import main
from issuer_api.app import create_app
from ledger.chain.embedded import rpc_urls_for
from ledger.content.links import parse_share_link
from ledger.content.share import decrypt_share
from ledger.governance.api_keys import create_api_key
from ledger.issuance import anchor_once
from ledger.verification import CachedChainReader, RpcChainReader, TrustRoots, Verdict, verify
from tests.integration.verifier_server import issuer_service

pytestmark = pytest.mark.integration

SUBJECT = {
    "name": "王伟 (Wang Wei)",
    "idNumber": "330106199001011234",
    "degree": "工学学士 Bachelor of Engineering",
    "major": "计算机科学与技术",
    "institution": "浙江大学",
    "graduationDate": "2024-06-30",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    home = tmp_path_factory.mktemp("issuer") / "home"
    assert main(["--data-dir", str(home), "init", "--port", "0"]) == 0
    assert main(["--data-dir", str(home), "chain", "up"]) == 0
    assert main(["--data-dir", str(home), "deploy"]) == 0
    config, service = issuer_service(home)
    _, governance = create_api_key(service.ctx.engine, None, ["governance"], "tests")
    with TestClient(create_app(service)) as client:
        keys = {}
        for code in ("zj-hz-education", "zj-hz-civil"):
            reply = client.post(
                "/agencies",
                json={"code": code, "name": f"{code} bureau", "types": ["DegreeCertificate", "ResidenceCertificate"]},
                headers=_auth(governance),
            )
            assert reply.status_code == 201, reply.text
            keys[code] = reply.json()["apiKey"]
        yield client, service, keys, governance, config
    main(["--data-dir", str(home), "chain", "down"])


def _auth(key):
    return {"Authorization": f"Bearer {key}"}


def _reader(config):
    d = config.deployment
    return TrustRoots.single(d["chain_id"], d["registry"], d["ledger"]), CachedChainReader(
        RpcChainReader({d["chain_id"]: rpc_urls_for(config)}), head_poll_s=0
    )


def test_issue_anchor_share_verify_revoke(api):
    client, service, keys, _, config = api
    edu = _auth(keys["zj-hz-education"])
    reply = client.post("/credentials", json={"type": "DegreeCertificate", "subject": SUBJECT}, headers=edu)
    assert reply.status_code == 201, reply.text
    cid = reply.json()["id"]
    assert client.get(f"/credentials/{cid}", headers=edu).json()["state"] == "pending"
    assert client.get(f"/credentials/{cid}/share", headers=edu).status_code == 409  # not anchored yet

    anchor_once(service.ctx, flush=True)
    bundle = client.get(f"/credentials/{cid}/bundle", headers=edu)
    trust, reader = _reader(config)
    assert verify(bundle.content, trust, reader).verdict is Verdict.VALID

    share = client.get(f"/credentials/{cid}/share", headers=edu).json()
    link = parse_share_link(share["link"])
    assert link.url.startswith("http://127.0.0.1:8600/s/")
    blob = service.shares.content.get(link.cid)
    assert json.loads(decrypt_share(blob, link.key)) == json.loads(bundle.content)
    assert client.get(f"/credentials/{cid}/qr.png", headers=edu).content.startswith(b"\x89PNG")
    assert b"<svg" in client.get(f"/credentials/{cid}/qr.svg", headers=edu).content

    reply = client.post(f"/credentials/{cid}/revoke", json={"reason": 2}, headers=edu)
    assert reply.status_code == 200, reply.text
    report = verify(bundle.content, trust, reader)
    assert (report.verdict, report.check("status").code) == (Verdict.INVALID, "REVOKED")
    actions = [e["action"] for e in client.get("/audit", headers=edu).json()["items"]]
    assert any("revoke" in a for a in actions) and any("issue" in a for a in actions)


def test_idempotency_key_returns_the_same_credential(api):
    client, _, keys, _, _ = api
    edu = {**_auth(keys["zj-hz-education"]), "Idempotency-Key": f"req-{uuid.uuid4()}"}
    body = {"type": "DegreeCertificate", "subject": SUBJECT}
    first = client.post("/credentials", json=body, headers=edu)
    again = client.post("/credentials", json=body, headers=edu)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = client.post("/credentials", json={**body, "subject": {**SUBJECT, "name": "李四"}}, headers=edu)
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_CONFLICT"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"type": "DegreeCertificate", "subject": {**SUBJECT, "graduationDate": "yesterday"}}, "graduationDate"),
        ({"type": "DegreeCertificate", "subject": {k: v for k, v in SUBJECT.items() if k != "degree"}}, "degree"),
        ({"type": "DegreeCertificate", "subject": {**SUBJECT, "idNumber": 42}}, "idNumber"),
        ({"type": "DegreeCertificate", "subject": "not an object"}, "subject"),
        ({"type": "DegreeCertificate"}, "subject"),
        ({"type": "DegreeCertificate", "subject": SUBJECT, "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(api, body, field):
    client, _, keys, _, _ = api
    reply = client.post("/credentials", json=body, headers=_auth(keys["zj-hz-education"]))
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert field in json.dumps(reply.json()["errors"])


def test_refusals_are_clear(api):
    client, _, keys, _, _ = api
    edu = _auth(keys["zj-hz-education"])
    unknown = client.post("/credentials", json={"type": "NoSuchType", "subject": {}}, headers=edu)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "UNKNOWN_TYPE")
    broken = client.post(
        "/credentials", content=b'{"type": "Degree', headers={**edu, "content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["code"] == "VALIDATION_FAILED"
    huge = client.post(
        "/credentials", content=b"{" + b" " * (70 * 1024) + b"}", headers={**edu, "content-type": "application/json"}
    )
    assert (huge.status_code, huge.json()["code"]) == (413, "BODY_TOO_LARGE")
    wrong_media = client.post(
        "/credentials/bulk?type=DegreeCertificate", content=b"x", headers={**edu, "content-type": "image/png"}
    )
    assert wrong_media.status_code == 415


def test_bulk_csv_reports_bad_rows_and_issues_the_rest(api):
    client, service, keys, _, _ = api
    edu = {**_auth(keys["zj-hz-education"]), "content-type": "text/csv"}
    csv = (
        "name,idNumber,degree,major,institution,graduationDate\n"
        "张三,330106199001011234,学士,数学,浙江大学,2024-06-30\n"
        "李四,330106199001011234,学士,数学,浙江大学,not-a-date\n"
        "王五,330106199001011234,学士,物理,浙江大学,2024-06-30\n"
    ).encode()
    result = client.post("/credentials/bulk?type=DegreeCertificate", content=csv, headers=edu).json()
    assert len(result["issued"]) == 2 and [e["row"] for e in result["errors"]] == [3]
    assert "graduationDate" in json.dumps(result["errors"])
    strict = client.post("/credentials/bulk?type=DegreeCertificate&all_or_nothing=true", content=csv, headers=edu)
    assert strict.status_code == 422 and strict.json()["code"] == "BULK_REJECTED"


def test_agency_b_cannot_read_or_change_agency_a_credentials(api):
    client, service, keys, _, _ = api
    edu, civil = _auth(keys["zj-hz-education"]), _auth(keys["zj-hz-civil"])
    cid = client.post("/credentials", json={"type": "DegreeCertificate", "subject": SUBJECT}, headers=edu).json()["id"]
    anchor_once(service.ctx, flush=True)
    for method, path, body in (
        ("get", f"/credentials/{cid}", None),
        ("get", f"/credentials/{cid}/bundle", None),
        ("get", f"/credentials/{cid}/share", None),
        ("post", f"/credentials/{cid}/revoke", {"reason": 0}),
        ("post", f"/credentials/{cid}/suspend", {"reason": 0}),
        ("post", "/credentials/status", {"action": "revoke", "ids": [cid], "reason": 0}),
    ):
        reply = getattr(client, method)(path, headers=civil, **({"json": body} if body else {}))
        assert reply.status_code == 404, (path, reply.text)
    assert client.get(f"/credentials/{cid}", headers=edu).json()["state"] == "anchored"


def test_authentication_and_scopes(api):
    client, _, keys, governance, _ = api
    edu = _auth(keys["zj-hz-education"])
    assert client.post("/credentials", json={"type": "DegreeCertificate", "subject": SUBJECT}).status_code == 401
    assert client.get("/credentials", headers=_auth("clk_000000000000_" + "x" * 43)).status_code == 401
    reader = client.post("/api-keys", json={"scopes": ["read"], "label": "auditor"}, headers=edu).json()
    assert client.get("/credentials", headers=_auth(reader["apiKey"])).status_code == 200
    denied = client.post(
        "/credentials", json={"type": "DegreeCertificate", "subject": SUBJECT}, headers=_auth(reader["apiKey"])
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "FORBIDDEN")
    assert client.delete(f"/api-keys/{reader['id']}", headers=edu).status_code == 200
    assert client.get("/credentials", headers=_auth(reader["apiKey"])).status_code == 401
    assert client.post("/types", json={"name": "X", "schema": {}}, headers=edu).status_code == 403  # governance only
    assert client.get("/credentials", headers=_auth(governance)).status_code == 403  # governance is not an agency
    listed = client.get("/api-keys", headers=edu).json()
    assert all("apiKey" not in k and "secret" not in json.dumps(k) for k in listed)


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path,field",
    [
        ("/credentials?cursor=garbage!", "cursor"),
        (f"/credentials?cursor={_cursor(['2024-01-01T00:00:00', {'id': 1}])}", "cursor"),  # JSON, wrong types
        (f"/credentials?cursor={_cursor(['0001-01-01T00:00:00+00:01', 'x'])}", "cursor"),
        ("/credentials?cursor=MQ", "cursor"),  # JSON, not a list
        (f"/audit?cursor={_cursor([10**30])}", "cursor"),  # past any row id
        ("/audit?cursor=BODY_TOO_LARGE", "cursor"),
        ("/credentials?from=0001-01-01T00:00:00%2B00:01", "from"),  # no UTC equivalent
        ("/audit?until=0001-01-01T00:00:00%2B00:01", "until"),
    ],
)
def test_hostile_query_parameters_are_a_422_naming_the_parameter(api, path, field):
    # found by tests/security/test_schemathesis.py: these were 500s
    client, _, keys, _, _ = api
    reply = client.get(path, headers=_auth(keys["zj-hz-education"]))
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["errors"][0]["field"] == field


def test_times_with_an_offset_are_compared_as_instants(api):
    # the bounds are converted to UTC before the query (tests/security/test_schemathesis.py found an overflow there)
    client, _, keys, _, _ = api
    edu = _auth(keys["zj-hz-education"])
    issued = client.post("/credentials", json={"type": "DegreeCertificate", "subject": SUBJECT}, headers=edu).json()
    at = datetime.fromisoformat(issued["issuedAt"]).astimezone(timezone(timedelta(hours=8)))
    window = {"from": (at - timedelta(seconds=1)).isoformat(), "until": (at + timedelta(seconds=1)).isoformat()}
    found = client.get("/credentials", params=window, headers=edu).json()["items"]
    assert issued["id"] in [c["id"] for c in found]


def test_an_unreadable_body_is_a_400_problem(api):
    client, _, keys, _, _ = api
    reply = client.post(
        "/credentials",
        content=b"\x1e\xc7\xae\xff",
        headers={**_auth(keys["zj-hz-education"]), "content-type": "application/json"},
    )
    assert reply.status_code in (400, 422), reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] in ("BAD_REQUEST", "VALIDATION_FAILED")
