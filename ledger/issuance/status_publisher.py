"""Publishing the status lists: each list's bits from the confirmed states in the database, signed.

The chain is the truth; the database records a credential as ``revoked`` or ``suspended`` only once
the chain transaction is confirmed (``lifecycle``), the reorganisation watch puts it back if a
reorganisation undid it (``reorg_watch``), and each round of :func:`run_publisher` first records the
status changes made on chain by other means (``status_sync``: events in the agency's namespace). :func:`publish` therefore computes, for every list, the
revocation bits (credentials in state ``revoked``) and the suspension bits (``suspended``) from
those states, and signs and stores a new list credential (``status_list_credential``) when

* none is stored yet, or the bits differ from the stored one's (``bits_sha256``), or
* the stored one expires in less than :data:`RESIGN_BEFORE` (12 h; each is valid for 24 h), or
* its URL or issuer changed (another status base URL, a renamed agency), or ``force``.

A list is signed by the key that owns it (``status_list.public_key``). The keyring holds one key
per agency for now: a list of another key (after a rotation) is skipped with a warning until that
key can be had. :func:`run_publisher` runs a round every ``interval_s`` (5 s) in the issuer's
background work, so a confirmed status change is served within about that long.

Several publishers (several hosts) may run at once: the same states give the same bits, and a
stored list is only replaced by one generated from a later reading (``generated_at``), so an old
round never overwrites a newer one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

from sqlalchemy import Select, select, text
from sqlalchemy.dialects import postgresql, sqlite

from ledger.issuance.database_watch import DatabaseWatch
from ledger.issuance.errors import AgencyKeysMissing
from ledger.issuance.status_sync import StatusSync
from ledger.protocol.status_list import (
    DEFAULT_VALID_FOR,
    PURPOSES,
    StatusListError,
    bits_sha256,
    bitstring,
    build_list_credential,
    decode_bits,
    issuer_object,
    list_url,
    set_indexes,
)
from ledger.storage.db import reading
from ledger.storage.states import CredentialState
from ledger.storage.tables import AGENCY, CRED, STATUS_LIST, STATUS_LIST_CREDENTIAL

log = logging.getLogger(__name__)

RESIGN_BEFORE = timedelta(hours=12)
STATE_OF = {"revocation": CredentialState.REVOKED, "suspension": CredentialState.SUSPENDED}
# Written as the partial index ix_credential_status_list is on each database (SQLite uses it only for
# this very term; PostgreSQL's condition is the second, which every status change sets, migration 0008).
_LISTED_STATES = text("credential.state IN ('revoked', 'suspended') AND credential.status_reason IS NOT NULL")


def listed_credentials(agency: str, list_id: int) -> Select:
    """The query of one list's revoked and suspended credentials (index, state, when it changed)."""
    return select(CRED.c.status_index, CRED.c.state, CRED.c.updated_at).where(
        CRED.c.agency_code == agency, CRED.c.status_list_id == list_id, _LISTED_STATES
    )


_warned: set[tuple[str, int, str]] = set()  # a skipped list is reported once per process at WARNING
_warned_lock = threading.Lock()


@dataclass
class PublishReport:
    """One round of :func:`publish`."""

    at: datetime  # the time the states were read (validFrom of what was signed)
    lists: int = 0  # lists looked at
    signed: list[tuple[str, int, str, str]] = field(default_factory=list)  # (agency, list id, purpose, why)
    unchanged: int = 0  # list credentials kept as stored
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (agency, list id, why)
    newly_set: int = 0  # bits set now that the stored lists did not have
    cleared: int = 0  # bits cleared (a suspension lifted)
    oldest_change: datetime | None = None  # updated_at of the oldest status change first published now
    duration_s: float = 0.0

    @property
    def max_lag_s(self) -> float | None:
        """From the oldest status change first published in this round to the reading that published it."""
        return None if self.oldest_change is None else (self.at - self.oldest_change).total_seconds()


