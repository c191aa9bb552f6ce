"""The public transparency queries: what the chain index holds, as a person or a program reads it.

Library logic only (no routes): :mod:`verifier.transparency_api` serves it as JSON and
:mod:`verifier.transparency_pages` as pages. Every answer comes from the index database
(:mod:`verifier.index_db`), never from the chain node, and shows only public chain data: agencies,
their operators, keys and permitted types, anchors (root, count, time, block, transaction) and status
changes (digest or root, state, reason). A credential's content is never in the index.

**Visibility.** An event counts once its block is final in the indexer's view: at most
``head - confirmations + 1`` of its deployment's cursor, the rule :class:`verifier.indexer.
IndexedChainReader` applies to an anchor. (The reader counts a revocation at once, for safety; a
published record waits for the same finality as the rest, so the figures never move backwards but
by a reorganisation.) A reorganisation deletes the undone rows from the index (the indexer's
rollback), so an undone event disappears from every answer here with no further work.

**Speed.** Totals, charts, reasons and the agencies come from a summary per deployment kept in
memory and brought up to date at each call by one indexed read of the rows added since (like the
verifier's reader; reloaded whole after a rollback). Listings and lookups are indexed reads that stop
at the page's end (indexes in :mod:`verifier.index_db`). ``bench/bench_transparency.py`` measures
them with 1,000,000 credentials in 10,000 batches.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.protocol.credential_types import BUILTIN_TYPES
from verifier.index_db import IndexCursor, IndexedEvent, from_i64

EVENTS = IndexedEvent.__tablename__
DAY = 86_400
PERIODS = ("day", "week")
STATES = {0: "active", 1: "suspended", 2: "revoked"}
REASONS = {
    0: "unspecified",
    1: "superseded",
    2: "issuedInError",
    3: "keyCompromise",
    4: "holderRequest",
    5: "administrative",
    6: "expiredByLaw",
}
EVENT_NAMES = (
    "Anchored",
    "StatusChanged",
    "RootStatusChanged",
    "AgencyRegistered",
    "AgencyNameChanged",
    "AgencyActiveChanged",
    "OperatorAdded",
    "OperatorRemoved",
    "KeyAdded",
    "KeyRevoked",
    "TypePermissionChanged",
)
_TYPE_NAMES = {t.type_id: name for name, t in BUILTIN_TYPES.items()}
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_CODE = re.compile(r"^[a-z0-9-]{3,64}$")
MAX_LIMIT = 500


class TransparencyError(Exception):
    """A query that cannot be answered as asked: ``status`` 400 (bad parameter), 404 (not found) or
    503 (the index has not been built yet). ``field`` names the parameter at fault."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hex0x(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def parse_hex32(value: str, name: str) -> bytes:
    """A 32-byte value as 0x and 64 hex digits, or a 400 naming the parameter."""
    if not _HEX32.match(value):
        raise TransparencyError(400, "BAD_REQUEST", f"{name} must be 0x followed by 64 hexadecimal digits", name)
    return bytes.fromhex(value[2:])


def check_code(code: str) -> str:
    if not _CODE.match(code):
        raise TransparencyError(400, "BAD_REQUEST", "code must be an agency code: 3-64 of a-z, 0-9, -", "code")
    return code


def type_name(type_id: bytes) -> str | None:
    """A permitted type's name when it is one of the built-in types (the chain holds only its hash)."""
    return _TYPE_NAMES.get(bytes(type_id))


def period_start(ts: int, period: str) -> int:
    """The first second of the UTC day, or of the ISO week (Monday), holding ``ts``."""
    day = ts // DAY
    if period == "day":
        return day * DAY
    return (day - (day + 3) % 7) * DAY  # 1970-01-01 was a Thursday


# --------------------------------------------------------------------------------------- cursors


