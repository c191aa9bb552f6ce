"""The public transparency API: ``GET /transparency/api/…`` (JSON), read-only, no authentication.

Thin routes over :mod:`verifier.transparency`; the pages are :mod:`verifier.transparency_pages`.
The response models document the answers in the OpenAPI document; the routes write the JSON
themselves (no per-item validation on a 500-event page). Listings that can grow without bound
(batches, events) are paginated with opaque cursors: pass ``next`` back as ``cursor``. The event
log is exported whole, streamed, as NDJSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

from http_common.openapi_problems import problem_responses
from verifier.problems import Problem
from verifier.transparency import Transparency, TransparencyError, parse_hex32

PREFIX = "/transparency/api"
CODE_PATTERN = r"^[a-z0-9-]{3,64}$"
HEX32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
CACHE = {"Cache-Control": "no-cache"}  # the figures move with every block; revalidate each time


# ------------------------------------------------------------------------------ documented shapes


class IndexState(BaseModel):
    deployment: str = Field(description="eip155:<chainId>:<ledger>/<registry>")
    finalBlock: int = Field(description="the last block whose events are counted here")
    indexedBlock: int
    chainHead: int
    caughtUp: bool
    syncedAt: str | None


class KeyInfo(BaseModel):
    publicKey: str
    addedAt: str
    validFrom: str
    revokedAt: str | None
    revocationRecordedAt: str | None
    compromised: bool = Field(description="revoked as of a time before the revocation was recorded")


class TypeInfo(BaseModel):
    typeId: str
    name: str | None = Field(description="the type's name when it is a built-in type (the chain holds the hash)")
    since: str


class OperatorInfo(BaseModel):
    address: str
    since: str


class Totals(BaseModel):
    batches: int
    credentials: int
    revocations: int
    suspensions: int
    reinstatements: int
    batchRevocations: int


class Agency(BaseModel):
    code: str
    name: str
    deployment: str
    agencyId: str
    index: int
    registeredAt: str
    active: bool
    types: list[TypeInfo]
    operators: list[OperatorInfo]
    keys: list[KeyInfo]


class AgencyDetail(Agency):
    totals: Totals


class AgencyList(BaseModel):
    items: list[Agency]
    index: list[IndexState]


class LedgerTotals(Totals):
    agencies: int
    activeAgencies: int
    keys: int
    compromisedKeys: int


class LedgerSummary(BaseModel):
    totals: LedgerTotals
    index: list[IndexState]


class Bucket(BaseModel):
    start: str = Field(description="the UTC day, or the Monday of the ISO week (YYYY-MM-DD)")
    credentials: int
    batches: int
    statusChanges: int


class Timeline(BaseModel):
    period: Literal["day", "week"]
    items: list[Bucket]


class ReasonCount(BaseModel):
    of: Literal["credential", "batch"]
    state: str
    reason: int = Field(description="reason code (docs/protocol.md 6.4)")
    count: int


class StatusChanges(BaseModel):
    items: list[ReasonCount]


class Batch(BaseModel):
    root: str
    count: int
    time: str
    block: int
    tx: str
    operator: str


class BatchPage(BaseModel):
    items: list[Batch]
    next: str | None = Field(description="pass as cursor for the next (older) page; null: the last page")


class StatusEntry(BaseModel):
    state: str
    reason: int
    time: str
    block: int
    tx: str


class BatchLookup(BaseModel):
    agency: str
    deployment: str
    root: str
    count: int
    anchoredAt: str
    block: int
    tx: str
    operator: str
    statusHistory: list[StatusEntry]


class DigestLookup(BaseModel):
    agency: str
    deployment: str
    digest: str
    state: str
    statusHistory: list[StatusEntry]


class Event(BaseModel):
    event: str
    deployment: str
    agency: str = Field(description="the agency's code")
    time: str
    block: int
    logIndex: int
    tx: str
    root: str | None = None
    digest: str | None = None
    count: int | None = None
    operator: str | None = None
    state: str | None = None
    reason: int | None = None
    code: str | None = None
    name: str | None = None
    active: bool | None = None
    publicKey: str | None = None
    validFrom: str | None = None
    revokedAt: str | None = None
    typeId: str | None = None
    type: str | None = None
    permitted: bool | None = None


class EventPage(BaseModel):
    items: list[Event]
    next: str | None = Field(description="pass as cursor for the next (older) page; null: the last page")
    latest: str = Field(description="pass as after to get only the events newer than these (live lists)")


def _ok(model: type[BaseModel], description: str, *problems: int, **texts: str) -> dict[str, Any]:
    return {
        "responses": {
            200: {"model": model, "description": description},
            **problem_responses(*problems, **texts),
        }
    }


_AGENCY_PROBLEMS = (400, 404, 503)
_TEXTS = {"s404": "No such agency (or record)", "s503": "The chain index has not been built yet"}

# ---------------------------------------------------------------------------------------- routes

router = APIRouter(prefix=PREFIX, tags=["transparency"])

Code = Path(pattern=CODE_PATTERN, description="the agency's code")
Deployment = Query(None, max_length=200, description="needed only when two trusted deployments hold the code")
Cursor = Query(None, max_length=400, description="the next value of the previous page")
Limit = Query(50, ge=1, le=500)


def queries(request: Request) -> Transparency:
    """The app's queries over its index (made on first use); 503 when the app has no index database."""
    state = request.app.state
    found = getattr(state, "transparency", None)
    if found is None:
        engine = getattr(getattr(state, "components", None), "engine", None)
        if engine is None:
            raise Problem(503, "INDEX_UNAVAILABLE", "this verifier runs without a chain index")
        from verifier.indexer import deployment_key

        settings = state.settings
        found = Transparency(engine, [deployment_key(d) for d in settings.trust_roots], settings.confirmations)
        state.transparency = found
    return found


