"""The verifier service over real HTTP (uvicorn on a loopback port) against a real anvil: reports,
batches, shared content, fresh status, on-demand catch-up, and bad input that is always a clear
4xx problem (never a 500). Also: no share key ever reaches the logs."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest

from ledger.chain import Reason
from ledger.content import LocalContentStore
from tests.integration.conftest import degree
from tests.integration.verifier_server import settings_for, share, start_verifier

pytestmark = pytest.mark.integration

EDU = "zj-hz-education"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def env(shared_world, tmp_path_factory):
    world = shared_world
    tmp = tmp_path_factory.mktemp("verifier-service")
    batch, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"服务{i}")) for i in range(6)])
    world.agencies[EDU].ledger.revoke(batch.digests[5], batch.root, batch.tree.proof(5), Reason.SUPERSEDED)
    server = start_verifier(settings_for(world, tmp))
    store = LocalContentStore(server.settings.content_dir)
    with server.client() as client:
        yield {"world": world, "server": server, "client": client, "batch": batch, "bundles": bundles, "store": store}
    server.stop()


def post(client, path, body, **kw):
    return client.post(path, content=body, headers={"Content-Type": "application/json"}, **kw)


def test_valid_bundle_gives_the_report(env):
    r = post(env["client"], "/verify", env["bundles"][0].to_bytes())
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    report = r.json()
    assert report["verdict"] == "VALID"
    assert [c["name"] for c in report["checks"]] == ["format", "integrity", "anchor", "issuer", "status", "validity"]
    edu = env["world"].agencies[EDU]
    assert report["credential"]["issuer"] == {
        "id": edu.signing_key.public_key.did,  # v2: the signing key's did:key
        "name": edu.issuer.name,  # as the credential says
        "agency": {"code": EDU, "name": "杭州市教育局 Hangzhou Education Bureau"},  # the on-chain name
    }
    assert all(c["messages"]["zh-CN"] for c in report["checks"])


def test_wrong_content_is_a_200_invalid_report_not_an_error(env):
    tampered = json.loads(env["bundles"][1].to_bytes())
    tampered["credential"]["credentialSubject"]["name"] = "李四"
    r = post(env["client"], "/verify", json.dumps(tampered, ensure_ascii=False).encode())
    assert r.status_code == 200
    report = r.json()
    assert report["verdict"] == "INVALID"
    failed = [(c["name"], c["code"]) for c in report["checks"] if c["status"] == "INVALID"]
    assert ("integrity", "INVALID_SIGNATURE") in failed and ("anchor", "DIGEST_MISMATCH") in failed
    # a bundle with an unknown field or version is still a bundle: a report, not a refusal
    for version in (1, 3):  # a v1 bundle, or a future one
        odd = json.loads(env["bundles"][1].to_bytes())
        odd["version"] = version
        r = post(env["client"], "/verify", json.dumps(odd).encode())
        assert r.status_code == 200 and r.json()["checks"][0]["code"] == "UNSUPPORTED_VERSION"
        assert r.json()["verdict"] == "INVALID"
    odd = json.loads(env["bundles"][1].to_bytes())
    odd["extra"] = True
    r = post(env["client"], "/verify", json.dumps(odd).encode())
    assert r.status_code == 200 and r.json()["checks"][0]["code"] == "BUNDLE_MALFORMED"


def test_revoked_bundle_says_revoked_with_reason(env):
    report = post(env["client"], "/verify", env["bundles"][5].to_bytes()).json()
    status = report["checks"][4]
    assert (report["verdict"], status["code"]) == ("INVALID", "REVOKED")
    assert "superseded" in status["message"] and "已被替代" in status["messages"]["zh-CN"]


def test_a_revocation_reaches_the_service_within_about_a_second(env):
    batch, bundle = env["batch"], env["bundles"][2]
    assert post(env["client"], "/verify", bundle.to_bytes()).json()["verdict"] == "VALID"
    env["world"].agencies[EDU].ledger.suspend(batch.digests[2], batch.root, batch.tree.proof(2), Reason.HOLDER_REQUEST)
    mined = time.monotonic()
    while True:
        report = post(env["client"], "/verify", bundle.to_bytes()).json()
        if report["checks"][4]["code"] == "SUSPENDED":
            break
        assert time.monotonic() - mined < 5, "the suspension was not seen within 5 s"
        time.sleep(0.05)
    assert time.monotonic() - mined < 2.0  # poll interval 0.25 s here (0.5 s by default)


def test_a_credential_anchored_a_moment_ago_verifies_at_once(env):
    world = env["world"]
    _, fresh = world.anchor(EDU, [world.sign(EDU, degree("刚刚"))])
    report = post(env["client"], "/verify", fresh[0].to_bytes()).json()  # no waiting for the poll
    assert report["verdict"] == "VALID", report


def test_a_flood_of_unknown_roots_costs_the_chain_a_few_calls_a_second(env):
    world = env["world"]
    source = env["server"].app.state.components.index_service.indexer.source(world.chain_id)
    from ledger.protocol.batch import ClosedBatch

    unknown = ClosedBatch.close([world.sign(EDU, degree("无人存证"))]).bundle(0, world.deployment, "0x" + "cd" * 32, 1)
    before, started = source.calls, time.monotonic()
    for _ in range(15):
        report = post(env["client"], "/verify", unknown.to_bytes()).json()
        assert report["checks"][2]["code"] == "ROOT_NOT_ANCHORED"
    elapsed = time.monotonic() - started
    rounds = elapsed / 0.2 + elapsed / 0.25 + 2  # catch-ups at most every 0.2 s, plus the poll
    assert source.calls - before <= rounds * 6, (source.calls - before, elapsed)
    assert post(env["client"], "/verify", env["bundles"][0].to_bytes()).json()["verdict"] == "VALID"


def test_batch_reports_in_order(env):
    b = env["bundles"]
    tampered = json.loads(b[1].to_bytes())
    tampered["anchor"]["root"] = "0x" + "ab" * 32
    body = "[" + ",".join([b[0].dumps(), json.dumps(tampered), "42", b[5].dumps(), b[3].dumps(indent=None)]) + "]"
    r = post(env["client"], "/verify/batch", body.encode())
    assert r.status_code == 200
    reports = r.json()
    assert [x["verdict"] for x in reports] == ["VALID", "INVALID", "INVALID", "INVALID", "VALID"]
    assert reports[1]["checks"][2]["code"] == "MERKLE_PATH_INVALID"
    assert reports[2]["checks"][0]["code"] == "BUNDLE_MALFORMED"
    assert reports[3]["checks"][4]["code"] == "REVOKED"
    assert post(env["client"], "/verify/batch", b"[]").json() == []


def test_batch_of_a_thousand_through_the_process_pool(env, shared_world, tmp_path):
    """With worker processes, a batch is verified in parallel and still in order, and the reports
    are exactly those of the single-process path, whatever the body holds (cut candidates
    ``}, {`` inside strings and between nested objects, odd whitespace)."""
    world = shared_world
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree(f"批{i}")) for i in range(300)])
    server = start_verifier(settings_for(world, tmp_path, batch_processes=2))
    try:
        texts = [x.dumps(indent=None) for x in bundles] * 3 + [env["bundles"][5].dumps()]
        with server.client() as client:
            r = post(client, "/verify/batch", ("[" + ",".join(texts) + "]").encode())
            reports = r.json()
            pool = server.app.state.components.batch_pool
            assert (pool.split_there, pool.split_here) == (1, 0)  # the workers split it themselves
            assert len(reports) == 901
            assert all(x["verdict"] == "VALID" for x in reports[:900])
            assert reports[900]["checks"][4]["code"] == "REVOKED"
            ids = [x["credential"]["id"] for x in reports[:300]]
            assert ids == [x.credential["id"] for x in bundles]

            tricky = json.loads(bundles[7].dumps())
            tricky["credential"]["credentialSubject"]["name"] = '}, {"type": "CertLedgerBundle"}, {'
            nested = {"type": "CertLedgerBundle", "version": 1, "x": [{"a": 1}, {"b": [{}, {}]}, {"c": "}, {"}]}
            pieces = []
            for i, t in enumerate(texts[:600]):
                pieces.append(t)
                if i % 50 == 0:
                    pieces += [json.dumps(tricky, ensure_ascii=False), json.dumps(nested), "7", '"}, {"']
            for body in ("[" + ",".join(pieces) + "]", "[ \n" + " ,\n\t ".join(pieces) + "\n ]"):
                parallel = post(client, "/verify/batch", body.encode())
                single = post(env["client"], "/verify/batch", body.encode())
                assert parallel.status_code == single.status_code == 200
                assert parallel.json() == single.json()
            for bad in (
                "[" + ",".join(pieces) + ",]",
                "[" + ",".join(pieces) + "] x",
                "[" + ",".join(pieces),
                "[" + ",".join(pieces[:300]) + ",[" + "[" * 3000 + "]" * 3000 + "]," + ",".join(pieces[300:]) + "]",
            ):
                parallel = post(client, "/verify/batch", bad.encode())
                single = post(env["client"], "/verify/batch", bad.encode())
                assert parallel.status_code == single.status_code == 400
                assert parallel.json()["code"] == single.json()["code"] == "NOT_JSON"
    finally:
        server.stop()


def test_fast_report_encoding_is_exactly_the_library_json(env):
    """report_json caches each check's rendering; the text must be json.dumps(report.to_json())."""
    from ledger.verification import verify
    from verifier.service import report_json

    world, server = env["world"], env["server"]
    reader = server.app.state.service.reader
    samples = [b.to_bytes() for b in env["bundles"]]
    tampered = json.loads(samples[0])
    tampered["credential"]["credentialSubject"]["name"] = "李四"
    odd = json.loads(samples[0])
    odd["anchor"]["path"] = []
    samples += [json.dumps(tampered).encode(), json.dumps(odd).encode(), b"[]", b'{"type": "CertLedgerBundle"}']
    for raw in samples * 2:  # the second round is served from the cache
        report = verify(raw, world.trust(), reader)
        assert report_json(report) == json.dumps(report.to_json(), ensure_ascii=False)


