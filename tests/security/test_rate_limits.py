"""Rate limits (per API key on the issuer, per client address on the verifier) and request size
limits, against real servers: `certledger serve issuer` as its own process, the verifier under
uvicorn. Limits are set low through the environment/settings so that a handful of requests
crosses them; the defaults are far above what the benchmarks send (see the README)."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest

from certledger.cli import main
from certledger.cli.context import App
from ledger.governance.api_keys import create_api_key
from tests.integration.conftest import degree
from tests.integration.verifier_server import serving, settings_for, start_verifier

EDU = "zj-hz-education"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    """A real issuer process limited to one request per 4 s per key, bursts of 4 (slow enough that a
    loaded machine does not refill a bucket between two requests of a test)."""
    tmp = tmp_path_factory.mktemp("rate-issuer")
    home = tmp / "home"
    for args in (["init", "--port", "0"], ["chain", "up"], ["deploy"]):
        assert main(["--data-dir", str(home), *args]) == 0
    env = {
        "CERTLEDGER_RUN_ANCHORER": "0",
        "CERTLEDGER_RATE_LIMIT_PER_S": "0.25",
        "CERTLEDGER_RATE_LIMIT_BURST": "4",
        "CERTLEDGER_MAX_JSON_BYTES": str(512 * 1024),
    }
    try:
        with (
            serving(home, "issuer", log=tmp / "issuer.log", env=env, timeout_s=60) as server,
            server.client(timeout=30) as client,
        ):
            engine = App(home).engine
            _, governance = create_api_key(engine, None, ["governance"], "rate limits")
            for code in (EDU, "zj-hz-civil"):
                reply = client.post(
                    "/agencies",
                    json={"code": code, "name": code, "types": ["DegreeCertificate"]},
                    headers=_auth(governance),
                )
                assert reply.status_code == 201, reply.text
            yield client, engine, server.process, server.log
    finally:
        main(["--data-dir", str(home), "chain", "down"])


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _assert_429(reply: httpx.Response) -> int:
    assert reply.status_code == 429, reply.text
    assert reply.headers["content-type"].startswith(PROBLEM)
    retry = int(reply.headers["retry-after"])
    assert 1 <= retry <= 4 and reply.json()["code"] == "RATE_LIMITED" and reply.json()["retryAfter"] == retry
    return retry


def test_issuer_limits_each_api_key_on_its_own_and_recovers(issuer):
    client, engine, _, _ = issuer
    _, first = create_api_key(engine, EDU, ["read"], "rate A")
    _, second = create_api_key(engine, EDU, ["read"], "rate B")
    _, other_agency = create_api_key(engine, "zj-hz-civil", ["read"], "rate C")
    assert [client.get("/credentials", headers=_auth(first)).status_code for _ in range(4)] == [200] * 4
    refused = client.get("/credentials", headers=_auth(first))
    retry = _assert_429(refused)
    assert first not in refused.text and first.split("_")[2] not in refused.text  # nothing of the secret
    # The same address with other keys, and with no key at all, is unaffected.
    assert client.get("/credentials", headers=_auth(second)).status_code == 200
    assert client.get("/credentials", headers={"X-API-Key": other_agency}).status_code == 200
    assert client.get("/credentials").status_code == 401
    assert client.get("/healthz").status_code == 200  # probes are not limited
    time.sleep(retry + 0.1)
    assert client.get("/credentials", headers=_auth(first)).status_code == 200


def test_issuer_limits_keyless_floods_per_address(issuer):
    client, _, _, _ = issuer
    statuses = [client.get("/credentials", headers=_auth("clk_nonsense")).status_code for _ in range(6)]
    assert 429 in statuses and set(statuses[: statuses.index(429)]) == {401}, statuses  # guessing keys is throttled
    assert statuses.index(429) >= 2  # after the burst (one request of the address came earlier)


def test_issuer_refuses_oversized_and_deeply_nested_requests_and_stays_up(issuer):
    client, engine, server, log = issuer

    def auth():  # a key per request: this test is about sizes, not rates
        return _auth(create_api_key(engine, EDU, ["issue", "read"], "sizes")[1])

    long_url = client.get("/credentials?type=" + "a" * 9000, headers=auth())
    assert (long_url.status_code, long_url.json()["code"]) == (414, "URL_TOO_LONG")
    big_headers = client.get("/credentials", headers={**auth(), "X-Pad": "a" * 17_000})
    assert (big_headers.status_code, big_headers.json()["code"]) == (431, "HEADERS_TOO_LARGE")
    # 100,000 '[' used to reach the C JSON decoder, whose recursion overflowed the worker's stack.
    deep = client.post(
        "/credentials",
        content=b'{"type": "DegreeCertificate", "subject": ' + b"[" * 100_000,
        headers={**auth(), "content-type": "application/json"},
    )
    assert (deep.status_code, deep.json()["code"]) == (422, "VALIDATION_FAILED"), deep.text
    assert "nested more than 512" in deep.json()["detail"]
    rows = client.post(
        "/credentials/bulk?type=DegreeCertificate",
        content=b"[" * 100_000 + b"\n",
        headers={**auth(), "content-type": "application/x-ndjson"},
    )
    assert rows.status_code in (200, 422), rows.text
    assert "nested more than 512" in rows.text
    huge = client.post(
        "/credentials",
        content=b"{" + b" " * (600 * 1024) + b"}",
        headers={**auth(), "content-type": "application/json"},
    )
    assert (huge.status_code, huge.json()["code"]) == (413, "BODY_TOO_LARGE")
    assert server.poll() is None and client.get("/healthz").status_code == 200, log.read_text()[-3000:]


# ------------------------------------------------------------------------------------- verifier


@pytest.fixture(scope="module")
def verifier(shared_world, tmp_path_factory):
    world = shared_world
    _, bundles = world.anchor(EDU, [world.sign(EDU, degree("限流"))])
    settings = replace(
        settings_for(world, tmp_path_factory.mktemp("rate-verifier")),
        rate_limit_per_s=0.25,
        rate_limit_burst=4,
        max_body_bytes=64 * 1024,
        max_batch_bytes=256 * 1024,
    )
    server = start_verifier(settings)
    try:
        yield server, bundles[0].to_bytes()
    finally:
        server.stop()


def _post(client, path, body):
    return client.post(path, content=body, headers={"Content-Type": "application/json"})


def _from(server, address: str) -> httpx.Client:
    """A client whose connections come from another loopback address (another rate-limit bucket)."""
    return httpx.Client(base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def test_verifier_limits_each_client_address_and_recovers(verifier):
    server, bundle = verifier
    with server.client() as first, _from(server, "127.0.0.2") as second:
        replies = [_post(first, "/verify", bundle) for _ in range(4)]
        assert [r.status_code for r in replies] == [200] * 4 and replies[0].json()["verdict"] == "VALID"
        retry = _assert_429(_post(first, "/verify", bundle))
        _assert_429(_post(first, "/verify/batch", b"[" + bundle + b"]"))  # every endpoint draws on it
        _assert_429(first.get("/"))
        assert first.get("/healthz").status_code == 200
        assert _post(second, "/verify", bundle).status_code == 200  # another address is unaffected
        time.sleep(retry + 0.1)
        assert _post(first, "/verify", bundle).json()["verdict"] == "VALID"


def test_verifier_size_limits_cover_every_endpoint(verifier):
    server, bundle = verifier
    with _from(server, "127.0.0.3") as client, _from(server, "127.0.0.4") as other:
        one = _post(client, "/verify", b"[" + b" " * (65 * 1024) + b"]")
        batch = _post(client, "/verify/batch", b"[" + b" " * (257 * 1024) + b"]")
        assert [(r.status_code, r.json()["code"]) for r in (one, batch)] == [(413, "BODY_TOO_LARGE")] * 2
        url = client.get("/s/" + "a" * 9000)
        headers = client.get("/", headers={"X-Pad": "a" * 17_000})
        assert [(r.status_code, r.json()["code"]) for r in (url, headers)] == [
            (414, "URL_TOO_LONG"),
            (431, "HEADERS_TOO_LARGE"),
        ]
        # GET endpoints never read a body: a large one is not buffered, the answer comes as usual.
        assert client.request("GET", "/healthz", content=b"x" * (8 * 1024 * 1024)).status_code == 200
        deep = _post(other, "/verify", b"[" * 60_000)  # under the body limit, far over the depth
        assert (deep.status_code, deep.json()["code"]) == (400, "NOT_JSON")
