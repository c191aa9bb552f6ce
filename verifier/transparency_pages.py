"""The public transparency pages, drawn by the server in English or Simplified Chinese.

``GET /transparency`` (the whole ledger), ``/transparency/agencies``, ``/transparency/agencies/{code}``
and ``/transparency/lookup``. Every figure is in the HTML (Jinja2 templates, autoescaped; charts are
server-drawn SVG, :mod:`verifier.transparency_charts`), so the pages read without JavaScript; one
small script (``static/transparency.js``) only refreshes the latest events. The language is
``?lang=zh`` or ``?lang=en``, else the browser's ``Accept-Language``. :data:`router` also carries the
JSON API (:mod:`verifier.transparency_api`): the app includes this one router.
"""

from __future__ import annotations

import gc
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from http_common.openapi_problems import problem_responses
from verifier.transparency import REASONS, Page, TransparencyError, parse_hex32
from verifier.transparency_api import CODE_PATTERN, problem_of, queries
from verifier.transparency_api import router as api_router
from verifier.transparency_charts import BLUE, ORANGE, RED, bar_chart, hbar_chart, key_timeline

log = logging.getLogger("verifier.transparency")
TEMPLATES = Environment(
    loader=FileSystemLoader(FilePath(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
}
CHART_BUCKETS = 60  # the most recent days (or weeks) a chart shows; the table and the API have them all
LATEST = 20

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "brand": "CertLedger transparency",
        "nav.ledger": "Whole ledger",
        "nav.agencies": "Agencies",
        "nav.lookup": "Look up",
        "nav.verify": "Verify a certificate",
        "ledger.title": "The public ledger",
        "ledger.intro": "Everything here is read from the public chain: which agencies may issue, what they anchored and what they withdrew. No certificate's content and no personal data is ever shown.",
        "totals": "Totals",
        "t.agencies": "Agencies",
        "t.activeAgencies": "active",
        "t.credentials": "Credentials anchored",
        "t.batches": "Batches",
        "t.revocations": "Revocations",
        "t.suspensions": "Suspensions",
        "t.reinstatements": "Reinstatements",
        "t.batchRevocations": "Batch revocations",
        "t.keys": "Signing keys",
        "t.compromisedKeys": "compromised",
        "overTime": "Anchors and status changes over time",
        "perDay": "per day",
        "perWeek": "per week",
        "s.credentials": "Credentials anchored",
        "s.changes": "Status changes",
        "latest": "Latest events",
        "latestLive": "This list updates by itself.",
        "asOf": "As of block",
        "notCaughtUp": "The index is catching up with the chain; figures may lag.",
        "agencies.title": "Registered agencies",
        "agencies.intro": "Every agency the registry holds, the credential types it may issue, the accounts that anchor for it and its signing keys.",
        "code": "Code",
        "name": "Name",
        "active": "Active",
        "inactive": "Inactive",
        "types": "May issue",
        "operators": "Operators",
        "keys": "Signing keys",
        "validFrom": "Valid from",
        "revokedAt": "Revoked at",
        "recordedAt": "revocation recorded",
        "compromised": "compromised",
        "valid": "valid",
        "revoked": "revoked",
        "none": "none",
        "agency.anchored": "Credentials anchored",
        "agency.batches": "Batches",
        "agency.byReason": "Revocations and suspensions by reason",
        "agency.keyHistory": "Key history",
        "agency.noChanges": "No status changes.",
        "root": "Root",
        "count": "Count",
        "time": "Time (UTC)",
        "block": "Block",
        "tx": "Transaction",
        "operator": "Operator",
        "older": "Older batches",
        "newest": "Newest",
        "period": "Period",
        "day": "Day",
        "week": "Week",
        "event": "Event",
        "agency": "Agency",
        "details": "Details",
        "lookup.title": "Look up a batch or a digest",
        "lookup.intro": "A batch by its Merkle root, or a credential by its digest (both 0x and 64 hexadecimal digits, as in a bundle's anchor), within one agency.",
        "lookup.go": "Look up",
        "lookup.batch": "Batch root",
        "lookup.digest": "Credential digest",
        "lookup.notFound": "Not found: ",
        "lookup.anchoredAt": "Anchored at",
        "lookup.by": "by operator",
        "lookup.history": "Status history",
        "lookup.neverChanged": "No status change recorded: the credential is active unless its batch was revoked. (The chain holds batch roots only, so this does not say that such a credential was issued.)",
        "lookup.batchNeverChanged": "No status change recorded for this batch as a whole (its credentials may each have their own).",
        "state.active": "reinstated",
        "state.suspended": "suspended",
        "state.revoked": "revoked",
        "of.batch": "whole batch",
        "export": "Export the event log",
        "api": "JSON API",
        "legend.valid": "valid",
        "legend.revoked": "revoked",
        "legend.compromised": "compromised stretch",
        "ev.Anchored": "Anchored",
        "ev.StatusChanged": "Status changed",
        "ev.RootStatusChanged": "Batch status changed",
        "ev.AgencyRegistered": "Agency registered",
        "ev.AgencyNameChanged": "Agency renamed",
        "ev.AgencyActiveChanged": "Agency active flag",
        "ev.OperatorAdded": "Operator added",
        "ev.OperatorRemoved": "Operator removed",
        "ev.KeyAdded": "Key added",
        "ev.KeyRevoked": "Key revoked",
        "ev.TypePermissionChanged": "Type permission",
        "credentialsN": "credentials",
        "r.0": "unspecified",
        "r.1": "superseded",
        "r.2": "issued in error",
        "r.3": "key compromise",
        "r.4": "holder request",
        "r.5": "administrative decision",
        "r.6": "expired by law",
    },
    "zh": {
        "brand": "CertLedger 公开透明",
        "nav.ledger": "账本总览",
        "nav.agencies": "发证机构",
        "nav.lookup": "查询",
        "nav.verify": "验证证书",
        "ledger.title": "公开账本",
        "ledger.intro": "本页所有内容均读自公开区块链：哪些机构有权发证、锚定了什么、撤回了什么。从不显示任何证书内容或个人信息。",
        "totals": "总计",
        "t.agencies": "机构",
        "t.activeAgencies": "有效",
        "t.credentials": "已锚定证书",
        "t.batches": "批次",
        "t.revocations": "撤销",
        "t.suspensions": "暂停",
        "t.reinstatements": "恢复",
        "t.batchRevocations": "整批撤销",
        "t.keys": "签名密钥",
        "t.compromisedKeys": "已泄露",
        "overTime": "锚定与状态变更趋势",
        "perDay": "按日",
        "perWeek": "按周",
        "s.credentials": "已锚定证书",
        "s.changes": "状态变更",
        "latest": "最新事件",
        "latestLive": "此列表自动更新。",
        "asOf": "截至区块",
        "notCaughtUp": "索引正在追赶区块链，数字可能滞后。",
        "agencies.title": "已登记机构",
        "agencies.intro": "登记合约中的每个机构：可签发的证书类型、为其锚定的账户及其签名密钥。",
        "code": "代码",
        "name": "名称",
        "active": "有效",
        "inactive": "已停用",
        "types": "可签发",
        "operators": "操作账户",
        "keys": "签名密钥",
        "validFrom": "生效时间",
        "revokedAt": "撤销时间",
        "recordedAt": "撤销记录于",
        "compromised": "已泄露",
        "valid": "有效",
        "revoked": "已撤销",
        "none": "无",
        "agency.anchored": "已锚定证书",
        "agency.batches": "批次",
        "agency.byReason": "按原因统计的撤销与暂停",
        "agency.keyHistory": "密钥历史",
        "agency.noChanges": "没有状态变更。",
        "root": "根哈希",
        "count": "数量",
        "time": "时间（UTC）",
        "block": "区块",
        "tx": "交易",
        "operator": "操作账户",
        "older": "更早的批次",
        "newest": "最新",
        "period": "周期",
        "day": "日",
        "week": "周",
        "event": "事件",
        "agency": "机构",
        "details": "详情",
        "lookup.title": "查询批次或摘要",
        "lookup.intro": "在某一机构内，按默克尔根查询批次，或按摘要查询证书（均为 0x 加 64 位十六进制数字，与证书包的锚定信息相同）。",
        "lookup.go": "查询",
        "lookup.batch": "批次根哈希",
        "lookup.digest": "证书摘要",
        "lookup.notFound": "未找到：",
        "lookup.anchoredAt": "锚定时间",
        "lookup.by": "操作账户",
        "lookup.history": "状态历史",
        "lookup.neverChanged": "没有状态变更记录：除非其批次被撤销，该证书有效。（链上只记录批次根哈希，因此这并不说明该证书曾被签发。）",
        "lookup.batchNeverChanged": "该批次整体没有状态变更记录（其中的证书可能各有状态变更）。",
        "state.active": "已恢复",
        "state.suspended": "已暂停",
        "state.revoked": "已撤销",
        "of.batch": "整批",
        "export": "导出事件记录",
        "api": "JSON 接口",
        "legend.valid": "有效",
        "legend.revoked": "已撤销",
        "legend.compromised": "泄露期间",
        "ev.Anchored": "锚定",
        "ev.StatusChanged": "状态变更",
        "ev.RootStatusChanged": "批次状态变更",
        "ev.AgencyRegistered": "机构登记",
        "ev.AgencyNameChanged": "机构更名",
        "ev.AgencyActiveChanged": "机构启停",
        "ev.OperatorAdded": "添加操作账户",
        "ev.OperatorRemoved": "移除操作账户",
        "ev.KeyAdded": "添加密钥",
        "ev.KeyRevoked": "撤销密钥",
        "ev.TypePermissionChanged": "类型授权",
        "credentialsN": "份证书",
        "r.0": "未说明",
        "r.1": "已被替代",
        "r.2": "错误签发",
        "r.3": "密钥泄露",
        "r.4": "持有人申请",
        "r.5": "行政决定",
        "r.6": "依法失效",
    },
}
assert TEXTS["en"].keys() == TEXTS["zh"].keys()
assert all(f"r.{r}" in TEXTS["en"] for r in REASONS)