BAD = {
    "not-json": ("/verify", b"this is not json", 400, "NOT_JSON"),
    "not-utf8": ("/verify", b"\xff\xfe{}", 400, "NOT_JSON"),
    "bom": ("/verify", "\ufeff{}".encode(), 400, "NOT_JSON"),
    "truncated": ("/verify", b'{"type": "CertLedgerBundle", "version": 1, "cred', 400, "NOT_JSON"),
    "empty": ("/verify", b"", 400, "EMPTY_BODY"),
    "whitespace": ("/verify", b"  \n ", 400, "EMPTY_BODY"),
    "array": ("/verify", b"[]", 422, "NOT_A_BUNDLE"),
    "number": ("/verify", b"12", 422, "NOT_A_BUNDLE"),
    "null": ("/verify", b"null", 422, "NOT_A_BUNDLE"),
    "other-object": ("/verify", b'{"hello": "world"}', 422, "NOT_A_BUNDLE"),
    # 100,000 levels would crash the decoder (web3's imports raise the recursion limit): refused first
    "deep": ("/verify", b"[" * 100_000, 400, "NOT_JSON"),
    "deep-in-strings-is-fine": ("/verify", b'{"x": "' + b"[" * 5_000 + b'"}', 422, "NOT_A_BUNDLE"),
    "batch-deep": ("/verify/batch", b"[" * 100_000, 400, "NOT_JSON"),
    "batch-deep-element": ("/verify/batch", b"[{}, " + b"[" * 2_000 + b"]" * 2_000 + b"]", 400, "NOT_JSON"),
    "batch-object": ("/verify/batch", b"{}", 422, "NOT_AN_ARRAY"),
    "batch-not-json": ("/verify/batch", b"[1, 2", 400, "NOT_JSON"),
    "batch-trailing": ("/verify/batch", b"[1] x", 400, "NOT_JSON"),
    "batch-empty": ("/verify/batch", b"", 400, "EMPTY_BODY"),
    "batch-too-many": ("/verify/batch", ("[" + ",".join(["{}"] * 10_001) + "]").encode(), 413, "BATCH_TOO_LARGE"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_a_clear_4xx_problem(env, name):
    path, body, status, code = BAD[name]
    r = post(env["client"], path, body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["title"] and problem["detail"] and problem["type"].startswith("urn:certledger:problem:")


def test_a_bare_credential_is_told_apart(env):
    credential = json.loads(env["bundles"][0].to_bytes())["credential"]
    r = post(env["client"], "/verify", json.dumps(credential).encode())
    assert (r.status_code, r.json()["code"]) == (422, "NOT_A_BUNDLE")
    assert "bare credential" in r.json()["detail"]


def test_a_50_mb_upload_is_refused_with_413(env):
    big = b'{"type": "CertLedgerBundle", "pad": "' + b"x" * 50_000_000 + b'"}'
    for path in ("/verify", "/verify/batch"):
        r = post(env["client"], path, big)
        assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (413, PROBLEM, "BODY_TOO_LARGE")

    # without a Content-Length (chunked), the limit holds as well
    def chunks():
        for _ in range(60):
            yield b"x" * 1_000_000

    r = env["client"].post("/verify", content=chunks(), headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "BODY_TOO_LARGE")
    # and the service is fine afterwards
    assert post(env["client"], "/verify", env["bundles"][0].to_bytes()).json()["verdict"] == "VALID"


def test_other_refusals(env):
    client = env["client"]
    r = client.post("/verify", content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (r.status_code, r.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    r = client.get("/verify")
    assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (405, PROBLEM, "METHOD_NOT_ALLOWED")
    r = client.get("/no/such/page")
    assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (404, PROBLEM, "NOT_FOUND")
    for path in (
        "/content/not-a-cid",
        "/s/not-a-cid",
        "/content/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
        "/content/BAFKREIGH2AKISCAILDCQABSYG3DFR6CHU3FGPREGIYMSCK7E7AQA4S52ZY",
    ):
        r = client.get(path)
        assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (400, PROBLEM, "CID_MALFORMED"), path
    unknown = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    r = client.get(f"/content/{unknown}")
    assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (404, PROBLEM, "CONTENT_NOT_FOUND")


def test_shared_content_is_served_immutable(env):
    link, cid, key = share(env["store"], env["bundles"][0], env["server"].url)
    client = env["client"]
    r = client.get(f"/content/{cid}")
    assert r.status_code == 200
    assert r.content == env["store"].get(cid)
    assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
    assert r.headers["etag"] == f'"{cid}"'
    assert client.get(f"/content/{cid}", headers={"If-None-Match": f'"{cid}"'}).status_code == 304
    page = client.get(f"/s/{cid}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get("/").text == page.text


def test_cors_is_off_by_default_and_follows_the_setting(env, shared_world, tmp_path):
    r = env["client"].post(
        "/verify",
        content=env["bundles"][0].to_bytes(),
        headers={"Content-Type": "application/json", "Origin": "https://bank.example"},
    )
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    preflight = env["client"].options(
        "/verify", headers={"Origin": "https://bank.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    server = start_verifier(settings_for(shared_world, tmp_path, cors_origins=("https://bank.example",)))
    try:
        with server.client() as client:
            preflight = client.options(
                "/verify/batch",
                headers={
                    "Origin": "https://bank.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert preflight.headers["access-control-allow-origin"] == "https://bank.example"
            for path, body in (("/verify/batch", b"[]"), ("/verify", env["bundles"][0].to_bytes())):
                r = client.post(
                    path, content=body, headers={"Origin": "https://bank.example", "Content-Type": "application/json"}
                )
                assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://bank.example"
            other = client.options(
                "/verify/batch", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
            )
            assert other.headers.get("access-control-allow-origin") != "https://evil.example"
    finally:
        server.stop()


def test_content_from_an_ipfs_node(env, shared_world, ipfs_daemon, tmp_path):
    """With an IPFS node as the content store, /content serves what was added to the node."""
    from ledger.content.ipfs_store import IpfsContentStore

    server = start_verifier(settings_for(shared_world, tmp_path, content_dir=None, ipfs_api=ipfs_daemon.api_url))
    try:
        link, cid, key = share(IpfsContentStore(ipfs_daemon.api_url), env["bundles"][0], server.url)
        with server.client() as client:
            r = client.get(f"/content/{cid}")
            assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
            from ledger.content import decrypt_share

            assert decrypt_share(r.content, key) == env["bundles"][0].to_bytes()
            missing = client.get("/content/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
            assert (missing.status_code, missing.json()["code"]) == (404, "CONTENT_NOT_FOUND")
            assert client.get("/healthz").json()["contentStore"] == "IpfsContentStore"
    finally:
        server.stop()


def test_healthz(env):
    r = env["client"].get("/healthz")
    assert r.status_code == 200
    health = r.json()
    assert health["status"] == "ok" and health["index"][0]["ready"] and health["contentStore"] == "LocalContentStore"


def key_forms(key: bytes) -> list[str]:
    return [
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        base64.b64encode(key).decode().rstrip("="),
        key.hex(),
        base64.urlsafe_b64encode(key).decode().rstrip("=")[:20],
    ]


class Capture(logging.Handler):
    """Every log record of the server side (the test's own HTTP client, which does know the links
    it was given, logs under httpx/httpcore: not the server's)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if not record.name.startswith(("httpx", "httpcore")):
            self.lines.append(self.format(record))


LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "verifier", "verifier.app", "verifier.indexer")


@pytest.fixture
def captured_logs():
    capture = Capture()
    levels = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.DEBUG if name.startswith("verifier") else logging.INFO)
        logger.addHandler(capture)
    yield capture
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(capture)
        logging.getLogger(name).setLevel(levels[name])


def test_share_keys_never_reach_the_logs(env, captured_logs, capfd):
    link, cid, key = share(env["store"], env["bundles"][1], env["server"].url)
    client = env["client"]
    encoded = link.split("#k=")[1]
    # What browsers and well-behaved clients send, and what careless ones might.
    paths = [
        f"/s/{cid}",
        f"/content/{cid}",
        f"/s/{cid}%23k={encoded}",
        f"/s/{cid}?k={encoded}",
        f"/content/{cid}%23k={encoded}",
        f"/content/{cid}?k={encoded}",
        f"/s/{cid}/%23k%3D{encoded}",
        f"/nothing?k={encoded}",
        f"/static/app.js?k={encoded}",
    ]
    for path in paths:
        client.get(path)
    client.get(link)  # httpx, like a browser, never sends the fragment
    post(client, "/verify", b"not json " + encoded.encode())
    time.sleep(0.3)
    out, err = capfd.readouterr()
    text = "\n".join(captured_logs.lines) + out + err
    assert f"/s/{cid}" in text and "GET" in text  # the access log was captured
    for form in key_forms(key):
        assert form not in text