@dataclass(frozen=True)
class StoredList:
    """A published list credential as stored."""

    agency_code: str
    list_id: int
    purpose: str
    body: str
    bits_sha256: str
    generated_at: datetime
    valid_until: datetime

    @property
    def etag(self) -> str:
        return f'"{self.bits_sha256[:32]}-{int(self.generated_at.timestamp() * 1000)}"'


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    """Times as stored: SQLite gives them back without a zone (they are UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stored(row) -> StoredList:
    return StoredList(
        row.agency_code,
        row.list_id,
        row.purpose,
        row.body,
        row.bits_sha256,
        _utc(row.generated_at),
        _utc(row.valid_until),
    )


def get_list_credential(engine, agency_code: str, list_id: int, purpose: str) -> StoredList | None:
    """The list credential stored for one list and purpose (None: there is none)."""
    with reading(engine).connect() as conn:
        row = conn.execute(
            select(STATUS_LIST_CREDENTIAL).where(
                STATUS_LIST_CREDENTIAL.c.agency_code == agency_code,
                STATUS_LIST_CREDENTIAL.c.list_id == list_id,
                STATUS_LIST_CREDENTIAL.c.purpose == purpose,
            )
        ).first()
    return None if row is None else _stored(row)


def list_credentials(engine) -> list[StoredList]:
    """Every stored list credential, by agency, list id and purpose."""
    with reading(engine).connect() as conn:
        rows = conn.execute(
            select(STATUS_LIST_CREDENTIAL).order_by(
                STATUS_LIST_CREDENTIAL.c.agency_code, STATUS_LIST_CREDENTIAL.c.list_id, STATUS_LIST_CREDENTIAL.c.purpose
            )
        ).all()
    return [_stored(r) for r in rows]


def _skip(report: PublishReport, agency: str, list_id: int, why: str) -> None:
    report.skipped.append((agency, list_id, why))
    with _warned_lock:
        first = (agency, list_id, why) not in _warned
        _warned.add((agency, list_id, why))
    log.log(logging.WARNING if first else logging.DEBUG, "status list %s/%d not published: %s", agency, list_id, why)


def _signing_key(ctx, agency: str, public_key: str):
    """The key that owns the list, or (None, why)."""
    try:
        key = ctx.chain.signing_key(agency)
    except AgencyKeysMissing as exc:
        return None, f"the agency's signing key is not available here ({exc})"
    if "0x" + key.public_key.raw.hex() != public_key.lower():
        return None, f"the list belongs to key {public_key}, and this keyring holds another key of the agency"
    return key, None


def _upsert(conn, values: dict) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(STATUS_LIST_CREDENTIAL).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[
                STATUS_LIST_CREDENTIAL.c.agency_code,
                STATUS_LIST_CREDENTIAL.c.list_id,
                STATUS_LIST_CREDENTIAL.c.purpose,
            ],
            set_={name: statement.excluded[name] for name in ("body", "bits_sha256", "generated_at", "valid_until")},
            # never replace a newer reading
            where=STATUS_LIST_CREDENTIAL.c.generated_at <= statement.excluded.generated_at,
        )
    )


def publish(ctx, now: datetime | None = None, force: bool = False) -> PublishReport:
    """One round: every list whose key is here, each purpose re-signed where needed (module docs)."""
    started = time.perf_counter()
    now = _utc(now) if now is not None else ctx.now()
    report = PublishReport(at=now)
    base = getattr(ctx, "status_base_url", None)
    if not base:
        raise ValueError("the issuance context names no status base URL (status_base_url)")
    with reading(ctx.engine).connect() as conn:
        lists = conn.execute(
            select(
                STATUS_LIST.c.agency_code, STATUS_LIST.c.list_id, STATUS_LIST.c.public_key, STATUS_LIST.c.size
            ).order_by(STATUS_LIST.c.agency_code, STATUS_LIST.c.list_id)
        ).all()
        names: dict[str, str] = dict(conn.execute(select(AGENCY.c.code, AGENCY.c.name)).all())
        stored = {
            (r.agency_code, r.list_id, r.purpose): r
            for r in conn.execute(
                select(
                    STATUS_LIST_CREDENTIAL.c.agency_code,
                    STATUS_LIST_CREDENTIAL.c.list_id,
                    STATUS_LIST_CREDENTIAL.c.purpose,
                    STATUS_LIST_CREDENTIAL.c.body,
                    STATUS_LIST_CREDENTIAL.c.bits_sha256,
                    STATUS_LIST_CREDENTIAL.c.valid_until,
                )
            ).all()
        }
    for entry in lists:
        report.lists += 1
        agency, list_id, size = entry.agency_code, entry.list_id, entry.size
        key, why = _signing_key(ctx, agency, entry.public_key)
        if key is None:
            _skip(report, agency, list_id, why)
            continue
        with reading(ctx.engine).connect() as conn:
            rows = conn.execute(listed_credentials(agency, list_id)).all()
        issuer = issuer_object(key.public_key.did, names.get(agency) or agency, agency)
        for purpose in PURPOSES:
            state = STATE_OF[purpose]
            chosen = {r.status_index: r.updated_at for r in rows if r.state == state}
            bad = [i for i in chosen if i is None or not 0 <= i < size]
            if bad:
                log.error(
                    "status list %s/%d: credentials with indexes outside the list (%s) left out",
                    agency,
                    list_id,
                    ", ".join(map(str, bad[:5])),
                )
                for i in bad:
                    chosen.pop(i)
            digest = bits_sha256(bitstring(chosen, size))
            url = list_url(base, agency, list_id, purpose)
            old = stored.get((agency, list_id, purpose))
            old_doc = None
            if old is not None:
                try:
                    old_doc = json.loads(old.body)
                except ValueError:
                    old_doc = None
            if force:
                reason = "forced"
            elif old is None:
                reason = "new"
            elif old.bits_sha256 != digest:
                reason = "status changed"
            elif _utc(old.valid_until) - now < RESIGN_BEFORE:
                reason = "expiring"
            elif not isinstance(old_doc, dict) or old_doc.get("id") != url or old_doc.get("issuer") != issuer:
                reason = "moved or renamed"
            else:
                report.unchanged += 1
                continue
            document = build_list_credential(url, purpose, issuer, key, chosen, size, now)
            with ctx.engine.begin() as conn:
                _upsert(
                    conn,
                    {
                        "agency_code": agency,
                        "list_id": list_id,
                        "purpose": purpose,
                        "body": json.dumps(document, ensure_ascii=False, separators=(",", ":")),
                        "bits_sha256": digest,
                        "generated_at": now,
                        "valid_until": now.replace(microsecond=0) + DEFAULT_VALID_FOR,
                    },
                )
            report.signed.append((agency, list_id, purpose, reason))
            _count_changes(report, agency, list_id, purpose, chosen, old_doc)
    report.duration_s = time.perf_counter() - started
    return report


def _count_changes(
    report: PublishReport, agency: str, list_id: int, purpose: str, chosen: dict, old_doc: dict | None
) -> None:
    """Bits set and cleared against the stored list, and when the oldest newly set bit's change happened."""
    before: set[int] = set()
    if isinstance(old_doc, dict):
        try:
            before = set(set_indexes(decode_bits(old_doc["credentialSubject"]["encodedList"])))
        except (StatusListError, KeyError, TypeError):
            before = set()
    added = [i for i in chosen if i not in before]
    cleared = len(before - chosen.keys())
    report.newly_set += len(added)
    report.cleared += cleared
    changes = [_utc(chosen[i]) for i in added if chosen[i] is not None]
    if changes:
        oldest = min(changes)
        if report.oldest_change is None or oldest < report.oldest_change:
            report.oldest_change = oldest
        log.info(
            "status list %s/%d/%s published: %d set (+%d, -%d); oldest change %.1f s before",
            agency,
            list_id,
            purpose,
            len(chosen),
            len(added),
            cleared,
            (report.at - oldest).total_seconds(),
        )
    elif cleared:
        log.info("status list %s/%d/%s published: %d set (-%d)", agency, list_id, purpose, len(chosen), cleared)


