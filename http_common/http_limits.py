"""ASGI guards both services put in front of everything else: request-line and header sizes, and
a rate limit per client key (an API key id on the issuer, a client address on the verifier).

Refusals are problem+json: 414 ``URL_TOO_LONG``, 431 ``HEADERS_TOO_LARGE``, 429 ``RATE_LIMITED``
with ``Retry-After``. The guards run before authentication and routing, so a flood costs a dict
look-up per request, not a database query.
"""

from __future__ import annotations

from collections.abc import Callable

from http_common.problem import Problem
from http_common.ratelimit import RateLimiter, retry_after_header

MAX_URL_BYTES = 8 * 1024  # path + query string; every URL of both APIs is far shorter
MAX_HEADER_BYTES = 16 * 1024  # all header names and values together
EXEMPT_PATHS = frozenset({"/healthz"})  # load balancers' probes come from one address, often


class RequestLimits:
    """``key_for(scope)`` names the bucket a request draws from, ``"<kind>:<id>"`` (None: not limited)."""

    def __init__(
        self,
        app,
        *,
        key_for: Callable[[dict], str | None],
        limiter: RateLimiter | None,
        max_url_bytes: int = MAX_URL_BYTES,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ):
        self.app, self.key_for, self.limiter = app, key_for, limiter
        self.max_url_bytes, self.max_header_bytes = max_url_bytes, max_header_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        problem, headers = self._refusal(scope)
        if problem is not None:
            return await problem.response(headers)(scope, receive, send)
        return await self.app(scope, receive, send)

    def _refusal(self, scope) -> tuple[Problem | None, dict | None]:
        url = len(scope.get("raw_path") or scope["path"].encode("utf-8")) + len(scope.get("query_string", b""))
        if url > self.max_url_bytes:
            return Problem(
                414, "URL_TOO_LONG", f"the URL exceeds {self.max_url_bytes:,} bytes", "The URL is too long"
            ), None
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_header_bytes:
            return Problem(
                431,
                "HEADERS_TOO_LARGE",
                f"the headers exceed {self.max_header_bytes:,} bytes",
                "The request headers are too large",
            ), None
        if self.limiter is None or scope["path"] in EXEMPT_PATHS:
            return None, None
        key = self.key_for(scope)
        wait = self.limiter.take(key) if key is not None else 0.0
        if not wait:
            return None, None
        retry = retry_after_header(wait)
        # The key's kind, never the key: an API key id is not secret, but a client needs no echo.
        return Problem(
            429,
            "RATE_LIMITED",
            f"more than {self.limiter.rate:g} requests per second (burst "
            f"{self.limiter.burst:g}) from this {key.split(':', 1)[0]}; retry after {retry} s",  # type: ignore[union-attr]  # a None key waits 0: returned above
            "Too many requests",
            retryAfter=int(retry),
        ), {"Retry-After": retry}


def client_address(scope) -> str:
    """The peer's address (behind a proxy, run uvicorn with --proxy-headers so that this is the
    client's, not the proxy's)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def by_client_address(scope) -> str:
    """The bucket of a request limited per client address (the verifier; the issuer without a key)."""
    return "client address:" + client_address(scope)


def limiter_for(rate_per_s: float, burst: int) -> RateLimiter | None:
    """The configured limiter; a rate of 0 turns rate limiting off."""
    return RateLimiter(rate_per_s, max(1, burst)) if rate_per_s > 0 else None


__all__ = ["RequestLimits", "by_client_address", "client_address", "limiter_for", "MAX_URL_BYTES", "MAX_HEADER_BYTES"]