def problem_of(exc: TransparencyError) -> Problem:
    extra = {"errors": [{"field": exc.field, "reason": exc.detail}]} if exc.field else {}
    return Problem(exc.status, exc.code, exc.detail, **extra)


def answer(fn, *args: Any, **kw: Any) -> Response:
    try:
        data = fn(*args, **kw)
    except TransparencyError as exc:
        raise problem_of(exc) from None
    return Response(json.dumps(data, ensure_ascii=False).encode(), media_type="application/json", headers=CACHE)


@router.get("/agencies", **_ok(AgencyList, "Every registered agency", 503, **_TEXTS))
def list_agencies(request: Request) -> Response:
    q = queries(request)
    return answer(lambda: {"items": q.agencies(), "index": q.index_state()})


@router.get("/agencies/{code}", **_ok(AgencyDetail, "One agency and its totals", *_AGENCY_PROBLEMS, **_TEXTS))
def one_agency(request: Request, code: str = Code, deployment: str | None = Deployment) -> Response:
    q = queries(request)
    return answer(lambda: q.agency(q.resolve(code, deployment)))


@router.get(
    "/agencies/{code}/anchored",
    **_ok(Timeline, "Credentials and batches anchored per day or week", *_AGENCY_PROBLEMS, **_TEXTS),
)
def agency_anchored(
    request: Request,
    code: str = Code,
    period: Literal["day", "week"] = Query("day"),
    deployment: str | None = Deployment,
) -> Response:
    q = queries(request)
    return answer(lambda: {"period": period, "items": q.anchored_per(q.resolve(code, deployment), period)})


@router.get(
    "/agencies/{code}/status-changes",
    **_ok(StatusChanges, "Status changes counted by state and reason", *_AGENCY_PROBLEMS, **_TEXTS),
)
def agency_status_changes(request: Request, code: str = Code, deployment: str | None = Deployment) -> Response:
    q = queries(request)
    return answer(lambda: {"items": q.status_by_reason(q.resolve(code, deployment))})


@router.get(
    "/agencies/{code}/batches", **_ok(BatchPage, "The agency's batches, newest first", *_AGENCY_PROBLEMS, **_TEXTS)
)
def agency_batches(
    request: Request,
    code: str = Code,
    cursor: str | None = Cursor,
    limit: int = Limit,
    deployment: str | None = Deployment,
) -> Response:
    q = queries(request)
    return answer(lambda: q.batches(q.resolve(code, deployment), cursor, limit).to_json())