def encode_cursor(values: list[Any]) -> str:
    """An opaque position in a listing (callers pass it back as given)."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """A cursor made by :func:`encode_cursor` for a listing whose positions have ``shape``; a 400 otherwise."""
    try:
        if len(cursor) > 400:
            raise ValueError
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError
        for v, t in zip(values, shape, strict=True):
            if type(v) is not t or (isinstance(v, int) and not -(1 << 63) <= v < 1 << 63):
                raise ValueError
        return values
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TransparencyError(
            400, "BAD_CURSOR", "cursor is not one this listing gave (pass next as given)", "cursor"
        ) from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise TransparencyError(400, "BAD_REQUEST", f"limit must be between 1 and {MAX_LIMIT}", "limit")
    return limit


# --------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AgencyRef:
    deployment: str
    agency_id: bytes
    code: str


@dataclass
class Page:
    items: list[dict[str, Any]]
    next: str | None  # the cursor of the following (older) page; None: this is the last
    latest: str | None = None  # events only: the mark of the newest event, for a live list's next poll

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"items": self.items, "next": self.next}
        if self.latest is not None:
            out["latest"] = self.latest
        return out


_COLS = (
    "deployment, block_number, log_index, tx_hash, timestamp, name, agency_id, key, value, reason, extra, agency_name"
)


def event_json(row: Any, codes: dict[tuple[str, bytes], str]) -> dict[str, Any]:
    """One event as the API shows it: public chain data, each value under its own name."""
    agency_id = bytes(row.agency_id)
    out: dict[str, Any] = {
        "event": row.name,
        "deployment": row.deployment,
        "agency": codes.get((row.deployment, agency_id), hex0x(agency_id)),
        "time": iso(row.timestamp),
        "block": row.block_number,
        "logIndex": row.log_index,
        "tx": row.tx_hash,
    }
    value, key, name = from_i64(row.value), bytes(row.key), row.name
    if name == "Anchored":
        out.update(root=hex0x(key), count=value, operator=row.extra)
    elif name in ("StatusChanged", "RootStatusChanged"):
        out["digest" if name == "StatusChanged" else "root"] = hex0x(key)
        out.update(state=STATES.get(value, f"unknown-{value}"), reason=row.reason)
    elif name == "AgencyRegistered":
        out.update(code=row.extra, name=row.agency_name)
    elif name == "AgencyNameChanged":
        out["name"] = row.agency_name
    elif name == "AgencyActiveChanged":
        out["active"] = bool(value)
    elif name in ("OperatorAdded", "OperatorRemoved"):
        out["operator"] = row.extra
    elif name == "KeyAdded":
        out.update(publicKey=hex0x(key), validFrom=_time_value(value))
    elif name == "KeyRevoked":
        out.update(publicKey=hex0x(key), revokedAt=_time_value(value))
    elif name == "TypePermissionChanged":
        out.update(typeId=hex0x(key), type=type_name(key), permitted=bool(value))
    return out


# --------------------------------------------------------------------------------------- summaries

_REGISTRY_EVENTS = frozenset(EVENT_NAMES) - {"Anchored", "StatusChanged", "RootStatusChanged"}


@dataclass(frozen=True, slots=True)
class _Row:
    """One indexed event as the summary keeps it (registry events only: a few per agency)."""

    deployment: str
    block_number: int
    log_index: int
    tx_hash: str
    timestamp: int
    name: str
    agency_id: bytes
    key: bytes
    value: int
    reason: int
    extra: str
    agency_name: str


@dataclass
class _Summary:
    """One deployment's figures, folded from its final events and kept in memory, so that totals,
    charts and the agency list cost no scan of the event table. Loaded like the verifier's reader
    (:class:`verifier.indexer.IndexedChainReader`): new rows by id, everything again after a rollback
    (the cursor's ``generation``); rows above the final block wait in ``pending`` until they are final."""

    generation: int
    last_id: int = 0
    head: int = -1
    chain_head: int = -1
    synced_at: float = 0.0
    pending: list = field(default_factory=list)  # (block, row) not yet final, in chain order
    registry: list = field(default_factory=list)  # _Row of the registry's events, in chain order
    codes: dict = field(default_factory=dict)  # agency id -> code
    totals: dict = field(default_factory=dict)  # agency id -> Counter of the totals' names
    days: dict = field(default_factory=dict)  # agency id -> {day start: [credentials, batches, changes]}
    reasons: dict = field(default_factory=dict)  # agency id -> Counter of (of, state, reason)

    def apply(self, row: _Row) -> None:
        if row.name in _REGISTRY_EVENTS:
            self.registry.append(row)
            if row.name == "AgencyRegistered":
                self.codes[row.agency_id] = row.extra
            return
        self.add_days(row.agency_id, row.timestamp // DAY * DAY, row.name, 1, row.value)
        if row.name != "Anchored":
            self.add_reasons(row.agency_id, row.name, row.value, row.reason, 1)

    def add_days(self, agency: bytes, day: int, name: str, n: int, total: int) -> None:
        """``n`` events of one kind on one day (anchors of ``total`` credentials, or status changes)."""
        counts = self.days.setdefault(agency, {}).setdefault(day, [0, 0, 0])
        if name == "Anchored":
            totals = self.totals.setdefault(agency, Counter())
            totals["batches"] += n
            totals["credentials"] += total
            counts[0] += total
            counts[1] += n
        else:
            counts[2] += n

    def add_reasons(self, agency: bytes, name: str, state: int, reason: int, n: int) -> None:
        """``n`` status changes to one state with one reason."""
        state_name = STATES.get(state, f"unknown-{state}")
        of = "credential" if name == "StatusChanged" else "batch"
        self.reasons.setdefault(agency, Counter())[(of, state_name, reason)] += n
        totals = self.totals.setdefault(agency, Counter())
        if of == "batch":
            totals["batchRevocations"] += n
        else:
            totals[_TOTAL_OF_STATE.get(state_name, "otherStates")] += n


_TOTAL_OF_STATE = {"revoked": "revocations", "suspended": "suspensions", "active": "reinstatements"}


def _row(r: Any) -> _Row:
    return _Row(
        r.deployment,
        r.block_number,
        r.log_index,
        r.tx_hash,
        r.timestamp,
        r.name,
        bytes(r.agency_id),
        bytes(r.key),
        from_i64(r.value),
        r.reason,
        r.extra,
        r.agency_name,
    )


TOTALS = ("batches", "credentials", "revocations", "suspensions", "reinstatements", "batchRevocations")
_SUMMARY_COLUMNS = f"id, {_COLS}"


# --------------------------------------------------------------------------------------- queries


class Transparency:
    """The queries, over the index database of the given trusted deployments (their keys as
    :func:`verifier.indexer.deployment_key` writes them). One per process: it keeps each
    deployment's summary in memory and brings it up to date (one indexed read) at every call."""

    min_sync_interval_s = 0.1

    def __init__(self, engine: Engine, deployments: Iterable[str], confirmations: int = 1):
        self.engine, self.deployments, self.confirmations = engine, sorted(deployments), confirmations
        self._summaries: dict[str, _Summary] = {}
        self._synced = -1e9
        self._lock = threading.RLock()  # held while a summary is read too: a sync changes it in place

    # --- the summaries ---

    def _sync(self) -> dict[str, _Summary]:
        """Every trusted deployment's summary as of the index now (deployments not indexed yet left
        out). Calls within ``min_sync_interval_s`` of the last read share it: one page makes several
        queries, and the indexer itself looks at the chain only every poll interval."""
        with self._lock:
            now = time.monotonic()
            if now - self._synced < self.min_sync_interval_s:
                return self._summaries
            with self.engine.connect() as conn:
                summaries = dict(self._summaries)
                for key in self.deployments:
                    for _ in range(5):
                        if self._sync_one(conn, key, summaries):
                            break
            self._summaries, self._synced = summaries, now
            return summaries

    def _cursor(self, conn, key: str):
        return conn.execute(
            text(
                f"SELECT head, chain_head, generation, synced_at FROM {IndexCursor.__tablename__} WHERE deployment = :k"
            ),
            {"k": key},
        ).first()

    def _sync_one(self, conn, key: str, summaries: dict[str, _Summary]) -> bool:
        before = self._cursor(conn, key)
        if before is None:
            return True
        summary = summaries.get(key)
        visible = before.head - self.confirmations + 1
        if summary is None or summary.generation != before.generation:
            summary = self._load(conn, key, before.generation, visible)
        else:
            rows = conn.execute(
                text(f"SELECT {_SUMMARY_COLUMNS} FROM {EVENTS} WHERE deployment = :k AND id > :last ORDER BY id"),
                {"k": key, "last": summary.last_id},
            ).all()
            summary.pending += [_row(r) for r in rows]
            if rows:
                summary.last_id = rows[-1].id
        if self._cursor(conn, key).generation != summary.generation:
            return False  # rolled back meanwhile: read again (from scratch)
        # A row stays pending until a cursor read before its own read says it is final: "before"
        # covers every row of a block up to its head, so nothing final is missed or counted twice.
        waiting = []
        for row in summary.pending:
            if row.block_number <= visible:
                summary.apply(row)
            else:
                waiting.append(row)
        summary.pending = waiting
        summary.head, summary.chain_head, summary.synced_at = before.head, before.chain_head, before.synced_at
        summaries[key] = summary
        return True

    def _load(self, conn, key: str, generation: int, visible: int) -> _Summary:
        """A deployment's summary from scratch: the counts aggregated by the database, the registry's
        few rows and the rows not yet final read one by one."""
        summary = _Summary(generation=generation)
        top = conn.execute(text(f"SELECT MAX(id) FROM {EVENTS} WHERE deployment = :k"), {"k": key}).scalar()
        if top is None:
            return summary
        params = {"k": key, "top": top, "vis": visible}
        scope = "deployment = :k AND id <= :top"
        # Two small aggregates rather than the rows: per agency and day, and per agency and reason.
        for r in conn.execute(
            text(
                f"SELECT agency_id, timestamp / {DAY} AS day, name, COUNT(*) AS n, SUM(value) AS total "
                f"FROM {EVENTS} WHERE {scope} AND block_number <= :vis "
                "AND name IN ('Anchored', 'StatusChanged', 'RootStatusChanged') GROUP BY agency_id, day, name"
            ),
            params,
        ):
            summary.add_days(bytes(r.agency_id), int(r.day) * DAY, r.name, int(r.n), int(r.total))
        for r in conn.execute(
            text(
                f"SELECT agency_id, name, value, reason, COUNT(*) AS n FROM {EVENTS} WHERE {scope} "
                "AND block_number <= :vis AND name IN ('StatusChanged', 'RootStatusChanged') "
                "GROUP BY agency_id, name, value, reason"
            ),
            params,
        ):
            summary.add_reasons(bytes(r.agency_id), r.name, from_i64(r.value), r.reason, int(r.n))
        names = ", ".join(f"'{n}'" for n in sorted(_REGISTRY_EVENTS))
        for r in conn.execute(
            text(
                f"SELECT {_SUMMARY_COLUMNS} FROM {EVENTS} WHERE {scope} AND block_number <= :vis "
                f"AND name IN ({names}) ORDER BY id"
            ),
            params,
        ):
            summary.apply(_row(r))
        summary.pending = [
            _row(r)
            for r in conn.execute(
                text(f"SELECT {_SUMMARY_COLUMNS} FROM {EVENTS} WHERE {scope} AND block_number > :vis ORDER BY id"),
                params,
            )
        ]
        summary.last_id = top
        return summary

    def _visible_blocks(self) -> dict[str, int]:
        """The last final block of each indexed deployment."""
        with self._lock:
            return {key: s.head - self.confirmations + 1 for key, s in self._sync().items()}

    def _scope(self, deployment: str) -> int:
        """The last final block of a deployment (-1: nothing indexed)."""
        return self._visible_blocks().get(deployment, -1)

    def _codes(self) -> dict[tuple[str, bytes], str]:
        """(deployment, agency id) -> the agency's code."""
        with self._lock:
            return {(key, agency): code for key, s in self._sync().items() for agency, code in s.codes.items()}

    def index_state(self) -> list[dict[str, Any]]:
        with self._lock:
            summaries = sorted(self._sync().items())
        return [
            {
                "deployment": key,
                "finalBlock": max(s.head - self.confirmations + 1, -1),
                "indexedBlock": s.head,
                "chainHead": s.chain_head,
                "caughtUp": s.head >= s.chain_head,
                "syncedAt": iso(int(s.synced_at)) if s.synced_at else None,
            }
            for key, s in summaries
        ]

    # --- agencies ---

    def agencies(self) -> list[dict[str, Any]]:
        """Every registered agency (final), with its name, code, active flag, permitted types,
        operators and keys, in registration order."""
        with self._lock:
            return [a for _, s in sorted(self._sync().items()) for a in _fold_agencies(s.registry)]

    def resolve(self, code: str, deployment: str | None = None) -> AgencyRef:
        """The agency with this code (in ``deployment`` when given; required only when two trusted
        deployments both hold the code)."""
        check_code(code)
        if deployment is not None and deployment not in self.deployments:
            raise TransparencyError(404, "NOT_FOUND", "deployment is not one this verifier trusts", "deployment")
        with self._lock:
            found = [
                AgencyRef(key, agency, code)
                for key, s in sorted(self._sync().items())
                if deployment is None or key == deployment
                for agency, c in s.codes.items()
                if c == code
            ]
        if not found:
            raise TransparencyError(404, "NOT_FOUND", f"no registered agency with code {code}", "code")
        if len(found) > 1:
            raise TransparencyError(
                400, "BAD_REQUEST", "two trusted deployments hold this code: name one as deployment", "deployment"
            )
        return found[0]

    def agency(self, ref: AgencyRef) -> dict[str, Any]:
        """One agency as in :meth:`agencies`, with its totals: batches and credentials anchored,
        status changes."""
        with self._lock:
            summary = self._sync()[ref.deployment]
            info = _fold_agencies([r for r in summary.registry if r.agency_id == ref.agency_id])[0]
            counts = summary.totals.get(ref.agency_id, Counter())
            info["totals"] = {name: counts[name] for name in TOTALS}
            return info

    def anchored_per(self, ref: AgencyRef, period: str) -> list[dict[str, Any]]:
        """Credentials and batches anchored by the agency per UTC day or ISO week (periods with none left out)."""
        _check_period(period)
        with self._lock:
            days = self._sync()[ref.deployment].days.get(ref.agency_id, {})
            return _buckets([(day, c, n, 0) for day, (c, n, _) in days.items() if n], period)

    def status_by_reason(self, ref: AgencyRef) -> list[dict[str, Any]]:
        """The agency's status changes (credentials, and whole batches) counted by state and reason."""
        with self._lock:
            reasons = Counter(self._sync()[ref.deployment].reasons.get(ref.agency_id, Counter()))
        return [
            {"of": of, "state": state, "reason": reason, "count": n}
            for (of, state, reason), n in sorted(reasons.items(), key=lambda i: (i[0][0] != "credential", i[0]))
        ]

    # --- records (indexed reads) ---

    def _agency_where(self, ref: AgencyRef) -> tuple[str, dict[str, Any]]:
        return (
            "deployment = :dep AND agency_id = :agency AND block_number <= :vis",
            {"dep": ref.deployment, "agency": ref.agency_id, "vis": self._scope(ref.deployment)},
        )

    def batches(self, ref: AgencyRef, cursor: str | None, limit: int) -> Page:
        """The agency's batches, newest first: root, count, time, block, transaction, operator."""
        check_limit(limit)
        where, params = self._agency_where(ref)
        if cursor is not None:
            block, log_index = decode_cursor(cursor, (int, int))
            where += " AND (block_number, log_index) < (:cb, :cl)"
            params.update(cb=block, cl=log_index)
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM {EVENTS} WHERE {where} AND name = 'Anchored' "
                    "ORDER BY block_number DESC, log_index DESC LIMIT :lim"
                ),
                {**params, "lim": limit + 1},
            ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            {
                "root": hex0x(r.key),
                "count": from_i64(r.value),
                "time": iso(r.timestamp),
                "block": r.block_number,
                "tx": r.tx_hash,
                "operator": r.extra,
            }
            for r in rows
        ]
        return Page(items, encode_cursor([rows[-1].block_number, rows[-1].log_index]) if more else None)

    def _history(self, ref: AgencyRef, key: bytes, names: str) -> Sequence[Any]:
        where, params = self._agency_where(ref)
        with self.engine.connect() as conn:
            return conn.execute(
                text(
                    f"SELECT {_COLS} FROM {EVENTS} WHERE {where} AND key = :key AND name IN ({names}) "
                    "ORDER BY block_number, log_index"
                ),
                {**params, "key": key},
            ).all()

    def batch(self, ref: AgencyRef, root: bytes) -> dict[str, Any]:
        """One batch: when and by which operator it was anchored, and its status history (a batch
        revocation)."""
        rows = self._history(ref, root, "'Anchored', 'RootStatusChanged'")
        anchored = next((r for r in rows if r.name == "Anchored"), None)
        if anchored is None:
            raise TransparencyError(404, "NOT_FOUND", "this agency has anchored no batch with this root", "root")
        return {
            "agency": ref.code,
            "deployment": ref.deployment,
            "root": hex0x(root),
            "count": from_i64(anchored.value),
            "anchoredAt": iso(anchored.timestamp),
            "block": anchored.block_number,
            "tx": anchored.tx_hash,
            "operator": anchored.extra,
            "statusHistory": [_status_json(r) for r in rows if r.name == "RootStatusChanged"],
        }

    def digest(self, ref: AgencyRef, digest: bytes) -> dict[str, Any]:
        """One credential digest's status history in the agency's namespace (empty: never changed,
        which says nothing about whether it was issued: the chain holds only batch roots)."""
        history = [_status_json(r) for r in self._history(ref, digest, "'StatusChanged'")]
        return {
            "agency": ref.code,
            "deployment": ref.deployment,
            "digest": hex0x(digest),
            "state": history[-1]["state"] if history else "active",
            "statusHistory": history,
        }

    # --- the whole ledger ---

    def totals(self) -> dict[str, Any]:
        with self._lock:
            return self._totals(self._sync())

    @staticmethod
    def _totals(summaries: dict[str, _Summary]) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: sum(c[name] for s in summaries.values() for c in s.totals.values()) for name in TOTALS
        }
        agencies = [a for s in summaries.values() for a in _fold_agencies(s.registry)]
        out["agencies"] = len(agencies)
        out["activeAgencies"] = sum(1 for a in agencies if a["active"])
        out["keys"] = sum(len(a["keys"]) for a in agencies)
        out["compromisedKeys"] = sum(1 for a in agencies for k in a["keys"] if k["compromised"])
        return out

    def timeline(self, period: str) -> list[dict[str, Any]]:
        """Per UTC day or ISO week: credentials and batches anchored, status changes (all agencies)."""
        _check_period(period)
        with self._lock:
            rows = [
                (day, *counts)
                for s in self._sync().values()
                for days in s.days.values()
                for day, counts in days.items()
            ]
        return _buckets(rows, period)

    def events(
        self,
        cursor: str | None = None,
        limit: int = 50,
        *,
        after: str | None = None,
        agency: AgencyRef | None = None,
    ) -> Page:
        """The events, newest first (``cursor``: older than a previous page's end). With ``after``
        (the ``latest`` mark of an earlier answer): only the events newer than it, newest first — the
        live list's poll. The marks hold a position per deployment: each deployment's events are read
        in chain order by the table's unique index, and merged by time."""
        check_limit(limit)
        visible = self._visible_blocks()
        keys = [agency.deployment] if agency is not None else sorted(visible)
        before = _decode_positions(cursor, "cursor") if cursor is not None else {}
        since = _decode_positions(after, "after") if after is not None else {}
        rows: list[Any] = []
        with self.engine.connect() as conn:
            for key in keys:
                if key not in visible:
                    continue
                where = "deployment = :dep AND block_number <= :vis"
                params: dict[str, Any] = {"dep": key, "vis": visible[key], "lim": limit + 1}
                if agency is not None:
                    where += " AND agency_id = :agency"
                    params["agency"] = agency.agency_id
                if key in before:
                    where += " AND (block_number, log_index) < (:cb, :cl)"
                    params.update(cb=before[key][0], cl=before[key][1])
                if key in since:
                    where += " AND (block_number, log_index) > (:ab, :al)"
                    params.update(ab=since[key][0], al=since[key][1])
                rows += conn.execute(
                    text(
                        f"SELECT {_COLS} FROM {EVENTS} WHERE {where} "
                        "ORDER BY block_number DESC, log_index DESC LIMIT :lim"
                    ),
                    params,
                ).all()
        rows.sort(key=lambda r: (r.timestamp, r.deployment, r.block_number, r.log_index), reverse=True)
        more = len(rows) > limit
        rows = rows[:limit]
        codes = self._codes()
        following = None
        if more:
            positions = dict(before)
            for r in rows:  # oldest shown per deployment: the next page starts below it
                positions[r.deployment] = [r.block_number, r.log_index]
            following = _encode_positions(positions)
        latest = dict(since)
        if cursor is None:
            for r in reversed(rows):  # newest shown per deployment
                latest[r.deployment] = [r.block_number, r.log_index]
        return Page([event_json(r, codes) for r in rows], following, _encode_positions(latest))

    def export(self, batch_size: int = 5000) -> Iterator[dict[str, Any]]:
        """Every final event, oldest first, as :func:`event_json` writes it: the export (streamed,
        read in slices so that memory stays flat)."""
        codes = self._codes()
        for key, visible in sorted(self._visible_blocks().items()):
            last = (-1, -1)
            while True:
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        text(
                            f"SELECT {_COLS} FROM {EVENTS} WHERE deployment = :dep AND block_number <= :vis "
                            "AND (block_number, log_index) > (:b, :l) "
                            "ORDER BY block_number, log_index LIMIT :lim"
                        ),
                        {"dep": key, "vis": visible, "b": last[0], "l": last[1], "lim": batch_size},
                    ).all()
                for r in rows:
                    yield event_json(r, codes)
                if len(rows) < batch_size:
                    break
                last = (rows[-1].block_number, rows[-1].log_index)


