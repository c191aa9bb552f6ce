"""Typed results of the contracts' views and events (protocol v2: every record belongs to one agency)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class CredentialState(IntEnum):
    ACTIVE = 0
    SUSPENDED = 1
    REVOKED = 2


class Reason(IntEnum):
    """Reason codes recorded with a status change (any uint8 is accepted on chain)."""

    UNSPECIFIED = 0
    SUPERSEDED = 1
    ISSUED_IN_ERROR = 2
    KEY_COMPROMISE = 3
    HOLDER_REQUEST = 4
    ADMINISTRATIVE = 5
    EXPIRED_BY_LAW = 6


@dataclass(frozen=True)
class AnchorRecord:
    """anchorOf(agencyId, root): the root as anchored in that agency's namespace (all zero: not anchored there)."""

    timestamp: int
    block_number: int
    count: int

    @property
    def anchored(self) -> bool:
        return self.block_number != 0


@dataclass(frozen=True)
class StatusRecord:
    state: int
    reason: int
    since: int

    @property
    def state_name(self) -> str:
        try:
            return CredentialState(self.state).name
        except ValueError:
            return f"UNKNOWN({self.state})"


@dataclass(frozen=True)
class KeyRecord:
    """keyOf(agencyId, key): the key as registered for that agency (keys are per agency: another agency
    holding the same bytes has a record of its own)."""

    valid_from: int
    revoked_at: int

    @property
    def registered(self) -> bool:
        return self.valid_from != 0

    def valid_at(self, timestamp: int) -> bool:
        """True when the key was in force at `timestamp` (revocation "as of" a time is exclusive)."""
        return (
            self.registered and self.valid_from <= timestamp and (self.revoked_at == 0 or timestamp < self.revoked_at)
        )


@dataclass(frozen=True)
class AgencyInfo:
    """agencyInfo(agencyId), with the id asked for."""

    agency_id: bytes
    code: str
    name: str
    active: bool

    @property
    def registered(self) -> bool:
        return self.code != ""


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event with where it happened."""

    name: str
    args: dict
    contract: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