@router.get(
    "/agencies/{code}/batches/{root}",
    **_ok(BatchLookup, "A batch: anchored when and by whom, its status history", *_AGENCY_PROBLEMS, **_TEXTS),
)
def batch_lookup(
    request: Request,
    code: str = Code,
    root: str = Path(pattern=HEX32_PATTERN),
    deployment: str | None = Deployment,
) -> Response:
    q = queries(request)
    return answer(lambda: q.batch(q.resolve(code, deployment), parse_hex32(root, "root")))


@router.get(
    "/agencies/{code}/digests/{digest}",
    **_ok(DigestLookup, "A credential digest's status history in the agency", *_AGENCY_PROBLEMS, **_TEXTS),
)
def digest_lookup(
    request: Request,
    code: str = Code,
    digest: str = Path(pattern=HEX32_PATTERN),
    deployment: str | None = Deployment,
) -> Response:
    q = queries(request)
    return answer(lambda: q.digest(q.resolve(code, deployment), parse_hex32(digest, "digest")))


@router.get("/ledger", **_ok(LedgerSummary, "Totals of the whole ledger", 503, **_TEXTS))
def ledger_totals(request: Request) -> Response:
    q = queries(request)
    return answer(lambda: {"totals": q.totals(), "index": q.index_state()})


@router.get(
    "/ledger/timeline",
    **_ok(Timeline, "Anchors and status changes per day or week, all agencies", 400, 503, **_TEXTS),
)
def ledger_timeline(request: Request, period: Literal["day", "week"] = Query("day")) -> Response:
    q = queries(request)
    return answer(lambda: {"period": period, "items": q.timeline(period)})


@router.get("/events", **_ok(EventPage, "The events, newest first", *_AGENCY_PROBLEMS, **_TEXTS))
def events(
    request: Request,
    cursor: str | None = Cursor,
    after: str | None = Query(None, max_length=400, description="the latest value of an earlier answer"),
    limit: int = Limit,
    agency: str | None = Query(None, pattern=CODE_PATTERN, description="only this agency's events"),
    deployment: str | None = Deployment,
) -> Response:
    q = queries(request)

    def run():
        ref = q.resolve(agency, deployment) if agency is not None else None
        return q.events(cursor, limit, after=after, agency=ref).to_json()

    return answer(run)


EXPORT_COLUMNS = (
    "event",
    "deployment",
    "agency",
    "time",
    "block",
    "logIndex",
    "tx",
    "root",
    "digest",
    "count",
    "operator",
    "state",
    "reason",
    "code",
    "name",
    "active",
    "publicKey",
    "validFrom",
    "revokedAt",
    "typeId",
    "type",
    "permitted",
)
_EXPORT_DOC: dict[str, Any] = {
    "responses": {
        200: {
            "description": "Every final event, oldest first, streamed",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **problem_responses(503, **_TEXTS),
    }
}


@router.get("/export.ndjson", response_class=StreamingResponse, **_EXPORT_DOC)
def export_ndjson(request: Request) -> Response:
    q = queries(request)

    def lines() -> Iterator[bytes]:
        chunk: list[str] = []
        first = True
        for event in q.export():
            chunk.append(json.dumps(event, ensure_ascii=False))
            if len(chunk) == (100 if first else 1000):  # each chunk is a hop from the thread pool; the first comes soon
                first = False
                yield ("\n".join(chunk) + "\n").encode()
                chunk = []
        if chunk:
            yield ("\n".join(chunk) + "\n").encode()

    return _stream(lines(), "application/x-ndjson", "certledger-events.ndjson")


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every final event, oldest first, streamed; one column per field (empty where it does not apply)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(503, **_TEXTS),
    },
)
def export_csv(request: Request) -> Response:
    q = queries(request)

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for n, event in enumerate(q.export()):
            writer.writerow([_cell(event.get(c)) for c in EXPORT_COLUMNS])
            if n % 1000 == 99:  # the first chunk after 100 events, then every thousand
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()

    return _stream(rows(), "text/csv; charset=utf-8", "certledger-events.csv")


def _cell(value: Any) -> str:
    """A CSV cell; a text a spreadsheet would run as a formula (an agency's name is anyone's text) is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _stream(chunks: Iterator[bytes], media_type: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **CACHE},
    )


__all__ = ["router", "queries", "problem_of", "PREFIX"]
