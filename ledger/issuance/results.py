"""What the issuance functions return: plain data a route serialises or a command prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ledger.issuance.errors import RowError


@dataclass(frozen=True)
class IssuedCredential:
    id: str
    digest: str  # 0x + 64 hex
    type_name: str
    state: str
    issued_at: datetime
    credential: dict  # the signed credential (personal data: do not log)
    supersedes: str | None = None
    replayed: bool = False  # True: an idempotent retry returned the credential issued before


@dataclass(frozen=True)
class IssuedRow:
    row: int
    id: str
    digest: str


@dataclass
class BulkResult:
    issued: list[IssuedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    replayed: bool = False

    @property
    def total(self) -> int:
        return len(self.issued) + len(self.errors)

    def to_dict(self) -> dict:
        return {
            "issued": [{"row": r.row, "id": r.id, "digest": r.digest} for r in self.issued],
            "errors": [e.to_dict() for e in self.errors],
            "replayed": self.replayed,
        }


@dataclass(frozen=True)
class CredentialInfo:
    """What is in clear about a credential (no personal data beyond the optional holder id)."""

    id: str
    agency: str
    type_name: str
    holder_id: str | None
    digest: str
    state: str
    status_reason: int | None
    issued_at: datetime
    valid_from: datetime | None
    valid_until: datetime | None
    batch_id: int | None
    supersedes: str | None

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        for k in ("issued_at", "valid_from", "valid_until"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    agency: str | None
    action: str
    subject: str | None
    tx_hash: str | None
    details: dict

    def to_dict(self) -> dict:
        return {**self.__dict__, "at": self.at.isoformat()}


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None  # pass back to get the next page; None: this was the last page


@dataclass
class StatusChange:
    """The outcome of revoke / suspend / reinstate."""

    action: str
    changed: list[str] = field(default_factory=list)  # moved on chain by this call
    unchanged: list[str] = field(default_factory=list)  # already in the wanted state (nothing sent)
    tx_hashes: list[str] = field(default_factory=list)


@dataclass
class AnchorReport:
    """One round of the anchoring pipeline."""

    lease_held: bool = True
    closed: list[int] = field(default_factory=list)  # batch ids closed this round
    confirmed: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)  # failed this round, will be retried
    reanchoring: list[int] = field(default_factory=list)  # anchors a chain reorganisation undid: sent again
    superseded_revoked: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.closed or self.confirmed or self.completed)


__all__ = [
    "AnchorReport",
    "AuditEntry",
    "BulkResult",
    "CredentialInfo",
    "IssuedCredential",
    "IssuedRow",
    "Page",
    "StatusChange",
]