HTML = {"text/html": {"schema": {"type": "string"}}}
Lang = Query(None, pattern="^(en|zh)$", description="the page's language; default: the browser's")


def _doc(description: str, *problems: int) -> dict[str, Any]:
    return {
        "response_class": Response,
        "responses": {
            200: {"description": description, "content": HTML},
            **problem_responses(*problems, s404="No such agency", s503="The chain index has not been built yet"),
        },
    }


@asynccontextmanager
async def _warm(app: FastAPI):
    """Load the transparency summaries at start-up (after the app's first index round), so that no
    visitor's request pays for reading the whole index."""
    if getattr(getattr(app.state, "components", None), "engine", None) is not None:
        request = Request({"type": "http", "app": app})
        try:
            await run_in_threadpool(lambda: queries(request).totals())
        except Exception as exc:  # noqa: BLE001 - an optimisation: the first request loads them instead
            log.warning("could not load the transparency summaries: %s", exc)
        # The start-up heap (web3, the index, the summaries) is long-lived: kept out of the collector's
        # full passes, which otherwise land in a page's rendering (as issuer_api/main.py does).
        gc.collect()
        gc.freeze()
    yield


router = APIRouter(tags=["transparency"], lifespan=_warm)
router.include_router(api_router)


def _language(request: Request, lang: str | None) -> str:
    if lang is not None:
        return lang
    accepted = request.headers.get("accept-language", "").lower()
    return "zh" if accepted.startswith("zh") else "en"


