"""The verifier service (FastAPI): thin routes over ``verifier.service``.

=========================  ===========================================================================
``POST /verify``           a bundle's JSON -> the report (``Report.to_json()``); 200 even when INVALID
``POST /verify/batch``     a JSON array of up to 10,000 bundles -> the reports, in order
``GET /s/{cid}``           the share page (the key stays in the link's fragment, in the browser)
``GET /content/{cid}``     the encrypted share from the content store, cacheable forever
``GET /``                  the page: drop a bundle, paste a share link, upload a QR code
``GET /wallet``            the citizen's wallet page, its service worker and manifest (``verifier.wallet``)
``GET /healthz``           the index's progress and freshness (503 while it cannot vouch for status)
``GET /metrics``           Prometheus metrics: verdicts, latency, reachability (public)
``POST /credentials/verify``    the W3C VC API: a credential or a bundle (``verifier.vc_api``)
``POST /presentations/verify``  the W3C VC API: a presentation and its credentials
=========================  ===========================================================================

Bad input gets ``application/problem+json`` with a stable ``code`` (``verifier.problems``), never a
500. Build it with :func:`create_app` (settings in hand) or :func:`app_from_env` (uvicorn workers).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

from http_common.access_log import install_access_log_redaction
from http_common.http_limits import RequestLimits, by_client_address, limiter_for
from http_common.metrics import CONTENT_TYPE_LATEST, RequestMetrics, exposition
from http_common.openapi_problems import document_problems
from http_common.problem import Problem as AnyProblem
from ledger.verification.metrics import VerifierCollector, count_report, count_report_texts
from verifier import openapi_docs as docs
from verifier import transparency_pages
from verifier.problems import Problem
from verifier.service import VerifierService, check_cid, report_json
from verifier.settings import VerifierSettings, settings_from_env
from verifier.wallet import router as wallet_router

log = logging.getLogger("verifier.app")

STATIC_DIR = Path(__file__).parent / "static"
DRAIN_LIMIT = 128 * 1024 * 1024  # read (and drop) an oversized body up to this, so the client sees the 413
IMMUTABLE = "public, max-age=31536000, immutable"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
}
_JSON_TYPES = ("", "application/json", "text/plain", "application/octet-stream")


class _Components:
    """What the lifespan starts and stops: the index, its poll thread, the batch pool."""

    def __init__(self):
        self.index_service = None
        self.batch_pool = None
        self.engine = None


def create_app(
    settings: VerifierSettings,
    *,
    reader=None,
    content_store=None,
    start_indexer: bool = True,
    use_batch_pool: bool = True,
) -> FastAPI:
    """The service. ``reader`` replaces the chain index (tests); ``content_store`` the configured store."""
    install_access_log_redaction()
    parts = _Components()
    if content_store is None:
        content_store = _content_store(settings)
    catch_up = None
    if reader is None:
        from verifier.index_db import make_index_engine
        from verifier.indexer import IndexedChainReader, Indexer, IndexLock, IndexService, lock_path_for

        parts.engine = make_index_engine(settings.database_url)
        reader = IndexedChainReader(
            parts.engine,
            settings.trust_roots,
            confirmations=settings.confirmations,
            max_staleness_s=settings.max_staleness_s,
        )
        indexer = Indexer(
            parts.engine,
            settings.trust_roots,
            settings.rpc_urls,
            reorg_window=settings.reorg_window,
            log_range=settings.log_range,
            rpc_timeout_s=settings.rpc_timeout_s,
        )
        parts.index_service = IndexService(
            indexer, reader, IndexLock(lock_path_for(settings.database_url)), settings.poll_interval_s
        )
        catch_up = parts.index_service.catch_up
        if use_batch_pool and settings.effective_batch_processes > 1:
            from verifier.batch import BatchPool

            parts.batch_pool = BatchPool(settings)
    service = VerifierService(
        settings.trust(),
        reader,
        content_store=content_store,
        catch_up=catch_up,
        batch_pool=parts.batch_pool,
        max_batch_items=settings.max_batch_items,
    )
    from ledger.verification.status_list_fetch import StatusListFetcher

    status_lists = StatusListFetcher()
    page = _page(settings.root_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if parts.index_service is not None and start_indexer:
            # Index before serving (bounded): the first reports should not say "not ready".
            await run_in_threadpool(parts.index_service.tick, True, 10.0)
            parts.index_service.start()
        if parts.batch_pool is not None:
            threading.Thread(target=_quietly(lambda: parts.batch_pool.warm(delay_s=3.0)), daemon=True).start()
        yield
        if parts.index_service is not None:
            parts.index_service.stop()
        if parts.batch_pool is not None:
            parts.batch_pool.close()
        status_lists.close()

    app = FastAPI(
        title="CertLedger verifier",
        lifespan=lifespan,
        root_path=settings.root_path,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.service, app.state.settings, app.state.components = service, settings, parts
    app.add_middleware(_SecurityHeaders)
    _install_error_handlers(app)
    document_problems(app, every_operation=(414, 429, 431))  # RequestLimits' refusals

    # POST /verify and the VC API routes are answered by plain ASGI endpoints in front of the app
    # (the hot path: no routing, no dependency solving); they are declared here for the OpenAPI
    # document, and a request that reached one of these routes would get the same answer.
    async def served_in_front(request: Request, answer) -> Response:
        body = await request_body(request, settings.max_body_bytes)
        status, payload, media_type, headers = await answer(body)
        return Response(
            payload,
            status_code=status,
            media_type=media_type.decode(),
            headers={k.decode(): v.decode() for k, v in headers},
        )

    @app.post("/verify", **docs.VERIFY)
    async def verify_one(request: Request) -> Response:
        """Documented here; served by :class:`_VerifyEndpoint` in front of the app (the hot path)."""
        return await served_in_front(request, lambda body: verify_answer(service, body))

    @app.post("/verify/batch", **docs.VERIFY_BATCH)
    async def verify_batch(request: Request) -> Response:
        t0 = time.perf_counter()
        body = await request_body(request, settings.max_batch_bytes)
        t1 = time.perf_counter()
        reports = await run_in_threadpool(service.verify_batch, body)
        del body
        count_report_texts(reports, "batch")
        t2 = time.perf_counter()
        payload = ("[" + ",".join(reports) + "]").encode("utf-8")
        t3 = time.perf_counter()
        timing = ", ".join(
            f"{name};dur={ms:.1f}"
            for name, ms in (("read", (t1 - t0) * 1e3), ("verify", (t2 - t1) * 1e3), ("encode", (t3 - t2) * 1e3))
        )
        return Response(payload, media_type="application/json", headers={"Server-Timing": timing})

    from verifier import vc_api_openapi as vc_docs
    from verifier.vc_api_endpoint import CREDENTIALS, PRESENTATIONS, VcApiEndpoint, answer

    @app.post("/credentials/verify", **vc_docs.VERIFY_CREDENTIAL)
    async def vc_verify_credential(request: Request) -> Response:
        return await served_in_front(request, lambda body: answer(CREDENTIALS, body, service, status_lists))

    @app.post("/presentations/verify", **vc_docs.VERIFY_PRESENTATION)
    async def vc_verify_presentation(request: Request) -> Response:
        return await served_in_front(request, lambda body: answer(PRESENTATIONS, body, service, status_lists))

    @app.post("/render/pdf", **docs.RENDER_PDF)
    async def render_pdf(
        request: Request,
        lang: str = Query("en", pattern="^(en|zh)$"),
        reveal: bool = False,
        tz: int = Query(0, ge=-840, le=840, description="The reader's UTC offset in minutes (UTC+8: 480)"),
    ) -> Response:
        """The printable certificate of the page's "Print / PDF" button: the bundle is verified, then
        laid out as `certledger render --pdf` does. The QR code points at this verifier's page, where
        the file can be uploaded: the page never sends a share link, whose key stays in the browser."""
        body = await request_body(request, settings.max_body_bytes)
        report = await _verify_async(service, body)
        credential = json.loads(body).get("credential")  # a bundle: verify_bytes refused anything else
        if not isinstance(credential, dict):
            raise Problem(422, "NOT_A_BUNDLE", "the bundle has no credential object to print")
        from ledger.verification.document import certificate_pdf

        pdf = await run_in_threadpool(
            lambda: certificate_pdf(
                credential,
                report.to_json("zh-CN" if lang == "zh" else "en"),
                lang=lang,
                reveal=reveal,
                verifier_url=str(request.base_url).rstrip("/"),
                tz_offset_minutes=tz,
            )
        )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="certificate.pdf"', "Cache-Control": "no-store"},
        )

    @app.get("/content/{cid}", **docs.CONTENT)
    async def content(cid: str, request: Request) -> Response:
        check_cid(cid)
        etag = f'"{cid}"'
        headers = {"Cache-Control": IMMUTABLE, "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        data = await run_in_threadpool(service.content, cid)
        return Response(data, media_type="application/json", headers=headers)

    @app.get("/s/{cid}", response_class=HTMLResponse, **docs.SHARE_PAGE)
    async def share_page(cid: str) -> Response:
        check_cid(cid)
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/", response_class=HTMLResponse, **docs.INDEX_PAGE)
    async def index_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/healthz", **docs.HEALTHZ)
    async def healthz() -> Response:
        index = reader.state() if hasattr(reader, "state") else []
        ready = all(d.get("ready") for d in index)
        indexer = parts.index_service
        return _json(
            {
                "status": "ok" if ready else "degraded",
                "index": index,
                "indexerError": indexer.last_error if indexer else None,
                "contentStore": type(content_store).__name__ if content_store else None,
            },
            status=200 if ready else 503,
        )

    collector = VerifierCollector(settings.rpc_urls, content_store, parts.engine)

    @app.get("/metrics", response_class=PlainTextResponse, **docs.METRICS)
    def metrics() -> Response:  # a plain function: the probes block, so FastAPI runs it in a thread
        return Response(exposition(collector), media_type=CONTENT_TYPE_LATEST)

    app.include_router(wallet_router)  # GET /wallet, its service worker and manifest (verifier.wallet)
    app.include_router(transparency_pages.router)  # the public transparency pages and API
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(_VerifyEndpoint, service=service, settings=settings)  # before the framework: the hot path
    app.add_middleware(
        VcApiEndpoint,
        service=service,
        status_lists=status_lists,
        limit=settings.max_body_bytes,
        root_path=settings.root_path,
    )  # the W3C VC API routes, plain ASGI like /verify
    app.add_middleware(
        RequestLimits,
        key_for=by_client_address,  # URL/header sizes, 429 per client address
        limiter=limiter_for(settings.rate_limit_per_s, settings.rate_limit_burst),
    )
    if settings.cors_origins:  # off unless configured; outermost, so that it covers POST /verify too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    # outermost of all: every answer's latency; the endpoints in front of the router by their path
    app.add_middleware(RequestMetrics, fixed_paths=FRONT_PATHS, root_path=settings.root_path)
    return app


FRONT_PATHS = ("/verify", "/credentials/verify", "/presentations/verify")  # plain ASGI, before routing


async def _verify_async(service: VerifierService, body: bytes):
    started = time.time()
    report = service.verify_bytes(body)
    if service.needs_catch_up(report):  # a root the index has not seen: perhaps anchored a moment ago
        await run_in_threadpool(service.catch_up, started)
        report = service.verify_bytes(body)
    return report


SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


async def verify_answer(service: VerifierService, body: bytes) -> tuple[int, bytes, bytes, list]:
    """(status, payload, media type, extra headers) of ``POST /verify``: the report, a problem for
    a body that is not a bundle, a logged 500 for a crash."""
    try:
        report = await _verify_async(service, body)
        count_report(report, "verify")
        return 200, report_json(report).encode("utf-8"), b"application/json", []
    except Problem as problem:
        return problem_answer(problem)
    except Exception:  # noqa: BLE001 - never a traceback to the client
        log.exception("unexpected error in POST /verify")
        return problem_answer(Problem(500, "INTERNAL_ERROR", "the verifier failed; the error was logged"))


def problem_answer(problem: AnyProblem) -> tuple[int, bytes, bytes, list]:
    return problem.status, _dumps(problem.to_json()), b"application/problem+json", []


async def send_answer(send, status: int, payload: bytes, media_type: bytes, headers: list) -> None:
    """An answer of a plain ASGI endpoint, with the security headers every response carries."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(payload)).encode()),
                *headers,
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class _VerifyEndpoint:
    """``POST /verify`` as plain ASGI in front of the FastAPI app: the same limits, errors and
    report as the route, without the framework's per-request machinery (routing, dependency
    solving, request objects) — about a third of a request's CPU. Everything else passes through."""

    def __init__(self, app, service: VerifierService, settings: VerifierSettings):
        self.app, self.service, self.limit = app, service, settings.max_body_bytes
        self.paths = {"/verify", settings.root_path + "/verify"}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        try:
            body = await read_body(scope, receive, self.limit)
        except Problem as problem:
            answer = problem_answer(problem)
        else:
            if body is None:
                return  # the client went away
            answer = await verify_answer(self.service, body)
        await send_answer(send, *answer)