def run_publisher(ctx, stop_event: threading.Event, interval_s: float = 5.0) -> None:
    """Publish until ``stop_event`` is set: a round every ``interval_s``. Errors are logged and the
    round retried; an unavailable database pauses the rounds (one line per try, ``DatabaseWatch``)."""
    log.info("status-list publisher %s started (a round every %.1f s)", ctx.worker_id, interval_s)
    database = DatabaseWatch(ctx.engine, "status-list publishing", log)
    sync, chain_down = StatusSync(), False
    try:
        while not stop_event.is_set():
            error = None
            try:
                try:
                    sync.run(ctx)  # changes made on chain by other means than this issuer
                    chain_down = False
                except Exception as exc:  # noqa: BLE001 - the lists are published from the database regardless
                    if not chain_down:
                        log.warning(
                            "status lists: the chain's status events cannot be read (%s: %s); publishing "
                            "what the database records until they can",
                            type(exc).__name__,
                            exc,
                        )
                    chain_down = True
                publish(ctx)
            except Exception as exc:  # keep publishing; the cause is in the log
                error = exc
            pause = database.after(error)
            if pause is not None:
                stop_event.wait(pause)
                continue
            if error is not None:
                log.error("status-list round failed; retrying", exc_info=error)
            stop_event.wait(interval_s)
    finally:
        log.info("status-list publisher %s stopped", ctx.worker_id)


__all__ = [
    "PublishReport",
    "RESIGN_BEFORE",
    "StoredList",
    "get_list_credential",
    "list_credentials",
    "listed_credentials",
    "publish",
    "run_publisher",
]
