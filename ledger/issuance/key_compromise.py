"""A signing key's compromise: which credentials it invalidates, the key revoked "as of" the
compromise time, and the credentials it invalidated re-issued with the agency's current key.

The rule (docs/protocol.md 6.5 rule 6, 10 ``issuer`` check): a key revoked as of ``T`` was in force
at ``t`` exactly when ``t < T``. So of the credentials the key signed, those whose batch was anchored
**at or after** ``T`` fail verification (``KEY_REVOKED``) and those anchored **before** ``T`` stay
valid. Those not anchored yet will be anchored after ``T``: they are invalid too.

Which key signed a credential is ``credential.signing_key`` (migration 0009); a row issued before it
and before the status lists (0007) has none, and is given it here from its sealed credential's
``proof.verificationMethod`` (:func:`fill_signing_keys`).

Re-issue (:func:`reissue`) supersedes each invalidated credential through the ordinary supersede
path (``issue.supersede``; a generic credential through ``w3c_issue.supersede_generic``): the same
type, subject and validity period, signed with the current key, delivered as every credential is
(bundle, encrypted share, link) once anchored; the anchoring pipeline then revokes the old one with
reason 3, key compromise (``credential.supersede_reason``). A credential already superseded, or
revoked, is left alone, so a re-run after a crash re-issues only the rest.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update

from ledger.chain import Reason, RegistryClient
from ledger.chain.records import KeyRecord
from ledger.governance.agency_admin import AgencyAdminError, KeyRevocation, check_key_revocation, revoke_signing_key
from ledger.issuance.errors import AgencyKeysMissing, KeyRevocationRefused, UnknownSigningKey
from ledger.issuance.stored_credentials import open_credential, with_body
from ledger.protocol.credential import GENERIC_CREDENTIAL
from ledger.protocol.datetimes import DateTimeFormatError, format_utc, parse_xsd_datetime
from ledger.protocol.did_key import public_key_from_verification_method
from ledger.protocol.identifiers import agency_id
from ledger.storage.audit import record_audit
from ledger.storage.states import ANCHORED_BATCH_STATES, CredentialState
from ledger.storage.tables import AGENCY, BATCH, CRED

log = logging.getLogger(__name__)

_FILL_CHUNK = 1_000
_IN_CHUNK = 500  # ids per IN (…) list


def parse_public_key(text: str, name: str = "KEY") -> bytes:
    """An Ed25519 public key written ``0x`` + 64 hex digits; ValueError naming ``name`` otherwise."""
    try:
        raw = bytes.fromhex(text.removeprefix("0x")) if text.startswith("0x") else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{name}: expected an Ed25519 public key as 0x + 64 hex digits, got {text!r}")
    return raw


def parse_time(text: str, name: str = "--compromised-at") -> int:
    """Unix seconds of an XML Schema dateTime with a time zone (e.g. ``2026-12-07T20:00:00Z``)."""
    try:
        return int(parse_xsd_datetime(text).timestamp())
    except (DateTimeFormatError, ValueError) as exc:
        raise ValueError(f"{name}: expected a date and time with its zone, e.g. 2026-12-07T20:00:00Z ({exc})") from None


def utc_text(seconds: int) -> str:
    return format_utc(datetime.fromtimestamp(seconds, UTC))


def _seconds(value: datetime) -> int:
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


@dataclass(frozen=True)
class Affected:
    """A credential the key signed (no personal data: ids, type, batch)."""

    id: str
    type_name: str
    state: str
    batch_id: int | None
    root: str | None
    anchored_at: int | None  # unix seconds; None: not anchored yet


@dataclass
class CompromiseReport:
    agency: str
    public_key: str  # 0x + 64 hex
    compromised_at: int
    invalid: list[Affected] = field(default_factory=list)  # anchored at or after the compromise
    not_anchored: list[Affected] = field(default_factory=list)  # will be anchored after it: invalid too
    stay_valid: list[Affected] = field(default_factory=list)  # anchored before it

    @property
    def becoming_invalid(self) -> list[Affected]:
        return self.invalid + self.not_anchored

    @staticmethod
    def _group(items: list[Affected], with_ids: bool) -> dict:
        batches: dict[int, dict] = {}
        for a in items:
            if a.batch_id is not None:
                entry = batches.setdefault(
                    a.batch_id,
                    {
                        "batch": a.batch_id,
                        "root": a.root,
                        "anchoredAt": utc_text(a.anchored_at) if a.anchored_at is not None else None,
                        "count": 0,
                    },
                )
                entry["count"] += 1
        out: dict = {
            "count": len(items),
            "byType": dict(sorted(Counter(a.type_name for a in items).items())),
            "byBatch": [batches[b] for b in sorted(batches)],
        }
        if with_ids:
            out["ids"] = sorted(a.id for a in items)
        return out

    def to_json(self) -> dict:
        return {
            "agency": self.agency,
            "key": self.public_key,
            "compromisedAt": utc_text(self.compromised_at),
            "becomeInvalid": self._group(self.invalid, True),
            "notYetAnchored": self._group(self.not_anchored, True),
            "stayValid": self._group(self.stay_valid, False),
        }

    def lines(self) -> list[str]:
        """The report as text for an operator: counts per type and batch, the invalidated ids."""
        j = self.to_json()
        out = [f"key {self.public_key} of {self.agency}, compromised as of {j['compromisedAt']}"]
        for title, name in (
            ("become invalid (anchored at or after that time)", "becomeInvalid"),
            ("not anchored yet (will be anchored after it: invalid too)", "notYetAnchored"),
            ("stay valid (anchored before it)", "stayValid"),
        ):
            part = j[name]
            types = ", ".join(f"{t} {n}" for t, n in part["byType"].items()) or "-"
            out.append(f"{title}: {part['count']} ({types})")
            for b in part["byBatch"]:
                out.append(f"  batch {b['batch']} anchored {b['anchoredAt'] or '-'} root {b['root']}: {b['count']}")
            for cid in part.get("ids", []):
                out.append(f"  {cid}")
        return out


def fill_signing_keys(ctx, agency: str) -> int:
    """Give ``credential.signing_key`` to the agency's rows that lack it (issued before migrations
    0007 and 0009), from their sealed credential's verification method. Returns how many."""
    filled = 0
    while True:
        with ctx.engine.connect() as conn:
            rows = conn.execute(
                with_body(select(CRED.c.id, CRED.c.digest))
                .where(CRED.c.agency_code == agency, CRED.c.signing_key.is_(None))
                .limit(_FILL_CHUNK)
            ).all()
        if not rows:
            return filled
        with ctx.engine.begin() as conn:
            for row in rows:
                proof = open_credential(ctx, row).get("proof", {})
                key = public_key_from_verification_method(proof.get("verificationMethod"))
                conn.execute(update(CRED).where(CRED.c.id == row.id).values(signing_key="0x" + key.hex()))
        filled += len(rows)
        log.info("recorded the signing key of %d older credentials of %s", filled, agency)