def _encode_positions(positions: dict[str, list[int]]) -> str:
    return encode_cursor([[key, *pos] for key, pos in sorted(positions.items())])


def _decode_positions(mark: str, name: str) -> dict[str, list[int]]:
    """A cursor or latest mark of :meth:`Transparency.events`: per deployment, a (block, log index)."""
    bad = TransparencyError(400, "BAD_CURSOR", f"{name} is not one this listing gave (pass it back as given)", name)
    try:
        if len(mark) > 2000:
            raise ValueError
        values = json.loads(base64.urlsafe_b64decode(mark + "=" * (-len(mark) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) > 64:
        raise bad
    out = {}
    for item in values:
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not isinstance(item[0], str)
            or not all(type(v) is int and -(1 << 62) < v < 1 << 62 for v in item[1:])
        ):
            raise bad
        out[item[0]] = [item[1], item[2]]
    return out


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise TransparencyError(400, "BAD_REQUEST", "period must be day or week", "period")


def _status_json(row: Any) -> dict[str, Any]:
    value = from_i64(row.value)
    return {
        "state": STATES.get(value, f"unknown-{value}"),
        "reason": row.reason,
        "time": iso(row.timestamp),
        "block": row.block_number,
        "tx": row.tx_hash,
    }


def _buckets(rows: Iterable[tuple[int, int, int, int]], period: str) -> list[dict[str, Any]]:
    out: dict[int, list[int]] = {}
    for ts, credentials, batches, changes in rows:
        b = out.setdefault(period_start(ts, period), [0, 0, 0])
        b[0] += credentials
        b[1] += batches
        b[2] += changes
    return [
        {"start": iso(start)[:10], "credentials": c, "batches": n, "statusChanges": s}
        for start, (c, n, s) in sorted(out.items())
    ]


def _fold_agencies(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The registry's events (final, in chain order) folded into each agency's present state and its
    key history. A key revoked as of a time before its revocation was recorded is a compromised key:
    signatures made in between are no longer trusted."""
    agencies: dict[tuple[str, bytes], dict[str, Any]] = {}
    for r in rows:
        key = (r.deployment, bytes(r.agency_id))
        if r.name == "AgencyRegistered":
            agencies[key] = {
                "code": r.extra,
                "name": r.agency_name,
                "deployment": r.deployment,
                "agencyId": hex0x(r.agency_id),
                "index": from_i64(r.value),
                "registeredAt": iso(r.timestamp),
                "active": True,
                "types": {},
                "operators": {},
                "keys": {},
            }
            continue
        a = agencies.get(key)
        if a is None:
            continue  # an event before the registration is not possible on chain; skipped
        value = from_i64(r.value)
        if r.name == "AgencyNameChanged":
            a["name"] = r.agency_name
        elif r.name == "AgencyActiveChanged":
            a["active"] = bool(value)
        elif r.name == "OperatorAdded":
            a["operators"][r.extra] = iso(r.timestamp)
        elif r.name == "OperatorRemoved":
            a["operators"].pop(r.extra, None)
        elif r.name == "TypePermissionChanged":
            type_id = bytes(r.key)
            if value:
                a["types"][type_id] = iso(r.timestamp)
            else:
                a["types"].pop(type_id, None)
        elif r.name == "KeyAdded":
            a["keys"].setdefault(
                bytes(r.key),
                {
                    "publicKey": hex0x(r.key),
                    "addedAt": iso(r.timestamp),
                    "validFrom": _time_value(value),
                    "revokedAt": None,
                    "revocationRecordedAt": None,
                    "compromised": False,
                },
            )
        elif r.name == "KeyRevoked" and bytes(r.key) in a["keys"]:
            k = a["keys"][bytes(r.key)]
            k.update(
                revokedAt=_time_value(value),
                revocationRecordedAt=iso(r.timestamp),
                compromised=value < r.timestamp,
            )
    out = []
    for a in agencies.values():
        a["types"] = [{"typeId": hex0x(t), "name": type_name(t), "since": since} for t, since in a["types"].items()]
        a["operators"] = [{"address": op, "since": since} for op, since in a["operators"].items()]
        a["keys"] = list(a["keys"].values())
        out.append(a)
    return out


def _time_value(value: int) -> str:
    """A uint64 time the registry stored, as ISO 8601 when it is a plausible date."""
    return iso(value) if 0 <= value < 253402300800 else str(value)


__all__ = [
    "AgencyRef",
    "EVENT_NAMES",
    "MAX_LIMIT",
    "Page",
    "PERIODS",
    "REASONS",
    "STATES",
    "Transparency",
    "TransparencyError",
    "check_code",
    "decode_cursor",
    "encode_cursor",
    "event_json",
    "iso",
    "parse_hex32",
    "period_start",
]
