"""HTTP errors as RFC 9457 problem details (`application/problem+json`), shared by both services.

Every refusal carries a stable `code` a client can branch on, a short `title` and a `detail` naming
what was wrong. Details never echo secrets or request bodies.
"""

from __future__ import annotations

import json

from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, code: str, detail: str, title: str | None = None, **extra):
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.title, self.extra = status, code, detail, title, extra

    def to_json(self) -> dict:
        return {
            "type": f"urn:certledger:problem:{self.code.lower().replace('_', '-')}",
            "title": self.title or self.code.replace("_", " ").capitalize(),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            **self.extra,
        }

    def response(self, headers: dict | None = None) -> Response:
        body = json.dumps(self.to_json(), ensure_ascii=False, default=str).encode("utf-8")
        return Response(body, status_code=self.status, media_type=PROBLEM_JSON, headers=headers)
