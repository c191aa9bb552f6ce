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

**Speed.** Each query is one or a few indexed SQL statements (indexes in :mod:`verifier.index_db`);
1,000,000 credentials in 10,000 batches are 10,000 ``Anchored`` rows, so aggregates scan tens of
thousands of rows at most (``bench/bench_transparency.py``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
            if type(v) is not t or (t is int and not -(1 << 63) <= v < 1 << 63):
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
class Scope:
    """One trusted deployment as the index holds it: the last final block, the indexed head."""

    deployment: str
    visible: int
    head: int
    chain_head: int
    synced_at: float


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


# --------------------------------------------------------------------------------------- queries


class Transparency:
    """The queries, over the index database of the given trusted deployments (their keys as
    :func:`verifier.indexer.deployment_key` writes them)."""

    def __init__(self, engine: Engine, deployments: Iterable[str], confirmations: int = 1):
        self.engine, self.deployments, self.confirmations = engine, sorted(deployments), confirmations

    # --- scope ---

    def scopes(self, conn) -> list[Scope]:
        rows = conn.execute(
            text(f"SELECT deployment, head, chain_head, synced_at FROM {IndexCursor.__tablename__}")
        ).all()
        found = {r.deployment: r for r in rows if r.deployment in self.deployments}
        return [
            Scope(d, r.head - self.confirmations + 1, r.head, r.chain_head, r.synced_at)
            for d, r in ((d, found[d]) for d in self.deployments if d in found)
        ]

    def _visible(self, scopes: list[Scope]) -> tuple[str, dict[str, Any]]:
        """The SQL condition "final in the indexer's view" over the deployments in ``scopes``."""
        if not scopes:
            return "1 = 0", {}
        parts, params = [], {}
        for i, s in enumerate(scopes):
            parts.append(f"(deployment = :dep{i} AND block_number <= :vis{i})")
            params[f"dep{i}"], params[f"vis{i}"] = s.deployment, s.visible
        return "(" + " OR ".join(parts) + ")", params

    def index_state(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [
                {
                    "deployment": s.deployment,
                    "finalBlock": max(s.visible, -1),
                    "indexedBlock": s.head,
                    "chainHead": s.chain_head,
                    "caughtUp": s.head >= s.chain_head,
                    "syncedAt": iso(int(s.synced_at)) if s.synced_at else None,
                }
                for s in self.scopes(conn)
            ]

    # --- agencies ---

    def _agency_rows(self, conn, scopes: list[Scope]) -> list[Any]:
        where, params = self._visible(scopes)
        return conn.execute(
            text(
                f"SELECT {_COLS} FROM {EVENTS} WHERE {where} AND name IN ('AgencyRegistered', 'AgencyNameChanged', "
                "'AgencyActiveChanged', 'OperatorAdded', 'OperatorRemoved', 'KeyAdded', 'KeyRevoked', "
                "'TypePermissionChanged') ORDER BY deployment, block_number, log_index"
            ),
            params,
        ).all()

    def _codes(self, conn, scopes: list[Scope]) -> dict[tuple[str, bytes], str]:
        where, params = self._visible(scopes)
        rows = conn.execute(
            text(f"SELECT deployment, agency_id, extra FROM {EVENTS} WHERE {where} AND name = 'AgencyRegistered'"),
            params,
        ).all()
        return {(r.deployment, bytes(r.agency_id)): r.extra for r in rows}

    def agencies(self) -> list[dict[str, Any]]:
        """Every registered agency (final), with its name, code, active flag, permitted types,
        operators and keys, in registration order."""
        with self.engine.connect() as conn:
            scopes = self.scopes(conn)
            return _fold_agencies(self._agency_rows(conn, scopes))

    def resolve(self, code: str, deployment: str | None = None) -> AgencyRef:
        """The agency with this code (in ``deployment`` when given; required only when two trusted
        deployments both hold the code)."""
        check_code(code)
        if deployment is not None and deployment not in self.deployments:
            raise TransparencyError(404, "NOT_FOUND", "deployment is not one this verifier trusts", "deployment")
        with self.engine.connect() as conn:
            scopes = [s for s in self.scopes(conn) if deployment is None or s.deployment == deployment]
            where, params = self._visible(scopes)
            rows = conn.execute(
                text(
                    f"SELECT deployment, agency_id FROM {EVENTS} WHERE {where} AND name = 'AgencyRegistered' "
                    "AND extra = :code"
                ),
                {**params, "code": code},
            ).all()
        if not rows:
            raise TransparencyError(404, "NOT_FOUND", f"no registered agency with code {code}", "code")
        if len(rows) > 1:
            raise TransparencyError(
                400, "BAD_REQUEST", "two trusted deployments hold this code: name one as deployment", "deployment"
            )
        return AgencyRef(rows[0].deployment, bytes(rows[0].agency_id), code)

    def _agency_scope(self, conn, ref: AgencyRef) -> tuple[str, dict[str, Any]]:
        scope = next((s for s in self.scopes(conn) if s.deployment == ref.deployment), None)
        visible = scope.visible if scope else -1
        return (
            "deployment = :dep AND agency_id = :agency AND block_number <= :vis",
            {"dep": ref.deployment, "agency": ref.agency_id, "vis": visible},
        )

    def agency(self, ref: AgencyRef) -> dict[str, Any]:
        """One agency as in :meth:`agencies`, with its totals: batches and credentials anchored,
        status changes."""
        with self.engine.connect() as conn:
            where, params = self._agency_scope(conn, ref)
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM {EVENTS} WHERE {where} AND name NOT IN ('Anchored', 'StatusChanged', "
                    "'RootStatusChanged') ORDER BY block_number, log_index"
                ),
                params,
            ).all()
            info = _fold_agencies(rows)[0]
            info["totals"] = self._totals(conn, where, params)
            return info

    def _totals(self, conn, where: str, params: dict[str, Any]) -> dict[str, int]:
        row = conn.execute(
            text(
                "SELECT "
                "COALESCE(SUM(CASE WHEN name = 'Anchored' THEN 1 ELSE 0 END), 0) AS batches, "
                "COALESCE(SUM(CASE WHEN name = 'Anchored' THEN value ELSE 0 END), 0) AS credentials, "
                "COALESCE(SUM(CASE WHEN name = 'StatusChanged' AND value = 2 THEN 1 ELSE 0 END), 0) AS revocations, "
                "COALESCE(SUM(CASE WHEN name = 'StatusChanged' AND value = 1 THEN 1 ELSE 0 END), 0) AS suspensions, "
                "COALESCE(SUM(CASE WHEN name = 'StatusChanged' AND value = 0 THEN 1 ELSE 0 END), 0) "
                "AS reinstatements, "
                "COALESCE(SUM(CASE WHEN name = 'RootStatusChanged' THEN 1 ELSE 0 END), 0) AS batch_revocations "
                f"FROM {EVENTS} WHERE {where} AND name IN ('Anchored', 'StatusChanged', 'RootStatusChanged')"
            ),
            params,
        ).one()
        return {
            "batches": int(row.batches),
            "credentials": int(row.credentials),
            "revocations": int(row.revocations),
            "suspensions": int(row.suspensions),
            "reinstatements": int(row.reinstatements),
            "batchRevocations": int(row.batch_revocations),
        }

    def anchored_per(self, ref: AgencyRef, period: str) -> list[dict[str, Any]]:
        """Credentials and batches anchored by the agency per UTC day or ISO week (periods with none left out)."""
        _check_period(period)
        with self.engine.connect() as conn:
            where, params = self._agency_scope(conn, ref)
            rows = conn.execute(
                text(
                    f"SELECT timestamp, value FROM {EVENTS} WHERE {where} AND name = 'Anchored' ORDER BY block_number"
                ),
                params,
            ).all()
        return _buckets(((r.timestamp, from_i64(r.value), 1, 0) for r in rows), period)

    def status_by_reason(self, ref: AgencyRef) -> list[dict[str, Any]]:
        """The agency's status changes (credentials, and whole batches) counted by state and reason."""
        with self.engine.connect() as conn:
            where, params = self._agency_scope(conn, ref)
            rows = conn.execute(
                text(
                    f"SELECT name, value, reason, COUNT(*) AS n FROM {EVENTS} WHERE {where} "
                    "AND name IN ('StatusChanged', 'RootStatusChanged') GROUP BY name, value, reason "
                    "ORDER BY name DESC, value DESC, reason"
                ),
                params,
            ).all()
        return [
            {
                "of": "credential" if r.name == "StatusChanged" else "batch",
                "state": STATES.get(from_i64(r.value), f"unknown-{from_i64(r.value)}"),
                "reason": r.reason,
                "count": int(r.n),
            }
            for r in rows
        ]

    def batches(self, ref: AgencyRef, cursor: str | None, limit: int) -> Page:
        """The agency's batches, newest first: root, count, time, block, transaction, operator."""
        check_limit(limit)
        with self.engine.connect() as conn:
            where, params = self._agency_scope(conn, ref)
            if cursor is not None:
                block, log_index = decode_cursor(cursor, (int, int))
                where += " AND (block_number < :cb OR (block_number = :cb AND log_index < :cl))"
                params.update(cb=block, cl=log_index)
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

    def batch(self, ref: AgencyRef, root: bytes) -> dict[str, Any]:
        """One batch: when and by which operator it was anchored, and its status history (a batch
        revocation)."""
        with self.engine.connect() as conn:
            where, params = self._agency_scope(conn, ref)
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM {EVENTS} WHERE {where} AND key = :key "
                    "AND name IN ('Anchored', 'RootStatusChanged') ORDER BY block_number, log_index"
                ),
                {**params, "key": root},
            ).all()
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
        with self.engine.connect() as conn:
            where, params = self._agency_scope(conn, ref)
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM {EVENTS} WHERE {where} AND key = :key AND name = 'StatusChanged' "
                    "ORDER BY block_number, log_index"
                ),
                {**params, "key": digest},
            ).all()
        history = [_status_json(r) for r in rows]
        return {
            "agency": ref.code,
            "deployment": ref.deployment,
            "digest": hex0x(digest),
            "state": history[-1]["state"] if history else "active",
            "statusHistory": history,
        }

    # --- the whole ledger ---

    def totals(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            scopes = self.scopes(conn)
            where, params = self._visible(scopes)
            out: dict[str, Any] = self._totals(conn, where, params)
            agencies = _fold_agencies(self._agency_rows(conn, scopes))
        out["agencies"] = len(agencies)
        out["activeAgencies"] = sum(1 for a in agencies if a["active"])
        out["keys"] = sum(len(a["keys"]) for a in agencies)
        out["compromisedKeys"] = sum(1 for a in agencies for k in a["keys"] if k["compromised"])
        return out

    def timeline(self, period: str) -> list[dict[str, Any]]:
        """Per UTC day or ISO week: credentials and batches anchored, status changes (all agencies)."""
        _check_period(period)
        size = DAY if period == "day" else 7 * DAY
        offset = 0 if period == "day" else 3 * DAY  # ISO weeks start on Monday; 1970-01-01 was a Thursday
        with self.engine.connect() as conn:
            where, params = self._visible(self.scopes(conn))
            rows = conn.execute(
                text(
                    f"SELECT (timestamp + {offset}) / {size} AS bucket, "
                    "SUM(CASE WHEN name = 'Anchored' THEN value ELSE 0 END) AS credentials, "
                    "SUM(CASE WHEN name = 'Anchored' THEN 1 ELSE 0 END) AS batches, "
                    "SUM(CASE WHEN name = 'Anchored' THEN 0 ELSE 1 END) AS changes "
                    f"FROM {EVENTS} WHERE {where} AND name IN ('Anchored', 'StatusChanged', 'RootStatusChanged') "
                    "GROUP BY bucket ORDER BY bucket"
                ),
                params,
            ).all()
        return [
            {
                "start": iso(int(r.bucket) * size - offset)[:10],
                "credentials": int(r.credentials),
                "batches": int(r.batches),
                "statusChanges": int(r.changes),
            }
            for r in rows
        ]

    def events(
        self,
        cursor: str | None = None,
        limit: int = 50,
        *,
        after: str | None = None,
        agency: AgencyRef | None = None,
    ) -> Page:
        """The events, newest first (``cursor``: older than a previous page's end). With ``after``
        (a ``latest`` mark from an earlier answer): only the events newer than it, newest first — the
        live list's poll. ``latest`` in the answer marks the newest event for the next poll."""
        check_limit(limit)
        with self.engine.connect() as conn:
            scopes = self.scopes(conn)
            if agency is not None:
                where, params = self._agency_scope(conn, agency)
            else:
                where, params = self._visible(scopes)
            position = "(timestamp, block_number, log_index, deployment)"
            if cursor is not None:
                ts, block, log_index, dep = decode_cursor(cursor, (int, int, int, str))
                where += f" AND {position} < (:cts, :cb, :cl, :cd)"
                params.update(cts=ts, cb=block, cl=log_index, cd=dep)
            if after is not None:
                ts, block, log_index, dep = decode_cursor(after, (int, int, int, str))
                where += f" AND {position} > (:ats, :ab, :al, :ad)"
                params.update(ats=ts, ab=block, al=log_index, ad=dep)
            rows = conn.execute(
                text(
                    f"SELECT {_COLS} FROM {EVENTS} WHERE {where} "
                    "ORDER BY timestamp DESC, block_number DESC, log_index DESC, deployment DESC LIMIT :lim"
                ),
                {**params, "lim": limit + 1},
            ).all()
            codes = self._codes(conn, scopes)
        more = len(rows) > limit
        rows = rows[:limit]
        latest = event_mark(rows[0]) if rows and cursor is None else after
        if latest is None:
            latest = encode_cursor([0, -1, -1, ""])  # nothing yet: every event is newer than this
        return Page([event_json(r, codes) for r in rows], event_mark(rows[-1]) if more else None, latest)

    def export(self, batch_size: int = 5000) -> Iterator[dict[str, Any]]:
        """Every final event, oldest first, as :func:`event_json` writes it: the export (streamed,
        read in slices so that memory stays flat)."""
        with self.engine.connect() as conn:
            scopes = self.scopes(conn)
            codes = self._codes(conn, scopes)
        for scope in scopes:
            last = (-1, -1)
            while True:
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        text(
                            f"SELECT {_COLS} FROM {EVENTS} WHERE deployment = :dep AND block_number <= :vis "
                            "AND (block_number > :b OR (block_number = :b AND log_index > :l)) "
                            "ORDER BY block_number, log_index LIMIT :lim"
                        ),
                        {"dep": scope.deployment, "vis": scope.visible, "b": last[0], "l": last[1], "lim": batch_size},
                    ).all()
                for r in rows:
                    yield event_json(r, codes)
                if len(rows) < batch_size:
                    break
                last = (rows[-1].block_number, rows[-1].log_index)


def event_mark(row: Any) -> str:
    return encode_cursor([row.timestamp, row.block_number, row.log_index, row.deployment])


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
    "Scope",
    "Transparency",
    "TransparencyError",
    "check_code",
    "decode_cursor",
    "encode_cursor",
    "event_json",
    "event_mark",
    "iso",
    "parse_hex32",
    "period_start",
]
