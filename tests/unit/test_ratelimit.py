"""Token buckets (an injected clock) and the ASGI guard in front of both services."""

from __future__ import annotations

import asyncio
import json

import pytest

from http_common.http_limits import RequestLimits, by_client_address, limiter_for
from http_common.ratelimit import RateLimiter, retry_after_header


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_key_gets_its_burst_then_the_rate():
    clock = Clock()
    limiter = RateLimiter(2, 3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)  # one token back after 1/rate s
    assert limiter.take("b") == 0.0  # another key is unaffected
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 10  # refills to the burst, never beyond
    assert [limiter.take("a") for _ in range(4)][-2:] == [0.0, pytest.approx(0.5)]


def test_a_refused_request_takes_no_token():
    clock = Clock()
    limiter = RateLimiter(1, 1, clock=clock)
    assert limiter.take("a") == 0.0
    for k in range(5):  # hammering does not push the wait further
        assert limiter.take("a") == pytest.approx(1.0 - 0.1 * k)
        clock.now += 0.1
    clock.now += 0.5
    assert limiter.take("a") == 0.0


def test_memory_is_bounded_and_idle_buckets_go_first():
    clock = Clock()
    limiter = RateLimiter(1, 2, clock=clock, max_keys=3)
    limiter.take("busy"), limiter.take("busy")
    limiter.take("idle-1"), limiter.take("idle-2")
    clock.now += 5  # idle-* are full again; busy too
    limiter.take("busy"), limiter.take("busy")
    limiter.take("new")
    assert len(limiter) == 2 and limiter.take("busy") > 0  # busy kept its empty bucket
    for k in range(10):
        limiter.take(f"flood-{k}")
    assert len(limiter) <= 3


def test_settings_and_retry_after():
    assert limiter_for(0, 10) is None
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    assert [retry_after_header(w) for w in (0.01, 1.0, 1.2, 59.9)] == ["1", "1", "2", "60"]


async def _app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(guard, path="/verify", headers=(), client=("10.0.0.1", 5000), query=b""):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": client,
    }
    asyncio.run(guard(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_guard_answers_429_problem_json_with_retry_after():
    clock = Clock()
    guard = RequestLimits(_app, key_for=by_client_address, limiter=RateLimiter(1, 2, clock=clock))
    assert [_call(guard)[0] for _ in range(2)] == [200, 200]
    status, headers, body = _call(guard)
    assert (status, headers[b"retry-after"], headers[b"content-type"]) == (429, b"1", b"application/problem+json")
    problem = json.loads(body)
    assert (problem["code"], problem["retryAfter"]) == ("RATE_LIMITED", 1)
    assert "client address" in problem["detail"] and "10.0.0.1" not in problem["detail"]
    assert _call(guard, client=("10.0.0.2", 1))[0] == 200  # another address is unaffected
    assert _call(guard, path="/healthz")[0] == 200  # probes are exempt
    clock.now += 1
    assert _call(guard)[0] == 200  # recovered after the window


def test_guard_refuses_long_urls_and_large_headers():
    guard = RequestLimits(_app, key_for=by_client_address, limiter=None, max_url_bytes=100, max_header_bytes=200)
    assert _call(guard, path="/s/" + "a" * 97)[0] == 200
    status, _, body = _call(guard, path="/s/" + "a" * 98)
    assert (status, json.loads(body)["code"]) == (414, "URL_TOO_LONG")
    assert _call(guard, path="/x", query=b"q=" + b"a" * 200)[0] == 414
    status, _, body = _call(guard, headers=[("x-pad", "a" * 200)])
    assert (status, json.loads(body)["code"]) == (431, "HEADERS_TOO_LARGE")


@pytest.mark.parametrize("settings,rate", [("verifier", 5_000), ("issuer", 200)])
def test_default_limits_never_throttle_the_benchmarks(settings, rate):
    """bench_verifier_service.py: ~5,000 requests/s from one address (all on one worker, at worst);
    HTTP issuance: ~200/s with one key. Thirty seconds of that at the defaults: not one refusal.
    Ten times the verifier's figure, though, is refused."""
    from ledger.settings import IssuerSettings
    from verifier.settings import VerifierSettings

    config = VerifierSettings() if settings == "verifier" else IssuerSettings()
    clock = Clock()
    limiter = RateLimiter(config.rate_limit_per_s, config.rate_limit_burst, clock=clock)
    refused = 0
    for _ in range(rate * 30):
        clock.now += 1 / rate
        refused += limiter.take("127.0.0.1") > 0
    assert refused == 0
    if settings == "verifier":
        for _ in range(50_000 * 2):
            clock.now += 1 / 50_000
            refused += limiter.take("127.0.0.1") > 0
        assert refused > 50_000
