"""The agencies' service (FastAPI): thin routes over ledger.issuance.

Every write is authenticated (an API key of the agency, `Authorization: Bearer clk_…`) and acts
only on the caller's agency; governance endpoints need a governance key. Errors are
`application/problem+json` with stable codes; bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from http_common.access_log import install_access_log_redaction
from http_common.http_limits import RequestLimits, limiter_for
from http_common.metrics import CONTENT_TYPE_LATEST, RequestMetrics, exposition
from http_common.openapi_problems import document_problems, problem_responses
from http_common.problem import Problem
from issuer_api.deps import scope
from issuer_api.errors import problem_for
from issuer_api.limits import JsonDepthGuard, api_key_or_address
from issuer_api.routes import admin, agency_keys, credentials, governance_admin, sharing, status_lists, vc_api
from issuer_api.service import IssuerService
from ledger.chain import ChainError
from ledger.content.store import ContentStoreError
from ledger.governance.api_keys import GOVERNANCE_SCOPE, Principal
from ledger.issuance import IssuanceError
from ledger.issuance.metrics import IssuanceCollector
from ledger.protocol.errors import ValidationError
from ledger.storage.db import database_unavailable

log = logging.getLogger("issuer_api")


def create_app(service: IssuerService) -> FastAPI:
    install_access_log_redaction()  # no API key or share key from a URL in the access log

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        yield
        service.stop()

    app = FastAPI(
        title="CertLedger issuer API",
        version="1",
        lifespan=lifespan,
        description="Issue, anchor, share, revoke and audit an agency's credentials.",
    )
    app.state.service = service
    document_problems(app, every_operation=(414, 429, 431, 503))  # RequestLimits', a database outage
    app.add_middleware(JsonDepthGuard)  # inside BodyLimit, which caps what it buffers
    app.add_middleware(
        BodyLimit, json_limit=service.settings.max_json_bytes, bulk_limit=service.settings.max_body_bytes
    )
    app.add_middleware(
        RequestLimits,
        key_for=api_key_or_address,
        limiter=limiter_for(service.settings.rate_limit_per_s, service.settings.rate_limit_burst),
    )  # floods cost least
    app.add_middleware(RequestMetrics)  # outermost: every answer's latency, refusals included
    for router in (
        vc_api.router,
        credentials.router,
        sharing.router,
        admin.router,
        agency_keys.router,
        governance_admin.router,
        status_lists.router,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz():
        """Counts waiting, the anchoring worker, and what anchoring waits for: `anchoring.waitingFor` is
        `anchorer` (none runs), `chain` (the node does not answer), `lease` (another worker holds the
        anchoring lease, e.g. one killed a moment ago: `leaseSecondsLeft` until it lapses) or null."""
        from ledger.issuance import anchoring_wait, pending_work

        anchorer = service.anchorer_health()
        worker = anchorer.get("worker") if anchorer.get("running") else None
        return {
            "ok": True,
            **pending_work(service.ctx),
            "sharesWaiting": service.shares.pending_count(),
            "anchorer": anchorer,
            "anchoring": anchoring_wait(service.ctx, worker, anchorer.get("chainReachable")),
        }

    collector = IssuanceCollector(
        service.ctx,
        service.shares.content,
        anchorer_running=lambda: bool(service.anchorer_health().get("running")),
    )

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=PlainTextResponse,
        responses={
            200: {"description": "The Prometheus text format, version 0.0.4"},
            **problem_responses(401, 403),
        },
    )
    def metrics(_: Principal = Depends(scope(GOVERNANCE_SCOPE))):
        """Prometheus metrics (docs/operations.md, Monitoring), for a governance key: the counts are
        per agency, every agency's, which no agency's key may read. Scrape it with the key as a bearer
        token (Prometheus ``authorization: {credentials_file: …}``)."""
        return Response(exposition(collector), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem):
        return exc.response()

    @app.exception_handler(ValidationError)
    @app.exception_handler(IssuanceError)
    async def _refused(_: Request, exc: Exception):
        return problem_for(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body", "reason": e["msg"]}
            for e in exc.errors()
        ]
        return Problem(
            422,
            "VALIDATION_FAILED",
            "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5]),
            "The request is malformed",
            errors=errors,
        ).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        codes = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        return Problem(exc.status_code, codes.get(exc.status_code, "HTTP_ERROR"), str(exc.detail)).response()

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError):
        if not database_unavailable(exc):
            raise exc  # a bug, not an outage: the server's 500
        log.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
        return Problem(
            503,
            "DATABASE_UNAVAILABLE",
            "the database is not reachable now; send the same request again (with the same Idempotency-Key) later",
            "Try again later",
        ).response(headers={"Retry-After": "2"})

    @app.exception_handler(ChainError)
    @app.exception_handler(ContentStoreError)
    async def _upstream(_: Request, exc: Exception):
        log.warning("upstream failure: %s", exc)
        return Problem(503, "UPSTREAM_UNAVAILABLE", f"{type(exc).__name__}: {exc}", "Try again later").response(
            headers={"Retry-After": "5"}
        )

    return app


class BodyLimit:
    """413 before reading past the limit: bulk uploads may be large, everything else is small."""

    def __init__(self, app, json_limit: int, bulk_limit: int):
        self.app, self.json_limit, self.bulk_limit = app, json_limit, bulk_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE"):
            return await self.app(scope, receive, send)
        limit = self.bulk_limit if scope["path"].endswith("/bulk") else self.json_limit
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(limit, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(limit, send)


class _TooLarge(Exception):
    pass


async def _too_large(limit: int, send) -> None:
    response = Problem(413, "BODY_TOO_LARGE", f"the body exceeds {limit} bytes", "The body is too large").response()
    await response({"type": "http"}, None, send)  # type: ignore[arg-type]  # a Response never calls receive