def _render(request: Request, template: str, lang: str, **context: Any) -> Response:
    texts = TEXTS[lang]
    root = request.scope.get("root_path", "")

    def t(key: str) -> str:
        return texts.get(key, key)

    def reason(code: int) -> str:
        return texts.get(f"r.{code}", f"#{code}")

    html = TEMPLATES.get_template("transparency/" + template).render(
        t=t,
        reason=reason,
        lang=lang,
        other="zh" if lang == "en" else "en",
        root=root,
        path=request.url.path,
        **context,
    )
    return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def _run(fn, *args: Any) -> Any:
    try:
        return fn(*args)
    except TransparencyError as exc:
        raise problem_of(exc) from None


def _labels(items: list[dict], period: str) -> list[dict]:
    """The last CHART_BUCKETS periods up to the newest one with data (empty periods included)."""
    if not items:
        return []
    import datetime as dt

    step = dt.timedelta(days=1 if period == "day" else 7)
    last = dt.date.fromisoformat(items[-1]["start"])
    by_start = {i["start"]: i for i in items}
    out = []
    for n in range(CHART_BUCKETS - 1, -1, -1):
        start = (last - n * step).isoformat()
        if start < items[0]["start"]:
            continue
        out.append(by_start.get(start, {"start": start, "credentials": 0, "batches": 0, "statusChanges": 0}))
    return out


def _timeline_chart(items: list[dict], period: str, t, with_changes: bool) -> Markup:
    shown = _labels(items, period)
    labels = [i["start"][5:] for i in shown]
    series = [(t("s.credentials"), BLUE, [i["credentials"] for i in shown])]
    if with_changes:
        series.append((t("s.changes"), ORANGE, [i["statusChanges"] for i in shown]))
    title = (
        t("overTime" if with_changes else "agency.anchored")
        + " ("
        + t("perDay" if period == "day" else "perWeek")
        + ")"
    )
    return Markup(bar_chart(labels, series, title))


def _event_text(e: dict, t, reason) -> str:
    """One event's details, in the page's language: public chain data only."""
    name = e["event"]
    if name == "Anchored":
        return f"{e['count']:,} {t('credentialsN')} · {t('root')} {e['root'][:14]}…"
    if name in ("StatusChanged", "RootStatusChanged"):
        what = e.get("digest") or e.get("root") or ""
        return f"{t('state.' + e['state']) if e['state'] in ('active', 'suspended', 'revoked') else e['state']} · {reason(e['reason'])} · {what[:14]}…"
    if name in ("AgencyRegistered", "AgencyNameChanged"):
        return e.get("name", "")
    if name == "AgencyActiveChanged":
        return t("active") if e["active"] else t("inactive")
    if name in ("OperatorAdded", "OperatorRemoved"):
        return e["operator"]
    if name == "KeyAdded":
        return f"{e['publicKey'][:14]}… {t('validFrom')} {e['validFrom']}"
    if name == "KeyRevoked":
        return f"{e['publicKey'][:14]}… {t('revokedAt')} {e['revokedAt']}"
    if name == "TypePermissionChanged":
        return f"{e.get('type') or e['typeId'][:14]} {'✓' if e['permitted'] else '✗'}"
    return ""