async def read_body(scope, receive, limit: int) -> bytes | None:
    """A request's body (None when the client went away), or :class:`Problem`: 415 for a type that
    is not JSON, 400 for a Content-Length that is not a number, 413 beyond ``limit``. A refused body
    is still read (up to DRAIN_LIMIT), so that the client gets the answer, not a reset."""
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
    declared = headers.get(b"content-length")
    problem = None
    if content_type not in _JSON_TYPES:
        problem = Problem(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"send the JSON as the body with Content-Type application/json, not {content_type[:60]}",
        )
    elif declared is not None:
        try:
            if int(declared) > limit:
                problem = _too_large(limit)
        except ValueError:
            problem = Problem(400, "BAD_REQUEST", "Content-Length is not a number")
    chunks, total = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        total += len(chunk)
        if problem is None and total > limit:
            problem = _too_large(limit)
        if problem is None:
            chunks.append(chunk)
        elif total > DRAIN_LIMIT:
            break  # read enough of a flood; answer now
        if not message.get("more_body", False):
            break
    if problem is not None:
        raise problem
    return b"".join(chunks)


async def request_body(request: Request, limit: int) -> bytes:
    """:func:`read_body` for a route."""
    body = await read_body(request.scope, request.receive, limit)
    if body is None:
        raise ClientDisconnect()
    return body