def compromise_report(ctx, agency: str, public_key: bytes, compromised_at: int) -> CompromiseReport:
    """Which credentials of ``agency`` signed with ``public_key`` a revocation as of
    ``compromised_at`` (unix seconds) invalidates, and which stay valid. Reads the database only
    (the anchor time of a batch is its block's timestamp, recorded when it was confirmed)."""
    fill_signing_keys(ctx, agency)
    key = "0x" + public_key.hex()
    report = CompromiseReport(agency, key, compromised_at)
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(
                CRED.c.id,
                CRED.c.type_name,
                CRED.c.state,
                CRED.c.batch_id,
                BATCH.c.root,
                BATCH.c.state.label("batch_state"),
                BATCH.c.anchored_at,
            )
            .select_from(CRED.outerjoin(BATCH, BATCH.c.id == CRED.c.batch_id))
            .where(CRED.c.agency_code == agency, CRED.c.signing_key == key)
            .order_by(CRED.c.id)
        ).all()
    for r in rows:
        anchored = r.batch_state in ANCHORED_BATCH_STATES and r.anchored_at is not None
        at = _seconds(r.anchored_at) if anchored else None
        item = Affected(r.id, r.type_name, r.state, r.batch_id, r.root, at)
        if at is None:
            report.not_anchored.append(item)
        elif at >= compromised_at:
            report.invalid.append(item)
        else:
            report.stay_valid.append(item)
    return report


def registry_for(ctx, agency: str, *, sending: bool = True) -> RegistryClient:
    """The registry, sending as the agency's operator (who may revoke its keys, 6.5 rule 6)."""
    return RegistryClient(ctx.chain.w3, ctx.chain.deployment.registry, ctx.chain.sender(agency) if sending else None)


def current_signing_keys(ctx, agency: str) -> set[bytes]:
    """The keys ``agency`` signs with now: this process's (its key file) and the one recorded for it
    (``agency.signing_public_key``, which `agency key rotate` moves; issuance refuses a mismatch).
    A governance installation that does not issue for the agency has neither: the set is empty."""
    try:
        keys = {ctx.chain.signing_key(agency).public_key.raw}
    except AgencyKeysMissing:
        keys = set()
    with ctx.engine.connect() as conn:
        recorded = conn.execute(select(AGENCY.c.signing_public_key).where(AGENCY.c.code == agency)).scalar()
    if recorded:
        keys.add(bytes.fromhex(recorded.removeprefix("0x")))
    return keys


def signing_key_record(ctx, agency: str, public_key: bytes) -> KeyRecord:
    """The key's record on chain; UnknownSigningKey when it is not one of ``agency``'s keys."""
    record = registry_for(ctx, agency, sending=False).key_of(agency_id(agency), public_key)
    if not record.registered:
        raise UnknownSigningKey(agency, "0x" + public_key.hex())
    return record


def revocation_refusal(
    ctx, agency: str, public_key: bytes, compromised_at: int, current_keys: set[bytes]
) -> str | None:
    """Why :func:`revoke_key` would refuse (None: it would revoke, or the chain holds it already)."""
    try:
        check_key_revocation(registry_for(ctx, agency, sending=False), agency, public_key, compromised_at, current_keys)
    except AgencyAdminError as exc:
        return str(exc)
    return None


