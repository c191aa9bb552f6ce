"""The issuer's request guards: a rate limit per API key (per client address for requests without
one), URL and header sizes (``http_common.http_limits``), and the nesting depth of JSON bodies."""

from __future__ import annotations

import re

from http_common.http_limits import by_client_address
from http_common.problem import Problem
from ledger.protocol.json_depth import MAX_DEPTH, too_deep

# The key's id only (`clk_<12 hex>`): the bucket is chosen before the key is checked, and the
# secret is never kept. A made-up id gets a bucket too; authentication then refuses it.
_KEY_ID = re.compile(rb"(?:bearer\s+)?(clk_[0-9a-f]{12})_", re.IGNORECASE)


def api_key_or_address(scope) -> str:
    headers = dict(scope["headers"])
    for name in (b"authorization", b"x-api-key"):
        match = _KEY_ID.match(headers.get(name, b"").strip())
        if match:
            return "API key:" + match.group(1).decode("ascii").lower()
    return by_client_address(scope)


class JsonDepthGuard:
    """Refuse a JSON body nested deeper than ``MAX_DEPTH`` before FastAPI decodes it: the decoder
    recurses in C and web3 lifts the recursion limit, so such a body would crash the worker.
    Install it inside ``BodyLimit``, which caps what is buffered here. Bulk uploads are parsed
    row by row by the library, which checks each row itself."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] not in ("POST", "PUT", "PATCH")
            or scope["path"].endswith("/bulk")
        ):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if too_deep(body):
            problem = Problem(
                422,
                "VALIDATION_FAILED",
                f"body: nested more than {MAX_DEPTH} levels deep",
                "The request is malformed",
                errors=[{"field": "body", "reason": f"nested more than {MAX_DEPTH} levels deep"}],
            )
            return await problem.response()(scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