def _dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory verifier.app:app_from_env`` (and the CLI's workers): settings from
    ``CERTLEDGER_VERIFIER_*``."""
    return create_app(settings_from_env())


# ----------------------------------------------------------------------------------------- helpers


def _content_store(settings: VerifierSettings):
    if settings.ipfs_api:
        from ledger.content.ipfs_store import IpfsContentStore

        return IpfsContentStore(settings.ipfs_api, timeout=10.0)
    if settings.content_dir:
        from ledger.content import LocalContentStore

        return LocalContentStore(settings.content_dir)
    return None


def _page(root_path: str) -> bytes:
    html = (STATIC_DIR / "index.html").read_text("utf-8")
    return html.replace("__ROOT__", root_path).encode("utf-8")


def _json(data, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False).encode("utf-8"), status_code=status, media_type="application/json"
    )


def _too_large(limit: int) -> Problem:
    return Problem(413, "BODY_TOO_LARGE", f"the body exceeds this endpoint's limit of {limit:,} bytes", limit=limit)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(_request: Request, exc: Problem):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
        detail = {404: "no such page or endpoint", 405: "this endpoint does not take that method"}.get(
            exc.status_code, str(exc.detail)
        )
        return Problem(exc.status_code, code, detail).response(getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        return Problem(422, "BAD_REQUEST", "the request's parameters are malformed").response()

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        log.exception("unexpected error")  # the exception only: never the request's body or URL
        return Problem(500, "INTERNAL_ERROR", "the verifier failed; the error was logged").response()


class _SecurityHeaders:
    """Plain ASGI (cheap on the hot path): no MIME sniffing, no referrer ever."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def _quietly(fn):
    def run():
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - warming is an optimisation
            log.warning("could not warm the batch pool: %s", exc)

    return run


__all__ = ["create_app", "app_from_env"]