@router.get("/transparency", **_doc("The whole ledger: totals, a chart over time, the latest events", 503))
def ledger_page(request: Request, lang: str | None = Lang, period: Literal["day", "week"] = Query("day")) -> Response:
    q = queries(request)
    language = _language(request, lang)
    t = TEXTS[language].__getitem__
    totals = _run(q.totals)
    timeline = _run(q.timeline, period)
    page: Page = _run(q.events, None, LATEST)
    reason = lambda code: TEXTS[language].get(f"r.{code}", f"#{code}")  # noqa: E731
    return _render(
        request,
        "ledger.html",
        language,
        totals=totals,
        index=q.index_state(),
        period=period,
        chart=_timeline_chart(timeline, period, t, True),
        timeline=timeline,
        events=[{**e, "text": _event_text(e, t, reason)} for e in page.items],
        latest=page.latest,
        live_labels={k: v for k, v in TEXTS[language].items() if k.startswith(("ev.", "r.", "state.", "credentialsN"))},
    )


@router.get("/transparency/agencies", **_doc("Every registered agency", 503))
def agencies_page(request: Request, lang: str | None = Lang) -> Response:
    q = queries(request)
    language = _language(request, lang)
    return _render(request, "agencies.html", language, agencies=_run(q.agencies), index=q.index_state())


@router.get("/transparency/agencies/{code}", **_doc("One agency: charts, batches, key history", 400, 404, 503))
def agency_page(
    request: Request,
    code: str = Path(pattern=CODE_PATTERN),
    lang: str | None = Lang,
    period: Literal["day", "week"] = Query("day"),
    cursor: str | None = Query(None, max_length=400),
    deployment: str | None = Query(None, max_length=200),
) -> Response:
    q = queries(request)
    language = _language(request, lang)
    texts = TEXTS[language]
    t = texts.__getitem__
    ref = _run(q.resolve, code, deployment)
    agency = _run(q.agency, ref)
    anchored = _run(q.anchored_per, ref, period)
    batches: Page = _run(q.batches, ref, cursor, 25)
    changes = _run(q.status_by_reason, ref)
    colours = {"revoked": RED, "suspended": ORANGE}
    bars = [
        (
            ("" if c["of"] == "credential" else t("of.batch") + " · ")
            + texts.get(f"state.{c['state']}", c["state"])
            + " · "
            + texts.get(f"r.{c['reason']}", f"#{c['reason']}"),
            c["count"],
            colours.get(c["state"], BLUE),
        )
        for c in changes
    ]
    return _render(
        request,
        "agency.html",
        language,
        agency=agency,
        period=period,
        chart=_timeline_chart(anchored, period, t, False),
        anchored=anchored,
        batches=batches,
        cursor=cursor,
        changes=changes,
        reasons_chart=Markup(hbar_chart(bars, t("agency.byReason"))) if bars else None,
        keys_chart=Markup(
            key_timeline(
                agency["keys"],
                int(time.time()),
                t("agency.keyHistory"),
                (t("legend.valid"), t("legend.revoked"), t("legend.compromised")),
            )
        )
        if agency["keys"]
        else None,
    )


@router.get("/transparency/lookup", **_doc("Look up a batch or a credential digest within an agency", 503))
def lookup_page(
    request: Request,
    lang: str | None = Lang,
    agency: str | None = Query(None, max_length=64),
    batch: str | None = Query(None, max_length=80),
    digest: str | None = Query(None, max_length=80),
) -> Response:
    q = queries(request)
    language = _language(request, lang)
    result, kind, error = None, None, None
    agencies = _run(q.agencies)
    if agency and (batch or digest):
        # A form's answer: a value not found or malformed is said on the page (200), for a person to correct.
        try:
            ref = q.resolve(agency)
            if batch:
                kind, result = "batch", q.batch(ref, parse_hex32(batch.strip(), "batch"))
            else:
                kind, result = "digest", q.digest(ref, parse_hex32((digest or "").strip(), "digest"))
        except TransparencyError as exc:
            error = exc.detail
    return _render(
        request,
        "lookup.html",
        language,
        agencies=agencies,
        form={"agency": agency or "", "batch": batch or "", "digest": digest or ""},
        kind=kind,
        result=result,
        error=error,
    )


__all__ = ["router", "TEXTS"]
