"""Day two through the issuer API on a real anvil: the agency's on-chain state, its signing key's
rotation, its operators and its activation; each retry-safe, each audited, each on chain."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from certledger.cli import main
from issuer_api.app import create_app
from ledger.governance.api_keys import create_api_key
from ledger.issuance import anchor_once
from tests.integration.cli_home import AGENCY, agency_home
from tests.integration.verifier_server import issuer_service

pytestmark = pytest.mark.integration

SUBJECT = {"name": "张三", "degree": "学士", "major": "数学", "institution": "浙江大学", "graduationDate": "2024-06-30"}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api(tmp_path):
    with agency_home(
        tmp_path / "home", ["agency", "register", "zj-hz-civil", "--name", "民政局", "--types", "DegreeCertificate"]
    ) as home:
        _, service = issuer_service(home)
        engine = service.ctx.engine
        keys = {
            "governance": create_api_key(engine, None, ["governance"], "gov")[1],
            "admin": create_api_key(engine, AGENCY, ["admin"], "admin")[1],
            "reader": create_api_key(engine, AGENCY, ["read"], "reader")[1],
            "other": create_api_key(engine, "zj-hz-civil", ["admin"], "other")[1],
        }
        with TestClient(create_app(service)) as client:
            yield client, service, keys, home


def show(client, key) -> dict:
    reply = client.get(f"/agencies/{AGENCY}", headers=bearer(key))
    assert reply.status_code == 200, reply.text
    return reply.json()


def issue_and_anchor(client, service, key, name: str) -> dict:
    reply = client.post(
        "/credentials", json={"type": "DegreeCertificate", "subject": {**SUBJECT, "name": name}}, headers=bearer(key)
    )
    assert reply.status_code == 201, reply.text
    anchor_once(service.ctx, flush=True)
    bundle = client.get(f"/credentials/{reply.json()['id']}/bundle", headers=bearer(key))
    assert bundle.status_code == 200, bundle.text
    return bundle.json()


def verifies(home, tmp_path, *bundles: dict) -> bool:
    import json

    files = []
    for i, bundle in enumerate(bundles):
        path = tmp_path / f"bundle-{i}.json"
        path.write_text(json.dumps(bundle, ensure_ascii=False))
        files.append(str(path))
    return main(["--data-dir", str(home), "verify", *files]) == 0


def key_id(key: str) -> str:
    return "_".join(key.split("_")[:2])


def audit_actions(client, key) -> list[tuple[str, str, str | None]]:
    items = client.get("/audit", params={"limit": 1000}, headers=bearer(key)).json()["items"]
    return [(e["action"], e["actor"], e["tx_hash"]) for e in items]


def test_signing_key_rotation_through_the_api(api, tmp_path):
    client, service, keys, home = api
    before = show(client, keys["reader"])
    assert before["active"] and before["types"] == ["DegreeCertificate"] and len(before["operators"]) == 1
    [old_key] = before["keys"]
    assert old_key["revokedAt"] is None
    old_bundle = issue_and_anchor(client, service, keys["admin"], "旧")

    path = f"/agencies/{AGENCY}/signing-keys/rotate"
    first = client.post(path, headers={**bearer(keys["admin"]), "Idempotency-Key": "rotate-1"})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["previousKey"] == old_key["publicKey"] and rotated["signingKey"] != old_key["publicKey"]
    assert len(rotated["done"]) == len(rotated["txHashes"]) == 1 and not rotated["replayed"]

    retry = client.post(path, headers={**bearer(keys["admin"]), "Idempotency-Key": "rotate-1"})
    assert retry.status_code == 200 and retry.json() == {**rotated, "replayed": True}
    state = show(client, keys["governance"])
    by_key = {k["publicKey"]: k for k in state["keys"]}
    assert set(by_key) == {old_key["publicKey"], rotated["signingKey"]}  # the retry registered nothing
    assert by_key[old_key["publicKey"]]["revokedAt"] is None  # the rule: a rotation revokes nothing

    # this process signs with the new key at once, no restart; both credentials verify
    new_bundle = issue_and_anchor(client, service, keys["admin"], "新")
    assert (
        new_bundle["credential"]["proof"]["verificationMethod"]
        != old_bundle["credential"]["proof"]["verificationMethod"]
    )
    assert verifies(home, tmp_path, old_bundle, new_bundle)

    # a rotation cut short (the new key registered, not yet made current) is finished with the same key
    key_dir = home / "keys" / "agencies" / AGENCY
    (key_dir / "signing.json").rename(key_dir / "signing-next.json")
    resumed = client.post(path, headers=bearer(keys["governance"]))
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["signingKey"] == rotated["signingKey"] and resumed.json()["done"] == []
    assert len(resumed.json()["already"]) == 1 and len(show(client, keys["admin"])["keys"]) == 2

    # a key without admin, another agency's key, an agency not on chain, a malformed code
    assert client.post(path, headers={**bearer(keys["reader"]), "Idempotency-Key": "r"}).status_code == 403
    other = client.post(path, headers=bearer(keys["other"]))
    assert other.status_code == 403 and "acts for agency zj-hz-civil" in other.json()["detail"]
    assert (
        client.post("/agencies/no-such-agency/signing-keys/rotate", headers=bearer(keys["governance"])).json()["code"]
        == "AGENCY_NOT_FOUND"
    )
    bad = client.get("/agencies/Not_A_Code", headers=bearer(keys["governance"]))
    assert bad.status_code == 422 and bad.json()["detail"].startswith("code:")

    audited = [a for a in audit_actions(client, keys["admin"]) if a[0] == "key-rotate"]
    assert audited == [("key-rotate", key_id(keys["admin"]), rotated["txHashes"][0])]  # the replay sent nothing


def test_operators_and_activation_through_the_api(api, tmp_path):
    client, service, keys, home = api
    gov = bearer(keys["governance"])
    [old_operator] = show(client, keys["admin"])["operators"]
    path = f"/agencies/{AGENCY}/operators"

    assert client.post(path, json={}, headers=bearer(keys["admin"])).status_code == 403  # governance only
    first = client.post(path, json={}, headers={**gov, "Idempotency-Key": "op-1"})
    assert first.status_code == 200, first.text
    added = first.json()
    assert added["previousOperator"] == old_operator and added["operator"] != old_operator
    assert added["fundFirst"] is False  # the embedded chain: funded here, as the command line does
    assert client.post(path, json={}, headers={**gov, "Idempotency-Key": "op-1"}).json() == {
        **added,
        "replayed": True,
    }
    assert show(client, keys["admin"])["operators"] == [old_operator, added["operator"]]

    removal = f"{path}/{old_operator}"
    assert client.delete(removal, headers=gov).json()["done"] == [f"remove operator {old_operator}"]
    assert client.delete(removal, headers=gov).json()["already"] == [f"remove operator {old_operator}"]
    assert show(client, keys["admin"])["operators"] == [added["operator"]]

    # another agency's operator is neither taken nor removed through this agency
    civil = client.get("/agencies/zj-hz-civil", headers=gov).json()["operators"][0]
    assert client.post(path, json={"address": civil}, headers=gov).status_code == 409
    assert client.delete(f"{path}/{civil}", headers=gov).json()["code"] == "OPERATOR_CONFLICT"
    for wrong in ("0x1234", ""):
        bad = client.post(path, json={"address": wrong}, headers=gov)
        assert bad.status_code == 422 and bad.json()["errors"] == [
            {"field": "address", "reason": "not an Ethereum address (0x + 40 hex digits)"}
        ]

    assert client.post(f"/agencies/{AGENCY}/deactivate", headers=bearer(keys["admin"])).status_code == 403
    assert client.post(f"/agencies/{AGENCY}/deactivate", headers=gov).json()["done"] == [f"deactivate {AGENCY}"]
    assert client.post(f"/agencies/{AGENCY}/deactivate", headers=gov).json()["already"] == [f"deactivate {AGENCY}"]
    assert show(client, keys["admin"])["active"] is False
    assert client.post(f"/agencies/{AGENCY}/reactivate", headers=gov).json()["done"] == [f"reactivate {AGENCY}"]
    assert show(client, keys["admin"])["active"] is True

    # a restarted issuer sends from the new operator: a credential anchored after the rotation verifies
    _, restarted = issuer_service(home)
    with TestClient(create_app(restarted)) as again:
        bundle = issue_and_anchor(again, restarted, keys["admin"], "换操作员")
    assert verifies(home, tmp_path, bundle)

    governance = ("operator-add", "operator-remove", "deactivate", "reactivate")
    actions = [a for a in audit_actions(client, keys["admin"]) if a[0] in governance]
    assert sorted(a[0] for a in actions) == sorted(governance)  # one each: the retries sent nothing
    assert all(a[1] == key_id(keys["governance"]) and a[2] for a in actions)


def test_a_retried_api_key_create_leaves_one_live_key(api):
    client, _, keys, _ = api
    admin = bearer(keys["admin"])
    first = client.post("/api-keys", json={"scopes": ["read"], "label": "registrar"}, headers=admin)
    assert first.status_code == 201, first.text
    retry = client.post("/api-keys", json={"scopes": ["read"], "label": "registrar"}, headers=admin)
    assert retry.status_code == 409 and retry.json()["keyId"] == first.json()["id"]
    assert [k["id"] for k in client.get("/api-keys", headers=admin).json() if k["label"] == "registrar"] == [
        first.json()["id"]
    ]
    assert client.delete(f"/api-keys/{first.json()['id']}", headers=admin).status_code == 200
    assert client.post("/api-keys", json={"scopes": ["read"], "label": "registrar"}, headers=admin).status_code == 201


def test_governance_manages_an_agencys_api_keys(api):
    """The API's `api-key create --agency`: an agency that lost its admin keys gets one from governance."""
    client, _, keys, _ = api
    gov, path = bearer(keys["governance"]), f"/agencies/{AGENCY}/api-keys"
    assert client.post(path, json={"scopes": ["admin"]}, headers=bearer(keys["admin"])).status_code == 403
    made = client.post(path, json={"scopes": ["admin"], "label": "recovery"}, headers=gov)
    assert made.status_code == 201, made.text
    recovered = made.json()["apiKey"]
    assert client.get("/api-keys", headers=bearer(recovered)).status_code == 200  # a working admin key of AGENCY
    assert (
        client.post(path, json={"scopes": ["admin"], "label": "recovery"}, headers=gov).json()["keyId"]
        == made.json()["id"]
    )
    assert client.post(path, json={"scopes": ["governance"]}, headers=gov).json()["code"] == "INVALID_SCOPE"
    assert [k["id"] for k in client.get(path, headers=gov).json() if k["label"] == "recovery"] == [made.json()["id"]]
    other = client.get("/agencies/zj-hz-civil/api-keys", headers=gov).json()
    assert made.json()["id"] not in {k["id"] for k in other}
    assert client.delete(f"/agencies/zj-hz-civil/api-keys/{made.json()['id']}", headers=gov).status_code == 404
    for _ in range(2):  # a retried revocation answers the same
        assert client.delete(f"{path}/{made.json()['id']}", headers=gov).json() == {
            "id": made.json()["id"],
            "revoked": True,
        }
    assert client.get("/api-keys", headers=bearer(recovered)).status_code == 401