def revoke_key(
    ctx,
    registry: RegistryClient,
    agency: str,
    public_key: bytes,
    compromised_at: int,
    *,
    current_keys: set[bytes],
    reason: str = "",
    actor: str = "system",
) -> KeyRevocation:
    """Revoke the key on chain as of ``compromised_at`` (see ``agency_admin.revoke_signing_key``;
    a retry with the same time sends nothing), audited with the operator's ``reason`` (free text,
    not on chain)."""
    signing_key_record(ctx, agency, public_key)
    try:
        change = revoke_signing_key(registry, agency, public_key, compromised_at, current_keys)
    except AgencyAdminError as exc:
        raise KeyRevocationRefused(str(exc)) from None
    details = {"compromisedAt": utc_text(compromised_at), "reason": reason}
    for tx in change.tx_hashes:
        record_audit(
            ctx.engine, "key-revoke", actor, agency=agency, subject=change.public_key, tx_hash=tx, details=details
        )
    return change


@dataclass
class Reissue:
    agency: str
    public_key: str
    revoked_at: int
    reissued: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id) issued now
    already: list[tuple[str, str]] = field(default_factory=list)  # superseded before (a re-run)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, why): revoked already

    def to_json(self) -> dict:
        return {
            "agency": self.agency,
            "key": self.public_key,
            "revokedAt": utc_text(self.revoked_at),
            "reissued": [{"old": o, "new": n} for o, n in self.reissued],
            "alreadyReissued": [{"old": o, "new": n} for o, n in self.already],
            "skipped": [{"id": i, "why": w} for i, w in self.skipped],
        }


def reissue(ctx, agency: str, public_key: bytes, *, actor: str = "system") -> Reissue:
    """Supersede every credential of ``agency`` that ``public_key``'s revocation invalidated (the
    time is read from the chain) with the current key; the old ones are revoked with reason 3 once
    the new ones are anchored. Refused before the key is revoked, and while this process still
    signs with it (a `serve issuer` not restarted after the rotation)."""
    from ledger.issuance.issue import supersede
    from ledger.issuance.w3c_issue import supersede_generic

    key = "0x" + public_key.hex()
    record = signing_key_record(ctx, agency, public_key)
    if record.revoked_at == 0:
        raise KeyRevocationRefused(
            f"KEY {key} is not revoked: revoke it first (certledger agency key revoke {agency} {key} --compromised-at …)"
        )
    if ctx.chain.signing_key(agency).public_key.raw == public_key:
        raise KeyRevocationRefused(
            f"this issuer still signs {agency}'s credentials with the revoked key {key}: rotate the key "
            "(certledger agency key rotate) and restart the issuer first"
        )
    report = compromise_report(ctx, agency, public_key, record.revoked_at)
    result = Reissue(agency, key, record.revoked_at)
    todo = sorted(report.becoming_invalid, key=lambda a: a.id)
    successors: dict[str, str] = {}  # old id -> the credential that supersedes it
    with ctx.engine.connect() as conn:
        for k in range(0, len(todo), _IN_CHUNK):
            ids = [a.id for a in todo[k : k + _IN_CHUNK]]
            found = conn.execute(
                select(CRED.c.supersedes, CRED.c.id).where(CRED.c.agency_code == agency, CRED.c.supersedes.in_(ids))
            )
            successors.update({old: new for old, new in found})
    for item in todo:  # one transaction each: a crash leaves those done superseded, a re-run does the rest
        if item.id in successors:
            result.already.append((item.id, successors[item.id]))
        elif item.state == CredentialState.REVOKED:
            result.skipped.append((item.id, "revoked already"))
        else:
            with ctx.engine.connect() as conn:
                row = conn.execute(with_body(select(CRED.c.id, CRED.c.digest)).where(CRED.c.id == item.id)).one()
            old = open_credential(ctx, row)
            if item.type_name == GENERIC_CREDENTIAL:
                new = supersede_generic(ctx, agency, item.id, old, actor=actor, revoke_reason=Reason.KEY_COMPROMISE)
            else:
                new = supersede(
                    ctx,
                    agency,
                    item.id,
                    old["credentialSubject"],
                    valid_from=old.get("validFrom"),
                    valid_until=old.get("validUntil"),
                    actor=actor,
                    revoke_reason=Reason.KEY_COMPROMISE,
                )
            result.reissued.append((item.id, new.id))
    if result.reissued:
        record_audit(
            ctx.engine,
            "key-compromise-reissue",
            actor,
            agency=agency,
            subject=key,
            details={"reissued": len(result.reissued), "already": len(result.already)},
        )
    log.info(
        "key %s of %s: re-issued %d credentials (%d before, %d skipped)",
        key,
        agency,
        len(result.reissued),
        len(result.already),
        len(result.skipped),
    )
    return result


__all__ = [
    "Affected",
    "CompromiseReport",
    "Reissue",
    "compromise_report",
    "current_signing_keys",
    "fill_signing_keys",
    "parse_public_key",
    "parse_time",
    "registry_for",
    "reissue",
    "revocation_refusal",
    "revoke_key",
    "signing_key_record",
    "utc_text",
]
